"""The one kind of statement a sync runs: a single query that reads (SELECT, or WITH ... SELECT)."""

from __future__ import annotations

import re

from airflow_provider_cio.sync.columns import QueryError

# Comments as MySQL reads them: ``/* ... */`` (but not the executable ``/*! ... */`` and ``/*M! ... */``,
# whose content MySQL runs), ``#`` to the end of the line, and ``--`` followed by white space or a
# control character (``1--1`` is arithmetic, not a comment).
_COMMENTS = re.compile(r"/\*(?!M?!).*?\*/|#[^\n]*|--(?=[\s\x00-\x1f]|$)[^\n]*", re.DOTALL)
_EXECUTABLE_COMMENT_OPENER = re.compile(r"/\*M?!\d*")
_FIRST_WORD = re.compile(r"[\s(]*([A-Za-z]+)")
_INTO_FILE = re.compile(r"\bINTO\s+(OUTFILE|DUMPFILE)\b", re.IGNORECASE)
READING_STATEMENTS = frozenset({"SELECT", "WITH", "VALUES", "TABLE"})


def check_select(sql: str) -> None:
    """Refuse anything but one reading query, before it reaches the database.

    The query also runs inside ``START TRANSACTION READ ONLY``, which stops writes to tables; this check
    stops what a read-only transaction lets through: DDL (``DROP``, ``CREATE``, ``ALTER`` commit the
    transaction implicitly, then run), a second statement after a ``;`` (MySQL drivers send several
    statements in one call), and ``SELECT ... INTO OUTFILE``. It errs on the safe side: a ``;`` is
    refused anywhere but at the very end, even inside a string literal or a comment (write
    ``CHAR(59)`` for a literal semicolon).

    :raises QueryError: the statement is empty, is more than one statement, does not start with
        SELECT or WITH, or writes a file.
    """
    raw = sql or ""
    body = raw.rstrip()
    if body.endswith(";"):
        body = body[:-1]
    if ";" in body:
        line = body[: body.index(";")].count("\n") + 1
        raise QueryError(
            f"the sql holds more than one statement (a ';' on line {line}); a sync runs exactly one SELECT. "
            "Remove the other statements (for a ';' inside a string literal, write CHAR(59))"
        )
    code = _EXECUTABLE_COMMENT_OPENER.sub(" ", _COMMENTS.sub(" ", raw))
    match = _FIRST_WORD.match(code)
    if match is None:
        if code.strip():
            raise QueryError("the sql does not start with SELECT; the sync only runs queries that read")
        raise QueryError("the sql is empty; give a SELECT query")
    word = match.group(1).upper()
    if word not in READING_STATEMENTS:
        raise QueryError(
            f"the sync only runs queries that read (SELECT or WITH ... SELECT); this statement starts with {word}"
        )
    if _INTO_FILE.search(raw) or _INTO_FILE.search(code):
        raise QueryError("SELECT ... INTO OUTFILE/DUMPFILE writes a file on the server; remove the INTO clause")
