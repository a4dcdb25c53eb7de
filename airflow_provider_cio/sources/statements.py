"""The one kind of statement a sync runs: a single query that reads (SELECT, or WITH ... SELECT)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from airflow_provider_cio.sources.sql_tokens import (
    MYSQL_READINGS,
    POSTGRES_READINGS,
    Token,
    TokenKind,
    mysql_tokens,
    postgres_tokens,
)
from airflow_provider_cio.sync.convert.columns import QueryError

Dialect = Literal["mysql", "postgresql"]
READING_STATEMENTS = frozenset({"SELECT", "WITH", "VALUES", "TABLE"})

INTO_FILE = "SELECT ... INTO OUTFILE/DUMPFILE writes a file on the server; remove the INTO clause"
INTO_VARIABLE = (
    "SELECT ... INTO @variable stores the result in a variable and returns no rows; remove the INTO clause "
    "(the sync sends the rows the query returns)"
)
ROW_LOCKS = (
    "the query takes row locks ({found}), which block every writer to those rows until the sync ends; remove the "
    "locking clause (the sync's read-only transaction reads a consistent snapshot without locking)"
)
CALL = "the query calls {name}(), which {effect}; a sync only reads rows. Remove the call"


@dataclass(frozen=True)
class _Phrase:
    """Words the check refuses when they follow each other in the code (``@`` stands for the symbol)."""

    words: tuple[str, ...]
    message: str

    def found_at(self, tokens: Sequence[Token], at: int) -> bool:
        """Whether the phrase starts at ``tokens[at]``."""
        found = tokens[at : at + len(self.words)]
        return len(found) == len(self.words) and all(
            (token.kind is TokenKind.SYMBOL and token.text == "@") if word == "@" else token.is_word(word)
            for token, word in zip(found, self.words, strict=True)
        )


def _locks(*words: str) -> _Phrase:
    return _Phrase(words, ROW_LOCKS.format(found=" ".join(words)))


MYSQL_PHRASES = (
    _Phrase(("INTO", "OUTFILE"), INTO_FILE),
    _Phrase(("INTO", "DUMPFILE"), INTO_FILE),
    _Phrase(("INTO", "@"), INTO_VARIABLE),
    _locks("FOR", "UPDATE"),
    _locks("FOR", "SHARE"),
    _locks("LOCK", "IN", "SHARE", "MODE"),
)
POSTGRES_PHRASES = (
    _locks("FOR", "UPDATE"),
    _locks("FOR", "NO", "KEY", "UPDATE"),
    _locks("FOR", "SHARE"),
    _locks("FOR", "KEY", "SHARE"),
)

_NAMED_LOCK = "takes a lock that other sessions wait for until the sync ends"


def _mysql_call_effect(name: str) -> str | None:
    """What calling the MySQL function ``name`` does that the check refuses, or None."""
    return _NAMED_LOCK if name.upper() == "GET_LOCK" else None


def _postgres_call_effect(name: str) -> str | None:
    """What calling the PostgreSQL function ``name`` (as the server folds it) does that the check refuses."""
    if name == "dblink" or name.startswith("dblink_"):
        return (
            "runs SQL over a connection of its own that commits outside the sync's read-only transaction, so "
            "its writes stay"
        )
    if name == "lo_export":
        return "writes a file on the database server"
    if name in ("lo_import", "pg_read_file", "pg_read_binary_file"):
        return "reads a file on the database server"
    if name == "pg_ls_dir":
        return "lists a directory on the database server"
    if name.startswith(("pg_advisory", "pg_try_advisory")):
        return _NAMED_LOCK
    return None


def check_select(sql: str, dialect: Dialect = "mysql") -> None:
    """Refuse anything but one reading query, before it reaches the database.

    The query also runs inside a read-only transaction, which stops writes to tables; this check stops what
    a read-only transaction lets through (docs/security.md lists what only privileges stop):

    - DDL (``DROP``, ``CREATE``, ``ALTER`` commit the transaction implicitly on MySQL, then run) and any
      statement that does not start with SELECT, WITH, VALUES or TABLE;
    - a second statement after a ``;`` (MySQL drivers send several statements in one call). It errs on the
      safe side: a ``;`` is refused anywhere but at the very end, even inside a string literal or a comment
      (write ``CHAR(59)``, or ``chr(59)`` on PostgreSQL, for a literal semicolon);
    - MySQL: ``INTO OUTFILE``, ``INTO DUMPFILE``, ``INTO @variable``, ``GET_LOCK(``;
    - PostgreSQL: ``dblink`` and ``dblink_*`` calls (their own connection commits its writes),
      ``lo_export``, ``lo_import``, ``pg_read_file``, ``pg_read_binary_file``, ``pg_ls_dir``, advisory locks;
    - row locks: ``FOR UPDATE``, ``FOR SHARE``, MySQL's ``LOCK IN SHARE MODE``, PostgreSQL's
      ``FOR NO KEY UPDATE`` and ``FOR KEY SHARE``.

    The query is tokenised as its server reads it (:mod:`airflow_provider_cio.sources.sql_tokens`): a phrase
    inside a string literal, a quoted name or a comment is not code and is accepted; the content of MySQL's
    executable comments ``/*! ... */`` is code. Where a server setting changes the reading (``sql_mode``
    ``NO_BACKSLASH_ESCAPES``/``ANSI_QUOTES``, ``standard_conforming_strings``), the query is checked under
    each reading, so write a quote inside a string literal as ``''`` rather than ``\\'``.

    :param sql: the rendered query.
    :param dialect: ``"mysql"`` (MySQL and MariaDB) or ``"postgresql"``.
    :raises QueryError: the statement is empty, is more than one statement, does not start with SELECT or
        WITH, or holds one of the phrases above. The message names what was found and what to do.
    """
    text = sql or ""
    _refuse_a_second_statement(text)
    for number, (setting, problem) in enumerate(_problems(text, dialect)):
        if problem is not None:
            raise QueryError(problem if number == 0 else f"{problem}. Found reading the sql as a server with {setting}")


def _problems(sql: str, dialect: Dialect) -> Iterator[tuple[str, str | None]]:
    """Per reading of the query, the default first: its settings and what the check refuses in it (or None)."""
    if dialect == "postgresql":
        for postgres in POSTGRES_READINGS:
            tokens = postgres_tokens(sql, postgres)
            yield (
                postgres.describe(),
                _first_word_problem(tokens) or _code_problem(tokens, POSTGRES_PHRASES, _postgres_call),
            )
    else:
        for mysql in MYSQL_READINGS:
            tokens = mysql_tokens(sql, mysql)
            yield mysql.describe(), _first_word_problem(tokens) or _code_problem(tokens, MYSQL_PHRASES, _mysql_call)


def _refuse_a_second_statement(sql: str) -> None:
    body = sql.rstrip()
    if body.endswith(";"):
        body = body[:-1]
    if ";" in body:
        line = body[: body.index(";")].count("\n") + 1
        raise QueryError(
            f"the sql holds more than one statement (a ';' on line {line}); a sync runs exactly one SELECT. "
            "Remove the other statements (for a ';' inside a string literal, write CHAR(59))"
        )


def _first_word_problem(tokens: Sequence[Token]) -> str | None:
    """Why the code does not start like a reading query, or None."""
    first = next((token for token in tokens if token.text != "("), None)
    if first is None:
        if tokens:
            return "the sql does not start with SELECT; the sync only runs queries that read"
        return "the sql is empty; give a SELECT query"
    if first.kind is not TokenKind.WORD:
        return "the sql does not start with SELECT; the sync only runs queries that read"
    word = first.text.upper()
    if word not in READING_STATEMENTS:
        return f"the sync only runs queries that read (SELECT or WITH ... SELECT); this statement starts with {word}"
    return None


def _code_problem(
    tokens: Sequence[Token], phrases: Sequence[_Phrase], call: Callable[[Token], str | None]
) -> str | None:
    """The message of the first refused phrase or call in the code, or None."""
    for at, token in enumerate(tokens):
        for phrase in phrases:
            if phrase.found_at(tokens, at):
                return phrase.message
        if at + 1 < len(tokens) and tokens[at + 1].text == "(" and tokens[at + 1].kind is TokenKind.SYMBOL:
            problem = call(token)
            if problem is not None:
                return problem
    return None


def _mysql_call(name: Token) -> str | None:
    if name.kind not in (TokenKind.WORD, TokenKind.QUOTED_NAME):
        return None
    effect = _mysql_call_effect(name.text)
    return None if effect is None else CALL.format(name=name.text.upper(), effect=effect)


def _postgres_call(name: Token) -> str | None:
    if name.kind is TokenKind.ESCAPED_NAME:
        return (
            f"the query calls a function named with Unicode escapes ({name.text}), which this check cannot read; "
            "write the function's name without U&"
        )
    if name.kind is TokenKind.WORD:
        folded = name.text.lower()
    elif name.kind is TokenKind.QUOTED_NAME:
        folded = name.text
    else:
        return None
    effect = _postgres_call_effect(folded)
    return None if effect is None else CALL.format(name=folded, effect=effect)
