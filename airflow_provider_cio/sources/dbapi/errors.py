"""The errors of any DB-API driver as sentences that name the connection and say what to fix.

A DB-API driver's exceptions derive from the driver's own ``Error`` (PEP 249), which derives from
``Exception``; they are told apart by that class, whatever the driver. Their text never holds a password.
"""

from __future__ import annotations

WRITE_REFUSED = ("attempt to write a readonly database", "read-only mode")
"""What SQLite (``PRAGMA query_only``) and DuckDB (``read_only``) say when the query tried to write."""


def _ancestors(error: BaseException) -> list[type]:
    return [cls for cls in type(error).__mro__ if cls.__module__ != "builtins"]


def is_dbapi_error(error: BaseException) -> bool:
    """Whether an exception is a DB-API driver's: it derives from a class ``Error`` that derives from ``Exception``."""
    return any(cls.__name__ == "Error" and cls.__bases__ == (Exception,) for cls in _ancestors(error))


def is_write_refused(error: BaseException) -> bool:
    """Whether the driver refused the query because it tried to write on the read-only connection."""
    return any(phrase in str(error) for phrase in WRITE_REFUSED)


def is_dbapi_connection_error(error: BaseException) -> bool:
    """Whether the error is about the connection (``OperationalError``, ``InterfaceError``: a retry may help)
    rather than the query."""
    if is_write_refused(error):
        return False
    return any(cls.__name__ in ("OperationalError", "InterfaceError") for cls in _ancestors(error))


def dbapi_message(error: BaseException, connection: str) -> str:
    """A driver error as a sentence naming the connection.

    :param connection: the connection as messages name it, e.g. ``SQLite connection 'analytics'``.
    """
    detail = " ".join(str(error).split())
    if is_write_refused(error):
        return (
            f"the query tried to write ({connection}: {detail}); the sync reads on a read-only connection and "
            "changed nothing. Use a plain SELECT"
        )
    return f"{connection} failed ({type(error).__name__}): {detail}"
