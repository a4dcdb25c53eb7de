"""A query streamed from MySQL inside a read-only transaction, through the MySQL connection's own hook.

The MySQL connection is read by ``MySqlHook`` (host, credentials, ``ssl``/``ssl_mode`` extras, ``client``),
so TLS and every other setting work as they do for any Airflow MySQL task. The stream:

- sets the session time zone to UTC (``TIMESTAMP`` values arrive in UTC) and a long
  ``net_write_timeout`` (a slow consumer must not make the server drop a long stream);
- runs ``START TRANSACTION READ ONLY``, so a query that writes fails (error 1792) and changes nothing,
  with multiple statements turned off on the server (``SELECT ...; DROP ...`` cannot run);
- uses an unbuffered, server-side cursor: rows are fetched in blocks, never all at once;
- on :meth:`cancel` kills the running query from a second connection, so stopping early does not
  wait for the server to finish sending rows nobody will read;
- makes every call that waits on the server in a thread of its own, while the caller waits where a signal
  can interrupt it: a driver call blocked in C runs no Python signal handler until the server answers,
  so the task's ``execution_timeout`` (SIGALRM) and a kill (SIGTERM, ``on_kill``) could not act during a
  long query. Interrupted, the caller kills the query (:meth:`close`), which ends the call.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from airflow.providers.mysql.hooks.mysql import MySqlHook

from airflow_provider_cio.sources.blocking_calls import BlockingCalls
from airflow_provider_cio.sources.mysql.column_types import MYSQL_YEAR, mysql_columns, raw_reads
from airflow_provider_cio.sources.statements import check_select
from airflow_provider_cio.sync.convert.column_types import ColumnType, SourceColumn
from airflow_provider_cio.sync.convert.columns import QueryError

SETTLE_SECONDS = 10.0
"""How long :meth:`MySQLQueryStream.close` waits for an interrupted call to end after killing its query
(then its connection)."""


class MySQLQueryStream(BlockingCalls):
    """Executes one SELECT and exposes its unbuffered cursor (as a :class:`StreamCursor`).

    :param mysql_conn_id: the Airflow MySQL connection.
    :param net_write_timeout: seconds the server waits for the sync to take more rows.
    """

    call_thread_name = "cio-mysql-call"

    def __init__(self, mysql_conn_id: str = "mysql_default", *, net_write_timeout: int = 3600) -> None:
        self.mysql_conn_id = mysql_conn_id
        self.net_write_timeout = net_write_timeout
        self.hook = MySqlHook(mysql_conn_id=mysql_conn_id)
        self.connection: Any = None
        self.cursor: Any = None
        self._thread_id: int | None = None
        self.server_text: frozenset[ColumnType] = frozenset()
        """The column types whose values the driver leaves as the server's text."""

    def execute(self, sql: str, server_text: Collection[ColumnType] | None = None) -> StreamCursor:
        """Run ``sql`` (a SELECT) in a read-only transaction and return the cursor positioned on its rows.

        :param server_text: column types the sync takes as the text the server sent (dates, times,
            decimals); mysqlclient leaves them so. Other clients return their usual Python objects, which
            the sync converts by type.
        """
        try:
            check_select(sql)
        except QueryError as error:
            raise QueryError(f"{error} (MySQL connection {self.mysql_conn_id!r})") from None
        self.connection = self.call(self.hook.get_conn)
        if server_text and isinstance(getattr(self.connection, "converter", None), dict):
            self.connection.converter.update(raw_reads(server_text))
            self.server_text = frozenset(server_text)
        refuse_multiple_statements(self.connection)
        self.cursor = unbuffered_cursor(self.connection)
        self._thread_id = connection_thread_id(self.connection)
        for statement in (
            "SET SESSION time_zone = '+00:00'",
            f"SET SESSION net_write_timeout = {int(self.net_write_timeout)}",
            "START TRANSACTION READ ONLY",
            sql,
        ):
            self.call(self.cursor.execute, statement)
        return StreamCursor(self)

    def cancel(self) -> None:
        """Kill the running query from a second connection (``KILL QUERY``)."""
        self._kill("QUERY")

    def close(self, *, finished: bool) -> None:
        """End the transaction and close the connection.

        :param finished: whether every row was read; if not, the query is killed first so closing does
            not read the rest of the result (nor wait for a query still running).
        """
        try:
            self._end_query(finished)
        finally:
            self.end_calls()  # waited for, unless an interrupted call is still stuck in the driver

    def _end_query(self, finished: bool) -> None:
        if self.connection is None:
            self._thread_id = None
            return
        if not finished:
            self.cancel()
        if not self._settled():
            return  # the interrupted call still holds the connection; it is closed when the process ends
        try:
            if finished:
                self.cursor.close()
            self.connection.rollback()
        except Exception:  # a killed query leaves the connection unusable; closing it is all that is left
            pass
        finally:
            try:
                self.connection.close()
            finally:
                self.connection = self.cursor = self._thread_id = None

    def _settled(self) -> bool:
        """Whether no interrupted call is still running (killing its query, then its connection, if needed)."""
        if self.call_ended(SETTLE_SECONDS):
            return True
        self._kill("CONNECTION")
        return self.call_ended(SETTLE_SECONDS)

    def _kill(self, what: str) -> None:
        """``KILL QUERY`` or ``KILL CONNECTION`` of this stream's connection, from a second connection."""
        if self._thread_id is None:
            return
        try:
            killer = self.hook.get_conn()
        except Exception:  # the server cannot be reached: the query, if any, went with the connection
            return
        try:
            killer.cursor().execute(f"KILL {what} {int(self._thread_id)}")
        except Exception:  # the query or the connection may have ended already
            pass
        finally:
            killer.close()


