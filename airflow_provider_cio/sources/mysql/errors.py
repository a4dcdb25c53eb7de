"""What the MySQL drivers' errors mean to a sync: which are about the connection, and what to do about them.

Shared by the sync operators and ``cio-retl preview``: the MySQL side's knowledge, kept apart from Airflow's
operators. Imports no driver: errors are recognised by the module of their class (mysqlclient or
mysql-connector).
"""

from __future__ import annotations


def is_mysql_error(error: BaseException) -> bool:
    """Whether an exception comes from the MySQL driver (mysqlclient or mysql-connector)."""
    module = type(error).__module__ or ""
    return module.startswith(("MySQLdb", "_mysql", "mysql.connector", "_mysql_connector"))


CONNECTION_ERRORS = frozenset({2002, 2003, 2005, 2006, 2013, 2055, 1040, 1053, 1317})
"""Server gone, lost, unreachable, too many connections, shutdown, query interrupted: worth a retry."""


def mysql_error_code(error: BaseException) -> int | None:
    """The MySQL error number of a driver exception (mysqlclient or mysql-connector)."""
    code = getattr(error, "errno", None)
    if code is None and error.args and isinstance(error.args[0], int):
        code = error.args[0]
    return code


def is_connection_error(error: BaseException) -> bool:
    """Whether the MySQL error is about the connection rather than the query."""
    return mysql_error_code(error) in CONNECTION_ERRORS


MYSQL_HINTS = {
    1064: "Fix the SQL syntax where MySQL points ('near ...'); `cio-retl preview` runs a query without syncing it",
    1054: "Fix the query: it names a column the table does not have",
    1146: "Fix the query: it names a table the connection's database does not have",
    1305: "Fix the query: it calls a function the database does not have",
    1142: "Grant the connection's MySQL user SELECT on what the query reads",
    1143: "Grant the connection's MySQL user SELECT on what the query reads",
    1044: "Grant the connection's MySQL user access to the database, or fix the connection's schema",
    1049: "Fix the connection's schema: the server has no database of that name",
    1045: (
        "Check the connection's login and password; a user created with REQUIRE SSL or REQUIRE X509 also needs "
        "the connection's ssl extra (ca, and cert and key for X509)"
    ),
    2026: (
        "Check the connection's ssl extra: ca must be the CA that signed the server's certificate, and cert and "
        "key a client certificate the server accepts"
    ),
}
"""What to do about the MySQL errors a sync's query or connection meets most."""


def mysql_message(error: BaseException, conn_id: str) -> str:
    """A driver error as a sentence naming the MySQL connection, with what to do about the common ones.

    The driver's text never includes passwords.
    """
    code = mysql_error_code(error)
    detail = getattr(error, "msg", None) or (error.args[1] if len(error.args) > 1 else str(error))
    if code == 1792:
        return (
            f"the query tried to write (MySQL connection {conn_id!r}, error 1792: {detail}); the sync runs "
            "queries in a read-only transaction and changed nothing. Use a plain SELECT: no FOR UPDATE, no "
            "function that writes (NEXTVAL, a stored function that modifies data)"
        )
    number = f" {code}" if code else ""
    hint = MYSQL_HINTS.get(code) if code else None
    return f"MySQL connection {conn_id!r} failed ({type(error).__name__}{number}): {detail}" + (
        f". {hint}" if hint else ""
    )
