"""A query streamed through any common.sql ``DbApiHook``: ``cursor.fetchmany`` in blocks, read-only where the
driver allows it.

The stream:

- refuses anything but one reading query (:func:`check_select`), read both as MySQL and as PostgreSQL read
  it: an unknown dialect gets the stricter of the two checks, so the query is refused if either refuses it;
- opens the connection read-only where the driver can (:data:`READ_ONLY_HOOK_PARAMS`,
  :data:`READ_ONLY_STATEMENTS`): DuckDB as a ``read_only`` database, SQLite with ``PRAGMA query_only``;
  other drivers are not made read-only (docs/sources.md): the statement check and the connection's
  privileges are what stop a write there;
- fetches ``fetch_size`` rows at a time with ``cursor.fetchmany``; whether the driver holds the whole
  result in memory first is the driver's (docs/sources.md says which do);
- hands the sync a cursor without ``columns``: each value is converted by its Python type, because DB-API
  ``type_code``\\ s mean different things per driver;
- on :meth:`cancel` interrupts the running query where the driver can (``interrupt()`` of the cursor or
  the connection: DuckDB, SQLite) or cancels the cursor (``cursor.cancel()``, e.g. pyodbc); otherwise the query runs on
  until its call returns and the connection is closed;
- makes every call that waits on the database in a thread of its own (:class:`BlockingCalls`), so the
  task's ``execution_timeout`` and a kill act during a long query.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from airflow_provider_cio.sources.blocking_calls import BlockingCalls, close_quietly
from airflow_provider_cio.sources.statements import check_select
from airflow_provider_cio.sync.convert.column_types import ColumnType
from airflow_provider_cio.sync.convert.columns import QueryError

READ_ONLY_HOOK_PARAMS: Mapping[str, Mapping[str, Any]] = {"duckdb": {"read_only": True}}
"""Per connection type, the hook parameters that open the database read-only."""

READ_ONLY_STATEMENTS: Mapping[str, str] = {"sqlite": "PRAGMA query_only = ON"}
"""Per connection type, the statement that makes the session read-only."""


def read_only_enforced(conn_type: str) -> bool:
    """Whether the generic reader opens connections of this type read-only."""
    return conn_type in READ_ONLY_HOOK_PARAMS or conn_type in READ_ONLY_STATEMENTS


def check_reading_query(sql: str, connection: str) -> None:
    """Refuse anything but one reading query, as both MySQL and PostgreSQL read it (the stricter check).

    :param connection: the connection as messages name it.
    :raises QueryError: naming the connection.
    """
    try:
        check_select(sql, "mysql")
        check_select(sql, "postgresql")
    except QueryError as error:
        raise QueryError(f"{error} ({connection})") from None


class DbApiQueryStream(BlockingCalls):
    """Executes one SELECT on a ``DbApiHook``'s connection and exposes its cursor (a :class:`DbApiStreamCursor`).

    :param hook: the connection's hook (a common.sql ``DbApiHook``, read-only parameters already applied).
    :param conn_type: the Airflow connection type (``sqlite``, ``duckdb``, ...).
    :param connection_name: the connection as messages name it, e.g. ``SQLite connection 'analytics'``.
    """

    call_thread_name = "cio-dbapi-call"

    def __init__(self, hook: Any, conn_type: str, connection_name: str) -> None:
        self.hook = hook
        self.conn_type = conn_type
        self.connection_name = connection_name
        self.connection: Any = None
        self.cursor: Any = None

    def execute(self, sql: str, server_text: Collection[ColumnType] | None = None) -> DbApiStreamCursor:
        """Run ``sql`` (a SELECT) and return the cursor positioned on its rows.

        :param server_text: ignored: every value arrives as the driver's Python object.
        """
        check_reading_query(sql, self.connection_name)
        self.connection = self.call(self.hook.get_conn)
        statement = READ_ONLY_STATEMENTS.get(self.conn_type)
        if statement is not None:
            self.call(self.connection.execute, statement)
        self.cursor = self.call(self.connection.cursor)
        self.call(self.cursor.execute, sql)
        return DbApiStreamCursor(self)

    def cancel(self) -> None:
        """Interrupt the running query (from another thread), where the driver can."""
        with contextlib.suppress(Exception):  # a closed or broken connection has no query left to stop
            for part in (self.cursor, self.connection):  # a DuckDB cursor is a connection of its own
                if callable(getattr(part, "interrupt", None)):
                    part.interrupt()
                    return
            if callable(getattr(self.cursor, "cancel", None)):
                self.cursor.cancel()

    def close(self, *, finished: bool) -> None:
        """Close the cursor and the connection.

        :param finished: whether every row was read; if not, the query is interrupted first.
        """
        try:
            if self.connection is not None:
                if not finished:
                    self.cancel()
                if self.settled():
                    self.call(close_quietly, self.cursor, self.connection)  # in the thread that opened it (sqlite3)
                self.connection = self.cursor = None
        finally:
            self.end_calls()


class DbApiStreamCursor:
    """The stream's cursor as the sync reads it (``description``, ``fetchmany``, ``fetchall``), each fetch made
    with :meth:`DbApiQueryStream.call`. It has no ``columns``: the sync converts each value by its Python type."""

    def __init__(self, stream: DbApiQueryStream) -> None:
        self.stream = stream

    @property
    def description(self) -> Sequence[Sequence[Any]]:
        """The DB-API description of the query's columns (only the names are used)."""
        return self.stream.cursor.description or ()

    def fetchmany(self, size: int) -> Sequence[Sequence[Any]]:
        """The next ``size`` rows at most (none at the end)."""
        return self.stream.call(self.stream.cursor.fetchmany, size)

    def fetchall(self) -> Sequence[Sequence[Any]]:
        """Every remaining row."""
        return self.stream.call(self.stream.cursor.fetchall)
