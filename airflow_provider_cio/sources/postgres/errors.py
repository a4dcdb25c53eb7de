"""PostgreSQL errors as sentences that name the connection and say what to fix.

psycopg's errors carry the server's SQLSTATE (``error.sqlstate``) and message; neither includes a password.
"""

from __future__ import annotations

WRITE_REFUSED = frozenset({"25006"})
"""read_only_sql_transaction: the query tried to write."""

CONNECTION_STATES = ("08", "53", "57P01", "57P02", "57P03")
"""Connection exceptions, insufficient resources, server shutdown or not yet up: worth a retry."""

POSTGRES_HINTS = {
    "42601": "Fix the SQL syntax where PostgreSQL points; `cio-retl preview` runs a query without syncing it",
    "42703": "Fix the query: it names a column the table does not have",
    "42P01": "Fix the query: it names a table the connection's database (or search_path) does not have",
    "42883": "Fix the query: it calls a function (or an operator) that does not exist for these types",
    "42501": "Grant the connection's PostgreSQL user SELECT on what the query reads (and USAGE on its schema)",
    "57014": (
        "The query was cancelled: it ran longer than statement_timeout (the operator's statement_timeout, or "
        "the server's), or it was stopped; make it faster (an index on the last_sync_time filter) or raise "
        "statement_timeout"
    ),
    "28P01": "Check the connection's login and password",
    "28000": "Check the connection's login, and that pg_hba.conf lets it in from this host (sslmode if needed)",
    "3D000": "Fix the connection's schema (the database name): the server has no database of that name",
}
"""What to do about the PostgreSQL errors a sync's query or connection meets most."""


def is_postgres_error(error: BaseException) -> bool:
    """Whether an exception comes from the PostgreSQL driver (psycopg)."""
    module = type(error).__module__ or ""
    return module.split(".")[0] in ("psycopg", "psycopg2")


def is_postgres_connection_error(error: BaseException) -> bool:
    """Whether the error is about the connection rather than the query (a retry may help)."""
    state = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    if not state:
        return type(error).__name__ in ("OperationalError", "InterfaceError")
    return str(state).startswith(CONNECTION_STATES)


def postgres_message(error: BaseException, conn_id: str) -> str:
    """A driver error as a sentence naming the Postgres connection, with what to do about the common ones."""
    state = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    detail = " ".join(str(error).split())
    if state in WRITE_REFUSED or (state == "0A000" and "data-modifying" in detail):
        return (
            f"the query tried to write (PostgreSQL connection {conn_id!r}, SQLSTATE {state}: {detail}); the sync "
            "runs queries in a read-only transaction and changed nothing. Use a plain SELECT: no FOR UPDATE, no "
            "nextval(), no data-modifying WITH, no function that writes"
        )
    code = f" {state}" if state else ""
    hint = POSTGRES_HINTS.get(state or "")
    return f"PostgreSQL connection {conn_id!r} failed ({type(error).__name__}{code}): {detail}" + (
        f". {hint}" if hint else ""
    )
