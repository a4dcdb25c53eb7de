"""A query read from DuckDB through the DuckDB connection's own hook, in Arrow record batches.

The connection is opened by ``DuckDBHook`` read-only (``read_only=True``, as the generic reader opened it), with
the connection's settings (``memory_limit``, ``threads``, extensions). The stream:

- refuses anything but one reading query (the generic reader's check, :func:`check_reading_query`); the
  read-only database refuses a write the check lets through;
- reads the query as a relation (``con.sql(q)``) and its result with ``to_arrow_reader(batch_rows)``: record
  batches taken one at a time as the sync asks for rows, so memory holds a batch or two whatever the result's
  size (DuckDB's ``fetchmany`` builds a Python object per value and is many times slower);
- casts the few types whose Arrow form loses the value to ``VARCHAR`` (:data:`~.column_types.AS_TEXT`);
- hands the sync blocks of columns (:class:`~airflow_provider_cio.sync.blocks.Block`), converted by
  :class:`DuckDBArrowValues`: timestamps and dates as Unix seconds, maps as objects;
- on :meth:`cancel` interrupts the running query (``interrupt()`` of the connection);
- makes every call that waits on DuckDB in a thread of its own (:class:`BlockingCalls`), so the task's
  ``execution_timeout`` and a kill act during a long query.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection, Sequence
from functools import partial
from typing import Any

from airflow_provider_cio.sources.arrow_batches import ArrowBatches
from airflow_provider_cio.sources.arrow_values import ArrowValues
from airflow_provider_cio.sources.blocking_calls import BlockingCalls, close_quietly
from airflow_provider_cio.sources.dbapi.stream import check_reading_query
from airflow_provider_cio.sources.duck.column_types import AS_TEXT, duckdb_columns
from airflow_provider_cio.sync.account.outcomes import BINARY_VALUE
from airflow_provider_cio.sync.blocks import Block
from airflow_provider_cio.sync.convert.column_types import ColumnType, SourceColumn
from airflow_provider_cio.sync.convert.columns import QueryError
from airflow_provider_cio.sync.convert.values import Unsendable, ValueRules

BATCH_ROWS = 5000
"""Rows of each Arrow record batch DuckDB produces (the operator's default ``fetch_size``)."""


class DuckDBArrowValues(ArrowValues):
    """Converts DuckDB's Arrow record batches, a block at a time; a BLOB value fails its row with DuckDB's
    functions to convert it in the query."""

    binary_refused = Unsendable(
        BINARY_VALUE, "holds binary data (BLOB); convert it in the query, e.g. HEX(col) or TO_BASE64(col)"
    )


class DuckDBQueryStream(BlockingCalls):
    """Runs one SELECT on DuckDB and exposes its result (as a :class:`DuckDBStreamCursor`).

    :param connect: opens a DuckDB connection (the connection's ``DuckDBHook(read_only=True).get_conn``).
    :param connection_name: the connection as messages name it, e.g. ``DuckDB connection 'analytics'``.
    :param timezone: the IANA time zone TIMESTAMP and DATE values are read in.
    :param batch_rows: rows of each Arrow record batch.
    """

    call_thread_name = "cio-duckdb-call"

    def __init__(
        self, connect: Callable[[], Any], connection_name: str, *, timezone: str = "UTC", batch_rows: int = BATCH_ROWS
    ) -> None:
        self.connect = connect
        self.connection_name = connection_name
        self.rules = ValueRules(timezone)
        self.batch_rows = batch_rows
        self.connection: Any = None
        self.reader: Any = None

    def execute(self, sql: str, server_text: Collection[ColumnType] | None = None) -> DuckDBStreamCursor:
        """Run ``sql`` (a SELECT) and return the cursor on its result, read lazily.

        :param server_text: ignored: the result arrives in Arrow, converted a column at a time.
        :raises QueryError: the query is not one reading query, or gives no result.
        """
        check_reading_query(sql, self.connection_name)
        self.connection = self.call(self.connect)
        relation = self.call(self.connection.sql, sql)
        if relation is None:  # a statement that ran and returns no rows
            raise QueryError(f"the query returned no result set; the sync needs a SELECT ({self.connection_name})")
        columns = duckdb_columns(relation.columns, relation.types)
        if any(kind.id in AS_TEXT for kind in relation.types):
            relation = relation.project(_as_text_projection(columns, relation.types))
        self.reader = self.call(relation.to_arrow_reader, self.batch_rows)
        return DuckDBStreamCursor(self, columns)

    def cancel(self) -> None:
        """Interrupt the running query (from another thread)."""
        with contextlib.suppress(Exception):  # a closed connection has no query left to stop
            if self.connection is not None:
                self.connection.interrupt()

    def close(self, *, finished: bool) -> None:
        """Close the reader and the connection.

        :param finished: whether every row was read; if not, the query is interrupted first.
        """
        try:
            if self.connection is not None:
                if not finished:
                    self.cancel()
                if self.settled():
                    self.call(close_quietly, self.reader, self.connection)
                self.connection = self.reader = None
        finally:
            self.end_calls()


def _as_text_projection(columns: Sequence[SourceColumn], types: Sequence[Any]) -> str:
    """Every column by its position and name; those of :data:`AS_TEXT` types cast to ``VARCHAR``."""
    parts = []
    for position, (column, kind) in enumerate(zip(columns, types, strict=True), start=1):
        value = f"CAST(#{position} AS VARCHAR)" if kind.id in AS_TEXT else f"#{position}"
        name = column.name.replace('"', '""')
        parts.append(f'{value} AS "{name}"')
    return ", ".join(parts)


class DuckDBStreamCursor:
    """The result as the sync reads it: ``description``, ``columns`` in neutral types, and ``fetchmany``, which
    takes the record batches one at a time (each with :meth:`DuckDBQueryStream.call`) and returns blocks of
    columns.

    :param stream: the stream whose query this is.
    :param columns: the query's columns in neutral types.
    """

    def __init__(self, stream: DuckDBQueryStream, columns: list[SourceColumn]) -> None:
        self.stream = stream
        self.columns = columns
        self._values = DuckDBArrowValues(columns, stream.rules)
        self._batches = ArrowBatches(partial(stream.call, _read_next, stream))

    @property
    def description(self) -> Sequence[Sequence[Any]]:
        """The query's columns as a DB-API description (name and DuckDB type)."""
        return [(column.name, column.source_type, None, None, None, None, None) for column in self.columns]

    def fetchmany(self, size: int) -> Block | list[tuple[Any, ...]]:
        """The next ``size`` rows at most, as a block of columns (an empty list at the end)."""
        pieces = self._batches.take(size)
        return Block(self._values.columns(pieces)) if pieces else []


def _read_next(stream: DuckDBQueryStream) -> Any:
    """The next record batch of the stream's reader, or None at the end."""
    try:
        return stream.reader.read_next_batch()
    except StopIteration:
        return None
