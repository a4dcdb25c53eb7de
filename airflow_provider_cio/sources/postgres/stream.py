"""A query streamed from PostgreSQL inside a read-only transaction, through the Postgres connection's own hook.

The connection is read by ``PostgresHook`` (host, credentials, ``sslmode`` and the other extras), so TLS
and every other setting work as they do for any Airflow Postgres task. The hook gives a psycopg 3
connection (``apache-airflow-providers-postgres`` with SQLAlchemy 2). The stream:

- sets the session's ``TimeZone`` to UTC (``timestamptz`` values arrive in UTC), ``IntervalStyle`` to
  ``iso_8601`` (intervals arrive as ``P1Y2M3DT04:05:06``) and, when given, ``statement_timeout``;
- runs the query in a ``READ ONLY`` transaction, so a query that writes to a table fails and changes nothing
  (``dblink`` and the server-file functions act outside it: ``check_select`` refuses them);
- declares it as a server-side (named) cursor: rows are fetched ``fetch_size`` at a time, never all at
  once, and the server refuses a second statement in it (``SELECT ...; DROP ...`` cannot run);
- registers loaders on the connection so values arrive as the sync's value rules send them
  (:func:`register_loaders`): ``numeric`` as its text, ``timestamp``/``timestamptz``/``date`` as Unix
  seconds, ``interval``/``inet``/``uuid`` as text, ``json``/``jsonb`` parsed, ``bytea`` refused;
- on :meth:`cancel` asks the server to cancel the running query (the driver's cancel request), so
  stopping early does not wait for the server;
- makes every call that waits on the server in a thread of its own, while the caller waits where a signal
  can interrupt it, so the task's ``execution_timeout`` (SIGALRM) and a kill (SIGTERM, ``on_kill``) act
  during a long query: interrupted, the caller cancels the query (:meth:`close`), which ends the call.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection, Sequence
from typing import Any

import orjson
from airflow.providers.postgres.hooks.postgres import PostgresHook

from airflow_provider_cio.sources.blocking_calls import SETTLE_SECONDS, BlockingCalls
from airflow_provider_cio.sources.postgres.column_types import (
    BYTEA,
    CIDR,
    DATE,
    INET,
    INTERVAL,
    MACADDR,
    NUMERIC,
    TIMESTAMP,
    TIMESTAMPTZ,
    UUID,
    postgres_columns,
)
from airflow_provider_cio.sources.statements import check_select
from airflow_provider_cio.sync.account.outcomes import BINARY_VALUE, INVALID_VALUE
from airflow_provider_cio.sync.convert.column_types import ColumnType, SourceColumn
from airflow_provider_cio.sync.convert.columns import QueryError
from airflow_provider_cio.sync.convert.values import UTC, InvalidDate, Unsendable, ValueRules, text, utc_text_seconds

CURSOR_NAME = "cio_sync"

NO_UNIX_SECONDS = (
    "holds infinity, a BC date or a year after 9999, which has no Unix seconds; turn it into NULL in the "
    "query, e.g. NULLIF(col, 'infinity')"
)
BYTEA_REFUSED = "holds binary data (bytea); convert it in the query, e.g. encode(col, 'base64') or encode(col, 'hex')"


class PostgresQueryStream(BlockingCalls):
    """Executes one SELECT as a server-side cursor and exposes it (as a :class:`PostgresStreamCursor`).

    :param postgres_conn_id: the Airflow Postgres connection.
    :param timezone: the IANA time zone naive ``timestamp`` and ``date`` values are read in.
    :param statement_timeout: seconds each statement (the query's declaration, each fetch of rows) may
        run on the server before it cancels it; None leaves the server's setting.
    """

    call_thread_name = "cio-postgres-call"

    def __init__(
        self,
        postgres_conn_id: str = "postgres_default",
        *,
        timezone: str = "UTC",
        statement_timeout: float | None = None,
    ) -> None:
        self.postgres_conn_id = postgres_conn_id
        self.timezone = timezone
        self.statement_timeout = statement_timeout
        self.hook = PostgresHook(postgres_conn_id=postgres_conn_id)
        self.connection: Any = None
        self.cursor: Any = None

    def execute(self, sql: str, server_text: Collection[ColumnType] | None = None) -> PostgresStreamCursor:
        """Run ``sql`` (a SELECT) in a read-only transaction and return the cursor positioned on its rows.

        :param server_text: ignored: the loaders of :func:`register_loaders` convert the server's text as
            they read each value.
        """
        try:
            check_select(sql, "postgresql")
        except QueryError as error:
            raise QueryError(f"{error} (PostgreSQL connection {self.postgres_conn_id!r})") from None
        self.connection = self.call(self.hook.get_conn)
        if type(self.connection).__module__.split(".")[0] != "psycopg":
            raise RuntimeError(
                "the PostgreSQL source needs psycopg 3 (apache-airflow-providers-postgres with SQLAlchemy 2); the "
                f"hook of connection {self.postgres_conn_id!r} gave a {type(self.connection).__module__} connection"
            )
        register_loaders(self.connection, ValueRules(self.timezone))
        self.connection.autocommit = False
        self.connection.read_only = True  # every transaction starts with BEGIN READ ONLY
        settings = self.connection.cursor()
        statements = ["SET TIME ZONE 'UTC'", "SET intervalstyle = 'iso_8601'"]
        if self.statement_timeout is not None:
            statements.append(f"SET statement_timeout = {max(1, int(self.statement_timeout * 1000))}")
        for statement in statements:
            self.call(settings.execute, statement)
        self.cursor = self.connection.cursor(name=CURSOR_NAME)
        self.call(self.cursor.execute, sql)
        return PostgresStreamCursor(self)

    def cancel(self) -> None:
        """Ask the server to cancel the running query (the driver's cancel request, a connection of its own)."""
        connection = self.connection
        if connection is None or connection.closed:
            return
        # an unreachable server took the query, if any, with the connection
        with contextlib.suppress(Exception):
            connection.cancel_safe(timeout=SETTLE_SECONDS)

    def close(self, *, finished: bool) -> None:
        """End the transaction and close the connection.

        :param finished: whether every row was read; if not, the query is cancelled first so closing does
            not wait for a query still running.
        """
        try:
            self._end_query(finished)
        finally:
            self.end_calls()  # waited for, unless an interrupted call is still stuck in the driver

    def _end_query(self, finished: bool) -> None:
        if self.connection is None:
            return
        if not finished:
            self.cancel()
        if not self.settled():
            return  # the interrupted call still holds the connection; it is closed when the process ends
        try:
            if self.cursor is not None:
                with contextlib.suppress(Exception):  # an aborted transaction or a broken connection
                    self.cursor.close()  # a server cursor left open warns when it is collected
            self.connection.rollback()
        except Exception:  # a broken connection cannot roll back; closing it is all that is left
            pass
        finally:
            try:
                self.connection.close()
            finally:
                self.connection = self.cursor = None


class PostgresStreamCursor:
    """The stream's cursor as the sync reads it (``description``, ``fetchmany``, ``fetchall``), each fetch
    made with :meth:`PostgresQueryStream.call` so that a timeout or a kill can interrupt it.

    The sync reads the columns in its neutral types (:attr:`columns`); ``description`` is psycopg's own,
    type OIDs included.
    """

    def __init__(self, stream: PostgresQueryStream) -> None:
        self.stream = stream
        self._columns: list[SourceColumn] | None = None

    @property
    def description(self) -> Sequence[Sequence[Any]]:
        """The DB-API description of the query's columns."""
        return self.stream.cursor.description or ()

    @property
    def columns(self) -> list[SourceColumn]:
        """The query's columns in the sync's neutral types."""
        if self._columns is None:
            self._columns = postgres_columns(self.description)
        return self._columns

    def fetchmany(self, size: int) -> Sequence[Sequence[Any]]:
        """The next ``size`` rows at most (none at the end)."""
        return self.stream.call(self.stream.cursor.fetchmany, size)

    def fetchall(self) -> Sequence[Sequence[Any]]:
        """Every remaining row."""
        return self.stream.call(self.stream.cursor.fetchall)


def register_loaders(connection: Any, rules: ValueRules) -> None:
    """Make the connection hand over values as the sync's value rules send them (docs/values.md).

    Loaders apply to array elements too (a ``numeric[]`` arrives as a list of strings). Types without a
    loader here keep psycopg's: integers, floats, booleans, text, ``time``, enums (text).
    """
    from psycopg.adapt import Loader
    from psycopg.types.json import set_json_loads

    def loader(convert: Callable[[str], Any]) -> type[Loader]:
        class TextLoader(Loader):
            def load(self, data: Any) -> Any:
                return convert(bytes(data).decode())

        return TextLoader

    naive = utc_text_seconds if rules.timezone is UTC else rules.zoned_text_seconds

    def seconds(read: Callable[[str], int | InvalidDate]) -> Callable[[str], Any]:
        def convert(value: str) -> Any:
            result = read(value) if not value.endswith(" BC") else None
            return result if isinstance(result, int) else Unsendable(INVALID_VALUE, NO_UNIX_SECONDS)

        return convert

    class BinaryRefused(Loader):
        def load(self, data: Any) -> Any:
            return Unsendable(BINARY_VALUE, BYTEA_REFUSED)

    adapters = connection.adapters
    for oid, convert in (
        (NUMERIC, numeric_text),
        (TIMESTAMP, seconds(naive)),
        (DATE, seconds(naive)),
        (TIMESTAMPTZ, seconds(utc_text_seconds)),
        (INTERVAL, text),
        (INET, text),
        (CIDR, text),
        (MACADDR, text),
        (UUID, text),
    ):
        adapters.register_loader(oid, loader(convert))
    adapters.register_loader(BYTEA, BinaryRefused)
    set_json_loads(orjson.loads, connection)


def numeric_text(value: str) -> Any:
    """A ``numeric`` as the digits PostgreSQL wrote; ``NaN`` and infinities (JSON has none) fail the row."""
    if value[-1:].isdigit():
        return value
    return Unsendable(INVALID_VALUE, "holds NaN or an infinite number, which JSON cannot represent")