class StreamCursor:
    """The stream's cursor as the sync reads it (``description``, ``fetchmany``, ``fetchall``), each fetch
    made with :meth:`MySQLQueryStream.call` so that a timeout or a kill can interrupt it."""

    def __init__(self, stream: MySQLQueryStream) -> None:
        self.stream = stream
        self._columns: list[SourceColumn] | None = None
        self._year_indexes: list[int] | None = None

    @property
    def description(self) -> Sequence[Sequence[Any]]:
        """The DB-API description of the query's columns."""
        return self.stream.cursor.description

    @property
    def columns(self) -> list[SourceColumn]:
        """The query's columns in the sync's neutral types."""
        if self._columns is None:
            self._columns = mysql_columns(self.description or (), self.stream.server_text)
        return self._columns

    def fetchmany(self, size: int) -> Sequence[Sequence[Any]]:
        """The next ``size`` rows at most (none at the end)."""
        return self.years_as_text(self.stream.call(self.stream.cursor.fetchmany, size))

    def fetchall(self) -> Sequence[Sequence[Any]]:
        """Every remaining row."""
        return self.years_as_text(self.stream.call(self.stream.cursor.fetchall))

    def years_as_text(self, rows: Sequence[Sequence[Any]]) -> Sequence[Sequence[Any]]:
        """Rows with each ``YEAR`` the driver made an integer written as MySQL writes it (``"2024"``, ``"0000"``).

        A ``YEAR`` is sent as a string (docs/values.md). Read as the server's text it is one already; a driver
        that hands over its own objects (mysql-connector-python, or mysqlclient without :func:`raw_reads`, as
        the preview reads) makes it an integer, which the sync would send as a number.
        """
        if self._year_indexes is None:
            self._year_indexes = [] if "year" in self.stream.server_text else year_indexes(self.description or ())
        if not self._year_indexes or not rows:
            return rows
        return [year_text(row, self._year_indexes) for row in rows]


def year_indexes(description: Sequence[Sequence[Any]]) -> list[int]:
    """The positions of the ``YEAR`` columns of a cursor's ``description``."""
    return [index for index, (_, type_code, *_) in enumerate(description) if type_code == MYSQL_YEAR]


def year_text(row: Sequence[Any], indexes: Sequence[int]) -> tuple[Any, ...]:
    """A row with its ``YEAR`` integers at ``indexes`` as four-digit text; NULL and text as they are."""
    values = list(row)
    for index in indexes:
        if type(values[index]) is int:
            values[index] = f"{values[index]:04d}"
    return tuple(values)


MULTI_STATEMENTS_OFF = 1
"""``MYSQL_OPTION_MULTI_STATEMENTS_OFF`` of the MySQL C API."""


def refuse_multiple_statements(connection: Any) -> None:
    """Make the server refuse ``SELECT ...; DROP ...`` in one call (mysqlclient allows it by default).

    ``check_select`` already refuses such SQL; this is the second line of defence, on the server.
    """
    set_option = getattr(connection, "set_server_option", None)
    if callable(set_option):
        set_option(MULTI_STATEMENTS_OFF)


def unbuffered_cursor(connection: Any) -> Any:
    """A cursor that streams rows from the server, for mysqlclient and for mysql-connector-python."""
    module = type(connection).__module__
    if module.startswith("MySQLdb"):
        import MySQLdb.cursors

        return connection.cursor(MySQLdb.cursors.SSCursor)
    return connection.cursor(buffered=False)


def connection_thread_id(connection: Any) -> int | None:
    """The server's id for this connection (what ``KILL QUERY`` takes)."""
    thread_id = getattr(connection, "thread_id", None)
    if callable(thread_id):
        return int(thread_id())
    connection_id = getattr(connection, "connection_id", None)
    return int(connection_id) if connection_id is not None else None
