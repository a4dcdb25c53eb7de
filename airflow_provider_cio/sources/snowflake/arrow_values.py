"""The Arrow columns of a Snowflake result as the values the sync sends (docs/sources.md, the Snowflake contract).

The connector hands a result over as Arrow tables (``fetch_arrow_batches``); this converts a block of them
a column at a time, by the column's neutral type:

- ``datetime`` (TIMESTAMP_NTZ) and ``instant`` (TIMESTAMP_LTZ, TIMESTAMP_TZ): Unix seconds, rounded down.
  An aware Arrow timestamp is a point in time; a naive one is read in the sync's time zone, as a MySQL
  ``DATETIME`` is. In UTC the whole column is converted in Arrow;
- ``date``: Unix seconds of the date's midnight in the sync's time zone;
- ``integer`` (NUMBER of scale 0): Python integers, also when Snowflake sends the column as a 38-digit
  decimal;
- ``time``: ``datetime.time`` (nanoseconds dropped), sent as text by the value rules;
- ``binary``: each value flagged as unsendable, with Snowflake's functions to convert it in the query;
- any other: the Python values of the column (``Decimal`` for a scaled NUMBER, JSON text for VARIANT), which
  the value rules convert.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from airflow_provider_cio.sync.account.outcomes import BINARY_VALUE
from airflow_provider_cio.sync.convert.column_types import ColumnType, SourceColumn
from airflow_provider_cio.sync.convert.values import UTC, Unsendable, ValueRules

SECONDS_PER_DAY = 86_400
BINARY_REFUSED = Unsendable(
    BINARY_VALUE, "holds binary data (BINARY); convert it in the query, e.g. HEX_ENCODE(col) or BASE64_ENCODE(col)"
)


class ArrowValues:
    """Converts the Arrow tables of one result, a block at a time.

    :param columns: the result's columns in neutral types, in the order of the tables' columns.
    :param rules: the sync's value rules (its time zone reads naive timestamps and dates).
    """

    def __init__(self, columns: Sequence[SourceColumn], rules: ValueRules) -> None:
        self.rules = rules
        self.in_utc = rules.timezone is UTC
        self._converters = [self._converter(column.type) for column in columns]

    def columns(self, tables: Sequence[pa.Table]) -> list[Sequence[Any]]:
        """The values of each column over ``tables`` (slices of the result's batches, in order)."""
        converted: list[list[Any]] = [[] for _ in self._converters]
        for table in tables:
            for values, convert, column in zip(converted, self._converters, table.columns, strict=True):
                values.extend(convert(column))
        columns: list[Sequence[Any]] = list(converted)
        return columns

    def _converter(self, column_type: ColumnType) -> Callable[[pa.ChunkedArray], list[Any]]:
        if column_type in ("datetime", "instant"):
            return self.unix_seconds
        if column_type == "date":
            return self.date_seconds
        if column_type == "integer":
            return integers
        if column_type == "time":
            return times
        if column_type == "binary":
            return binaries
        return python_values

    def unix_seconds(self, column: pa.ChunkedArray) -> list[Any]:
        """A timestamp column as Unix seconds, rounded down."""
        kind = column.type
        if not pa.types.is_timestamp(kind):
            return python_values(column)
        if kind.tz is not None:
            column = column.cast(pa.timestamp(kind.unit))  # the point in time as UTC wall time
        seconds = pc.floor_temporal(column, unit="second").cast(pa.timestamp("s"))
        if kind.tz is not None or self.in_utc:
            return seconds.cast(pa.int64()).to_pylist()
        naive_seconds = self.rules.datetime_seconds
        return [None if value is None else naive_seconds(value) for value in seconds.to_pylist()]

    def date_seconds(self, column: pa.ChunkedArray) -> list[Any]:
        """A date column as Unix seconds of each date's midnight in the sync's time zone."""
        if not pa.types.is_date(column.type):
            return python_values(column)
        if self.in_utc:
            days = column.cast(pa.date32()).cast(pa.int32()).cast(pa.int64())
            return pc.multiply(days, SECONDS_PER_DAY).to_pylist()
        midnight_seconds = self.rules.date_seconds
        return [None if value is None else midnight_seconds(value) for value in column.to_pylist()]


def python_values(column: pa.ChunkedArray) -> list[Any]:
    """The column's values as Python objects."""
    return column.to_pylist()


def integers(column: pa.ChunkedArray) -> list[Any]:
    """A NUMBER of scale 0 as Python integers (Snowflake sends wide ones as ``decimal128(38, 0)``)."""
    if pa.types.is_decimal(column.type):
        return [None if value is None else int(value) for value in column.to_pylist()]
    return column.to_pylist()


def binaries(column: pa.ChunkedArray) -> list[Any]:
    """A BINARY column: each value fails its row (NULL stays NULL); the bytes are never made."""
    return [None if null else BINARY_REFUSED for null in column.is_null().to_pylist()]


def times(column: pa.ChunkedArray) -> list[Any]:
    """A TIME column as ``datetime.time`` (microseconds; Python's time has no nanoseconds)."""
    if pa.types.is_time(column.type):
        column = column.cast(pa.time64("us"), safe=False)
    return column.to_pylist()
