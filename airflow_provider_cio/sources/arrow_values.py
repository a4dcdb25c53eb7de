"""The Arrow columns of a result as the values the sync sends: the conversion the Arrow readers share
(Snowflake's ``fetch_arrow_batches``, DuckDB's ``to_arrow_reader``; docs/sources.md, their contracts).

A reader hands over its result as Arrow tables (or record batches); this converts a block of them a column at
a time, by the column's neutral type:

- ``datetime`` (a naive timestamp) and ``instant`` (an aware one): Unix seconds, rounded down. An aware Arrow
  timestamp is a point in time; a naive one is read in the sync's time zone, as a MySQL ``DATETIME`` is. In UTC
  the whole column is converted in Arrow;
- ``date``: Unix seconds of the date's midnight in the sync's time zone;
- an infinite date or timestamp (DuckDB's ``infinity``, ``-infinity``) fails its row (``invalid_value``);
- ``decimal``: text with every digit, as the value rules write a ``Decimal``, made in Arrow;
- ``integer``: Python integers, also when the column arrives as a decimal of scale 0 (Snowflake's wide
  NUMBER, DuckDB's HUGEINT);
- ``time``: ``datetime.time`` (nanoseconds dropped) and, for an Arrow interval, ``datetime.timedelta``: the
  value rules send both as text;
- ``binary``: each value flagged as unsendable with the reader's advice (:attr:`ArrowValues.binary_refused`);
  the bytes are never made;
- any other: the Python values of the column (a map as a ``dict``), which the value rules convert.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc

from airflow_provider_cio.sync.account.outcomes import BINARY_VALUE, INVALID_VALUE
from airflow_provider_cio.sync.convert.column_types import ColumnType, SourceColumn
from airflow_provider_cio.sync.convert.values import UTC, Unsendable, ValueRules

SECONDS_PER_DAY = 86_400
INT64_MAX = 2**63 - 1
INT32_MAX = 2**31 - 1
INFINITE = Unsendable(
    INVALID_VALUE, "holds an infinite date or time, which cannot be sent; turn it into NULL or a date in the query"
)
DAYS_PER_MONTH = 30
"""An interval's month as days, as DuckDB's own Python conversion counts it."""


class ArrowValues:
    """Converts the Arrow tables of one result, a block at a time.

    A reader subclasses it to give its own advice for binary values (:attr:`binary_refused`).

    :param columns: the result's columns in neutral types, in the order of the tables' columns.
    :param rules: the sync's value rules (its time zone reads naive timestamps and dates).
    """

    binary_refused: ClassVar[Unsendable] = Unsendable(BINARY_VALUE, "holds binary data; convert it in the query")
    """What a binary value's row fails with."""

    def __init__(self, columns: Sequence[SourceColumn], rules: ValueRules) -> None:
        self.rules = rules
        self.in_utc = rules.timezone is UTC
        self._converters = [self._converter(column.type) for column in columns]

    def columns(self, tables: Sequence[pa.Table | pa.RecordBatch]) -> list[Sequence[Any]]:
        """The values of each column over ``tables`` (slices of the result's batches, in order)."""
        if len(tables) == 1:  # the usual block: one slice of one batch
            pairs = zip(self._converters, tables[0].columns, strict=True)
            return [convert(column) for convert, column in pairs]
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
        if column_type == "decimal":
            return decimal_texts
        if column_type == "time":
            return times
        if column_type == "binary":
            return self.binaries
        return python_values

    def unix_seconds(self, column: pa.ChunkedArray) -> list[Any]:
        """A timestamp column as Unix seconds, rounded down."""
        kind = column.type
        if not pa.types.is_timestamp(kind):
            return python_values(column)
        infinite = infinities(column.cast(pa.int64()), INT64_MAX)
        if infinite is not None:
            return refused_where(self.unix_seconds(pc.if_else(infinite, pa.scalar(None, kind), column)), infinite)
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
        infinite = infinities(column.cast(pa.date32()).cast(pa.int32()), INT32_MAX)
        if infinite is not None:
            nulled = pc.if_else(infinite, pa.scalar(None, column.type), column)
            return refused_where(self.date_seconds(nulled), infinite)
        if self.in_utc:
            days = column.cast(pa.date32()).cast(pa.int32()).cast(pa.int64())
            return pc.multiply(days, SECONDS_PER_DAY).to_pylist()
        midnight_seconds = self.rules.date_seconds
        return [None if value is None else midnight_seconds(value) for value in column.to_pylist()]

    def binaries(self, column: pa.ChunkedArray) -> list[Any]:
        """A binary column: each value fails its row (NULL stays NULL); the bytes are never made."""
        refused = self.binary_refused
        return [None if null else refused for null in column.is_null().to_pylist()]


def infinities(raw: pa.ChunkedArray, largest: int) -> pa.ChunkedArray | None:
    """Where a date or timestamp column (given as its integers) holds an infinity, as DuckDB stores ``infinity``
    and ``-infinity`` (the largest and smallest values of the storage); None when it holds none."""
    infinite = pc.or_(pc.greater_equal(raw, largest), pc.less_equal(raw, -largest))
    return infinite if pc.any(infinite).as_py() else None


def refused_where(values: list[Any], infinite: pa.ChunkedArray) -> list[Any]:
    """``values`` with each infinity flagged as unsendable (its row fails)."""
    return [INFINITE if flag else value for value, flag in zip(values, infinite.to_pylist(), strict=True)]


def python_values(column: pa.ChunkedArray) -> list[Any]:
    """The column's values as Python objects; a map (also one nested in a list or struct) as a ``dict``."""
    if pa.types.is_nested(column.type):
        return column.to_pylist(maps_as_pydicts="lossy")
    return column.to_pylist()  # several times faster than with maps_as_pydicts, even without a map


def integers(column: pa.ChunkedArray) -> list[Any]:
    """An integer column as Python integers (a decimal of scale 0, as wide integers arrive, too)."""
    if pa.types.is_decimal(column.type):
        return [None if value is None else int(value) for value in column.to_pylist()]
    return column.to_pylist()


def decimal_texts(column: pa.ChunkedArray) -> list[Any]:
    """A decimal column as text with every digit in plain notation (never ``1E-10``), as the value rules write a
    ``Decimal``: made in Arrow, without a ``Decimal`` object per value."""
    if not pa.types.is_decimal(column.type):
        return python_values(column)
    texts = column.cast(pa.string())
    if not pc.any(pc.match_substring(texts, "E")).as_py():
        return texts.to_pylist()
    return [text if text is None or "E" not in text else format(Decimal(text), "f") for text in texts.to_pylist()]


def times(column: pa.ChunkedArray) -> list[Any]:
    """A time column as ``datetime.time`` (microseconds; Python's time has no nanoseconds), an interval column
    as ``datetime.timedelta`` (a month as 30 days)."""
    kind = column.type
    if pa.types.is_time(kind):
        column = column.cast(pa.time64("us"), safe=False)
    elif kind == pa.month_day_nano_interval():
        return [None if value is None else duration(*value) for value in column.to_pylist()]
    return column.to_pylist()


def duration(months: int, days: int, nanoseconds: int) -> dt.timedelta:
    """An Arrow month-day-nanosecond interval as a ``timedelta`` (microseconds; a month as 30 days)."""
    return dt.timedelta(days=months * DAYS_PER_MONTH + days, microseconds=nanoseconds // 1000)
