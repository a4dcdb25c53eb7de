"""Snowflake errors as sentences that name the connection and say what to fix.

The connector's errors (``snowflake.connector.errors``) carry Snowflake's error number (``errno``) and
SQLSTATE; their text holds neither a password nor a row's values. Imports no driver: errors are recognised
by the module of their class.
"""

from __future__ import annotations

AUTHENTICATION_ERRORS = frozenset({390100, 390101, 390102, 390144, 390190, 390318})
"""Wrong login, password, key or token, a locked or disabled user: a retry does not help (SQLSTATE 08001 too)."""

CONNECTION_TYPES = ("OperationalError", "InterfaceError", "HttpError", "ServiceUnavailableError")
"""Error classes of the connector that mean the server could not be reached or answered badly."""

SNOWFLAKE_HINTS = {
    1003: "Fix the SQL syntax where Snowflake points; `cio-retl preview` runs a query without syncing it",
    904: (
        "Fix the query: it names a column the table does not have (Snowflake folds unquoted names to upper "
        'case: name a lower-case column "like_this")'
    ),
    2003: (
        "Fix the query, or grant the connection's role USAGE on the database and schema and SELECT on the table "
        "(Snowflake says 'does not exist or not authorized' for both)"
    ),
    3001: "Grant the connection's role SELECT on what the query reads (and USAGE on its database and schema)",
    606: "Give the connection a warehouse (the warehouse extra) that its role may use, and resume it if suspended",
    604: (
        "The query was cancelled: the task was stopped or timed out, or someone cancelled it in Snowflake; run it "
        "again, or make it faster"
    ),
    630: (
        "The query reached the statement timeout of its warehouse or user (STATEMENT_TIMEOUT_IN_SECONDS); make it "
        "faster (a last_sync_time filter on a clustered column) or raise the timeout"
    ),
    390100: "Check the connection's login and password (or key pair)",
}
"""What to do about the Snowflake errors a sync's query or connection meets most, by error number."""


def is_snowflake_error(error: BaseException) -> bool:
    """Whether an exception comes from the Snowflake connector."""
    return (type(error).__module__ or "").startswith("snowflake.connector")


def is_snowflake_connection_error(error: BaseException) -> bool:
    """Whether the error is about the connection (a retry may help) rather than the query or the credentials."""
    if getattr(error, "errno", None) in AUTHENTICATION_ERRORS:
        return False
    if str(getattr(error, "sqlstate", "") or "").startswith("08"):
        return True
    return type(error).__name__ in CONNECTION_TYPES


def snowflake_message(error: BaseException, conn_id: str) -> str:
    """A connector error as a sentence naming the Snowflake connection, with what to do about the common ones."""
    number = getattr(error, "errno", None)
    detail = " ".join(str(error).split())
    hint = SNOWFLAKE_HINTS.get(number) if isinstance(number, int) else None
    return f"Snowflake connection {conn_id!r} failed ({type(error).__name__}): {detail}" + (f". {hint}" if hint else "")
