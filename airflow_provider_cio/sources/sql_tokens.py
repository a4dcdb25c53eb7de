"""SQL read as its server reads it: the code told apart from comments, string literals and quoted names.

:func:`mysql_tokens` and :func:`postgres_tokens` turn a query into the tokens the server runs, comments
left out. What a character means can depend on a server setting (``sql_mode`` on MySQL,
``standard_conforming_strings`` on PostgreSQL, the server version for MySQL's versioned executable
comments): each setting that matters is a *reading*, and a check that must not be walked around reads
the query every way it can be read (:data:`MYSQL_READINGS`, :data:`POSTGRES_READINGS`).

An unclosed literal or comment runs to the end of the text (the server refuses such a query anyway).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum


class TokenKind(Enum):
    """What a token is."""

    WORD = "word"
    """A keyword or an unquoted name, as written."""
    QUOTED_NAME = "quoted name"
    """A name in backticks (MySQL) or double quotes (PostgreSQL, MySQL under ``ANSI_QUOTES``); ``text`` is the name."""
    ESCAPED_NAME = "escaped name"
    """A PostgreSQL ``U&"..."`` name, whose Unicode escapes are not decoded; ``text`` is as written."""
    STRING = "string"
    """A string literal, as written (quotes and prefix included)."""
    NUMBER = "number"
    """A run of digits."""
    SYMBOL = "symbol"
    """Any other character: ``(``, ``;``, ``@``, ``.``, an operator character, a non-ASCII character."""


@dataclass(frozen=True)
class Token:
    """One token of code.

    :param kind: what it is.
    :param text: the token as written (the name itself for a :attr:`TokenKind.QUOTED_NAME`).
    :param offset: where it starts in the query.
    """

    kind: TokenKind
    text: str
    offset: int

    def is_word(self, word: str) -> bool:
        """Whether this is the unquoted keyword or name ``word`` (in any case)."""
        return self.kind is TokenKind.WORD and self.text.upper() == word.upper()


@dataclass(frozen=True)
class MySQLReading:
    """The MySQL settings that change how a query is tokenised.

    :param backslash_escapes: a backslash escapes the next character in a string literal (``sql_mode``
        without ``NO_BACKSLASH_ESCAPES``, the default).
    :param ansi_quotes: ``"..."`` is a name, not a string, and takes no backslash escapes (``sql_mode``
        ``ANSI_QUOTES``).
    :param versioned_comments_run: ``/*!50100 ... */`` and ``/*M!100100 ... */`` are code (the server is
        at least that version, and MariaDB for ``/*M!``); otherwise they are comments. ``/*! ... */``
        without a version is always code.
    """

    backslash_escapes: bool = True
    ansi_quotes: bool = False
    versioned_comments_run: bool = True

    def describe(self) -> str:
        """The settings of this reading that differ from a default server, for a message."""
        settings = []
        if not self.backslash_escapes:
            settings.append("sql_mode NO_BACKSLASH_ESCAPES")
        if self.ansi_quotes:
            settings.append("sql_mode ANSI_QUOTES")
        if not self.versioned_comments_run:
            settings.append("a version older than a /*!NNNNN ... */ comment's, which it skips to the first */")
        described = " and ".join(settings) or "the default settings"
        if not self.backslash_escapes or self.ansi_quotes:
            described += ", where a backslash does not escape a quote: write a quote inside a literal as ''"
        return described


@dataclass(frozen=True)
class PostgresReading:
    """The PostgreSQL setting that changes how a query is tokenised.

    :param standard_conforming_strings: a backslash is an ordinary character in ``'...'`` (the default
        since PostgreSQL 9.1); when off, it escapes the next character, as in ``E'...'``.
    """

    standard_conforming_strings: bool = True

    def describe(self) -> str:
        """The setting of this reading, for a message."""
        if self.standard_conforming_strings:
            return "the default settings"
        return (
            "standard_conforming_strings = off, where a backslash escapes a quote: write a quote inside a literal as ''"
        )


MYSQL_READINGS: tuple[MySQLReading, ...] = tuple(
    MySQLReading(backslash_escapes=escapes, ansi_quotes=ansi, versioned_comments_run=versioned)
    for versioned in (True, False)
    for escapes in (True, False)
    for ansi in (False, True)
)
"""Every way a MySQL or MariaDB server may read a query, the default first."""

POSTGRES_READINGS: tuple[PostgresReading, ...] = (PostgresReading(True), PostgresReading(False))
"""Every way a PostgreSQL server may read a query, the default first."""

_ASCII_SPACE = frozenset(" \t\n\r\x0b\x0c")
_MYSQL_WORD = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_DIGITS = re.compile(r"[0-9]+")
_MYSQL_EXECUTABLE_OPENER = re.compile(r"/\*(M?)!([0-9]*)")
# PostgreSQL's identifiers and dollar-quote tags (scan.l): any character from U+0080 up counts as a letter.
_POSTGRES_WORD = re.compile(r"[A-Za-z_\u0080-\U0010ffff][A-Za-z_0-9$\u0080-\U0010ffff]*")
_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_\u0080-\U0010ffff][A-Za-z_0-9\u0080-\U0010ffff]*)?\$")
_PARAMETER = re.compile(r"\$[0-9]+")


def mysql_tokens(sql: str, reading: MySQLReading = MySQLReading()) -> list[Token]:
    """The code of a MySQL or MariaDB query, as ``reading`` reads it: comments left out, the content of
    executable comments (``/*! ... */``, ``/*M! ... */``) read as code.

    Comments are ``#`` and ``-- `` (two dashes and a space or control character) to the end of the line,
    and ``/* ... */`` (not nested: the first ``*/`` ends it).
    """
    tokens: list[Token] = []
    end = len(sql)
    i = 0
    in_executable_comment = False
    while i < end:
        char = sql[i]
        if char in _ASCII_SPACE:
            i += 1
        elif char == "#" or (sql.startswith("--", i) and (i + 2 == end or sql[i + 2] <= " ")):
            i = _line_end(sql, i)
        elif sql.startswith("/*", i):
            opener = _MYSQL_EXECUTABLE_OPENER.match(sql, i)
            versioned = opener is not None and bool(opener.group(1) or opener.group(2))
            if opener is not None and (reading.versioned_comments_run or not versioned):
                in_executable_comment = True
                i = opener.end()
            else:
                close = sql.find("*/", i + 2)
                i = end if close < 0 else close + 2
        elif in_executable_comment and sql.startswith("*/", i):
            in_executable_comment = False
            i += 2
        elif char == "'" or (char == '"' and not reading.ansi_quotes):
            _, after = _quoted(sql, i, char, backslash=reading.backslash_escapes)
            tokens.append(Token(TokenKind.STRING, sql[i:after], i))
            i = after
        elif char == "`" or char == '"':
            value, after = _quoted(sql, i, char, backslash=False)
            tokens.append(Token(TokenKind.QUOTED_NAME, value, i))
            i = after
        else:
            i = _plain_token(sql, i, _MYSQL_WORD, tokens)
    return tokens


def postgres_tokens(sql: str, reading: PostgresReading = PostgresReading()) -> list[Token]:
    """The code of a PostgreSQL query, as ``reading`` reads it: comments left out.

    Comments are ``--`` to the end of the line and ``/* ... */``, which nest. Literals are ``'...'``,
    ``E'...'`` (backslash escapes), ``U&'...'``, and dollar-quoted ``$$...$$`` / ``$tag$...$tag$``;
    names are ``"..."`` and ``U&"..."``.
    """
    tokens: list[Token] = []
    end = len(sql)
    i = 0
    while i < end:
        char = sql[i]
        if char in _ASCII_SPACE:
            i += 1
        elif sql.startswith("--", i):
            i = _line_end(sql, i)
        elif sql.startswith("/*", i):
            i = _nested_comment_end(sql, i)
        elif char == "'":
            _, after = _quoted(sql, i, "'", backslash=not reading.standard_conforming_strings)
            tokens.append(Token(TokenKind.STRING, sql[i:after], i))
            i = after
        elif char == '"':
            value, after = _quoted(sql, i, '"', backslash=False)
            tokens.append(Token(TokenKind.QUOTED_NAME, value, i))
            i = after
        elif char == "$" and (tag := _DOLLAR_TAG.match(sql, i)) is not None:
            close = sql.find(tag.group(), tag.end())
            after = end if close < 0 else close + len(tag.group())
            tokens.append(Token(TokenKind.STRING, sql[i:after], i))
            i = after
        elif char == "$" and (parameter := _PARAMETER.match(sql, i)) is not None:
            tokens.append(Token(TokenKind.SYMBOL, parameter.group(), i))
            i = parameter.end()
        elif (word := _POSTGRES_WORD.match(sql, i)) is not None:
            i = _postgres_word(sql, word.group(), i, tokens)
        else:
            i = _plain_token(sql, i, _POSTGRES_WORD, tokens)
    return tokens


def _postgres_word(sql: str, word: str, start: int, tokens: list[Token]) -> int:
    """Append the word at ``start``, or the literal it prefixes (``E'...'``, ``U&'...'``, ``U&"..."``)."""
    after = start + len(word)
    if word in ("E", "e") and sql.startswith("'", after):
        _, after = _quoted(sql, after, "'", backslash=True)
        tokens.append(Token(TokenKind.STRING, sql[start:after], start))
    elif word in ("U", "u") and sql.startswith("&'", after):
        _, after = _quoted(sql, after + 1, "'", backslash=False)
        tokens.append(Token(TokenKind.STRING, sql[start:after], start))
    elif word in ("U", "u") and sql.startswith('&"', after):
        _, after = _quoted(sql, after + 1, '"', backslash=False)
        tokens.append(Token(TokenKind.ESCAPED_NAME, sql[start:after], start))
    else:
        tokens.append(Token(TokenKind.WORD, word, start))
    return after


def _plain_token(sql: str, start: int, word_pattern: re.Pattern[str], tokens: list[Token]) -> int:
    """Append the word, number or single symbol at ``start``; return the offset after it."""
    for kind, pattern in ((TokenKind.WORD, word_pattern), (TokenKind.NUMBER, _DIGITS)):
        match = pattern.match(sql, start)
        if match is not None:
            tokens.append(Token(kind, match.group(), start))
            return match.end()
    tokens.append(Token(TokenKind.SYMBOL, sql[start], start))
    return start + 1


def _quoted(sql: str, start: int, quote: str, *, backslash: bool) -> tuple[str, int]:
    """The content of the literal or name opening at ``start`` (a doubled quote read as one) and the
    offset after its closing quote; with ``backslash``, a backslash takes the next character as it is."""
    parts: list[str] = []
    end = len(sql)
    i = start + 1
    while i < end:
        char = sql[i]
        if backslash and char == "\\":
            parts.append(sql[i : i + 2])
            i += 2
        elif char == quote and sql.startswith(quote, i + 1):
            parts.append(quote)
            i += 2
        elif char == quote:
            return "".join(parts), i + 1
        else:
            parts.append(char)
            i += 1
    return "".join(parts), end


def _line_end(sql: str, start: int) -> int:
    """The offset of the line break (``\\n`` or ``\\r``) ending the comment at ``start``, or the end."""
    breaks = [at for at in (sql.find("\n", start), sql.find("\r", start)) if at >= 0]
    return min(breaks, default=len(sql))


def _nested_comment_end(sql: str, start: int) -> int:
    """The offset after the PostgreSQL comment opening at ``start``, counting the comments nested in it."""
    depth = 0
    i = start
    end = len(sql)
    while i < end:
        if sql.startswith("/*", i):
            depth += 1
            i += 2
        elif sql.startswith("*/", i):
            depth -= 1
            i += 2
            if depth == 0:
                return i
        else:
            i += 1
    return end
