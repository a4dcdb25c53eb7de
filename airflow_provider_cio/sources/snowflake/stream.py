"""A query read from Snowflake through the Snowflake connection's own hook, in Arrow batches.

The connection is read by ``SnowflakeHook`` (account, credentials, key pair, role, warehouse, the other
extras), so every setting works as it does for any Airflow Snowflake task. The stream:

- refuses anything but one reading query (the generic reader's check, :func:`check_reading_query`):
  Snowflake has no read-only session, so the check and the grants of the connection's role are what stop a
  write (docs/sources.md);
- opens the connection with ``arrow_number_to_decimal``, so a NUMBER with a scale arrives as an exact decimal
  (the connector's default turns it into a float, losing digits);
- submits the query asynchronously (``execute_async``), so its query id is known while it runs, then waits
  for its result (``get_results_from_sfqid``) and reads it with ``fetch_arrow_batches()``: the result's
  chunks, one Arrow table each, taken one at a time as the sync asks for rows (the connector downloads a few
  chunks ahead);
- hands the sync blocks of columns (:class:`~airflow_provider_cio.sync.blocks.Block`), converted by
  :class:`~.arrow_values.ArrowValues`: timestamps as Unix seconds, VARIANT as JSON text to parse;
- on :meth:`cancel` cancels the query in Snowflake (``SYSTEM$CANCEL_QUERY`` with its query id): an
  asynchronous query otherwise runs on after the connection closes;
- makes every call that waits on Snowflake in a thread of its own (:class:`BlockingCalls`), so the task's
  ``execution_timeout`` and a kill act during a long query.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection, Iterator, Sequence
from functools import partial
from typing import Any

from airflow_provider_cio.sources.arrow_batches import ArrowBatches
from airflow_provider_cio.sources.blocking_calls import BlockingCalls, close_quietly
from airflow_provider_cio.sources.dbapi.stream import check_reading_query
from airflow_provider_cio.sources.snowflake.arrow_values import ArrowValues
from airflow_provider_cio.sources.snowflake.column_types import snowflake_columns
from airflow_provider_cio.sync.blocks import Block
from airflow_provider_cio.sync.convert.column_types import ColumnType, SourceColumn
from airflow_provider_cio.sync.convert.values import ValueRules

CANCEL_QUERY = "SELECT SYSTEM$CANCEL_QUERY(%s)"


class SnowflakeQueryStream(BlockingCalls):
    """Runs one SELECT on Snowflake and exposes its result (as a :class:`SnowflakeStreamCursor`).

    :param connect: opens a connector connection (:func:`decimal_connection` of the connection's hook).
    :param connection_name: the connection as messages name it, e.g. ``Snowflake connection 'warehouse'``.
    :param timezone: the IANA time zone TIMESTAMP_NTZ and DATE values are read in.
    """

    call_thread_name = "cio-snowflake-call"

    def __init__(self, connect: Callable[[], Any], connection_name: str, *, timezone: str = "UTC") -> None:
        self.connect = connect
        self.connection_name = connection_name
        self.rules = ValueRules(timezone)
        self.connection: Any = None
        self.cursor: Any = None
        self.query_id: str | None = None
        self._cancelled_id: str | None = None

    def execute(self, sql: str, server_text: Collection[ColumnType] | None = None) -> SnowflakeStreamCursor:
        """Run ``sql`` (a SELECT), wait for it to finish and return the cursor on its result.

        :param server_text: ignored: the result arrives in Arrow, converted a column at a time.
        """
        check_reading_query(sql, self.connection_name)
        self.connection = self.call(self.connect)
        self.cursor = self.connection.cursor()
        self.call(self._submit, sql)
        self.call(self.cursor.get_results_from_sfqid, self.query_id)
        batches = self.call(self.cursor.fetch_arrow_batches)  # waits until the query has finished
        return SnowflakeStreamCursor(self, batches)

    def _submit(self, sql: str) -> None:
        """Submit the query and keep its id, in the call thread: the id is known even if the caller was
        interrupted while waiting."""
        self.cursor.execute_async(sql)
        self.query_id = self.cursor.sfqid

    def cancel(self) -> None:
        """Cancel the query in Snowflake (from another thread), if it was submitted and not cancelled yet."""
        connection, query_id = self.connection, self.query_id
        if connection is None or query_id is None or query_id == self._cancelled_id:
            return
        self._cancelled_id = query_id
        with contextlib.suppress(Exception):  # a closed connection, or a query that has ended
            cursor = connection.cursor()
            try:
                cursor.execute(CANCEL_QUERY, (query_id,))
            finally:
                cursor.close()

    def close(self, *, finished: bool) -> None:
        """Close the cursor and the connection.

        :param finished: whether every row was read; if not, the query is cancelled first.
        """
        try:
            if self.connection is not None:
                if not finished:
                    self.cancel()
                if self.settled():
                    if not finished:
                        self.cancel()  # a query submitted while the caller was being interrupted
                    self.call(close_quietly, self.cursor, self.connection)
                self.connection = self.cursor = self.query_id = None
        finally:
            self.end_calls()


def decimal_connection(hook: Any) -> Any:
    """A connection as ``SnowflakeHook.get_conn()`` makes it, with scaled NUMBERs as decimals in Arrow.

    :param hook: the connection's ``SnowflakeHook``.
    """
    from snowflake.connector import connect

    # get_conn() is connect(**_get_conn_params()); arrow_number_to_decimal is an option of connect() only
    return connect(**{**hook._get_conn_params(), "arrow_number_to_decimal": True})


class SnowflakeStreamCursor:
    """The result as the sync reads it: ``description``, ``columns`` in neutral types, and ``fetchmany``, which
    takes the Arrow batches one at a time (each with :meth:`SnowflakeQueryStream.call`) and returns blocks of
    columns.

    :param stream: the stream whose query this is.
    :param batches: the result's Arrow tables (``cursor.fetch_arrow_batches()``), read lazily.
    """

    def __init__(self, stream: SnowflakeQueryStream, batches: Iterator[Any]) -> None:
        self.stream = stream
        self._batches = ArrowBatches(partial(stream.call, next, batches, None))
        self._columns: list[SourceColumn] | None = None
        self._values: ArrowValues | None = None

    @property
    def description(self) -> Sequence[Sequence[Any]]:
        """The connector's description of the query's columns."""
        return self.stream.cursor.description or ()

    @property
    def columns(self) -> list[SourceColumn]:
        """The query's columns in the sync's neutral types."""
        if self._columns is None:
            self._columns = snowflake_columns(self.description)
        return self._columns

    def fetchmany(self, size: int) -> Block | list[tuple[Any, ...]]:
        """The next ``size`` rows at most, as a block of columns (an empty list at the end)."""
        pieces = self._batches.take(size)
        if not pieces:
            return []
        if self._values is None:
            self._values = ArrowValues(self.columns, self.stream.rules)
        return Block(self._values.columns(pieces))
