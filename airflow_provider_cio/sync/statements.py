"""The one kind of statement a sync runs: a query that reads (SELECT, or WITH ... SELECT)."""

from __future__ import annotations

import re

from airflow_provider_cio.sync.columns import QueryError

_COMMENTS = re.compile(r"(/\*.*?\*/)|(--[^\n]*|#[^\n]*)", re.DOTALL)
_FIRST_WORD = re.compile(r"[\s(]*([A-Za-z]+)")
_INTO_FILE = re.compile(r"\bINTO\s+(OUTFILE|DUMPFILE)\b", re.IGNORECASE)
READING_STATEMENTS = frozenset({"SELECT", "WITH", "VALUES", "TABLE"})


def check_select(sql: str) -> None:
    """Refuse anything but a reading query, before it reaches the database.

    The query also runs inside ``START TRANSACTION READ ONLY``, which stops writes to tables; this check
    also stops what a read-only transaction lets through: DDL (``DROP``, ``ALTER`` commit implicitly)
    and ``SELECT ... INTO OUTFILE``.

    :raises QueryError: the statement is empty, does not start with SELECT or WITH, or writes a file.
    """
    text = _COMMENTS.sub(" ", sql or "")
    match = _FIRST_WORD.match(text)
    if match is None:
        raise QueryError("the sql is empty; give a SELECT query")
    word = match.group(1).upper()
    if word not in READING_STATEMENTS:
        raise QueryError(
            f"the sync only runs queries that read (SELECT or WITH ... SELECT); this statement starts with {word}"
        )
    if _INTO_FILE.search(text):
        raise QueryError("SELECT ... INTO OUTFILE/DUMPFILE writes a file on the server; remove the INTO clause")
