"""Dates, times and decimals read as the server's text, converted a column of a block at a time.

A driver can convert each ``datetime``, ``instant``, ``date``, ``decimal``, ``time`` and ``year`` value as
it reads it (``ValueRules.text_converters``), but a Python call per value costs more than reading the row
at all. So the sync offers the source to take these values as the bytes the server sent (MySQL's source
does: ``sources/mysql/column_types.py``), the source marks the columns it left so
(``SourceColumn.server_text``), and they are converted here, per block of rows:

- a column of ``YYYY-MM-DD HH:MM:SS[.ffffff]`` (or ``YYYY-MM-DD``) values read in UTC becomes Unix
  seconds in a few numpy operations over the whole column;
- a decimal, time or year column becomes text with one decode of the whole column.

Any column these cannot take whole (a zero date such as ``0000-00-00``, values of different lengths, a
time zone other than UTC, a block of fewer than 128 rows) is converted value by value with the driver
converter it replaces, so every value is exactly what the driver would have made of it
(``tests/test_raw_columns.py`` compares them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from airflow_provider_cio.sync.account.outcomes import RowError
from airflow_provider_cio.sync.blocks import Block
from airflow_provider_cio.sync.convert.column_types import SourceColumn
from airflow_provider_cio.sync.convert.values import ValueRules, text, utc_text_seconds
from airflow_provider_cio.sync.records.encoded import Op
from airflow_provider_cio.sync.records.ops import OpBuilder
from airflow_provider_cio.sync.records.wrapping import WrappingBuilder

TextConverter = Callable[[Any], Any]
RAW_TYPES = (bytes, bytearray, memoryview, str)
WHOLE_COLUMN_ROWS = 128
"""Fewer rows are converted value by value: numpy's fixed cost per column is that of about 100 values (a
mirror sync builds its changed rows a run of consecutive rows at a time, often one row)."""
DATE_DIGITS = np.array([0, 1, 2, 3, 5, 6, 8, 9])
"""Positions of the digits of ``YYYY-MM-DD``; those of ``HH:MM:SS`` follow at 11, 12, 14, 15, 17, 18."""
TIME_DIGITS = np.array([11, 12, 14, 15, 17, 18])
DATE_SEPARATORS, TIME_SEPARATORS = np.array([4, 7]), np.array([10, 13, 16])
DATE_SEPARATOR_BYTES, TIME_SEPARATOR_BYTES = np.frombuffer(b"--", np.uint8), np.frombuffer(b" ::", np.uint8)
TIME_WEIGHTS = np.array([3600, 60, 1])
LAST_YEAR = 9999


def month_tables() -> tuple[np.ndarray, np.ndarray]:
    """For each month from January of year 0 to December 9999 (index ``year * 12 + month - 1``): its days,
    and the days from 1970-01-01 to its first day."""
    years = np.arange(LAST_YEAR + 1)
    leap = (years % 4 == 0) & ((years % 100 != 0) | (years % 400 == 0))
    days = np.tile(np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]), (len(years), 1))
    days[:, 1] += leap
    days_in_month = days.ravel()
    first_days = np.concatenate([[0], np.cumsum(days_in_month)[:-1]])
    return days_in_month, first_days - first_days[1970 * 12]


DAYS_IN_MONTH, FIRST_DAY = month_tables()


class RawColumns:
    """Converts the columns a driver left raw, a block at a time.

    :param converters: per column position, the driver converter left out (from
        ``ValueRules.text_converters``); it converts the values the block conversion cannot take, and
        every value of a column it has no block conversion for (dates in a zone other than UTC).
    """

    def __init__(self, converters: dict[int, TextConverter]) -> None:
        self.converters = converters
        self.whole_column = {
            index: BLOCK_CONVERSIONS[convert] for index, convert in converters.items() if convert in BLOCK_CONVERSIONS
        }

    @classmethod
    def for_columns(cls, columns: Sequence[SourceColumn], values: ValueRules) -> RawColumns | None:
        """The conversion of the columns that arrive as the server's text, by their neutral types; None when
        no column does."""
        text_converters = values.text_converters()
        converters = {
            index: text_converters[column.type]
            for index, column in enumerate(columns)
            if column.server_text and column.type in text_converters
        }
        return cls(converters) if converters else None

    def columns(self, rows: Sequence[Sequence[Any]]) -> list[Sequence[Any]]:
        """The columns of a block of rows (``columns[i]``: the values of column ``i``), converted."""
        columns: list[Sequence[Any]] = list(zip(*rows, strict=True))
        few = len(rows) < WHOLE_COLUMN_ROWS
        for index, convert in self.converters.items():
            column = columns[index]
            whole = None if few else self.whole_column.get(index)
            converted = whole(column) if whole is not None else None
            columns[index] = converted if converted is not None else one_by_one(column, convert)
        return columns


def one_by_one(column: Sequence[Any], convert: TextConverter) -> list[Any]:
    """Each value the driver left raw (text or bytes) through its converter; NULL and objects as they are."""
    return [convert(value) if isinstance(value, RAW_TYPES) else value for value in column]


def non_null(column: Sequence[Any]) -> tuple[Sequence[Any], list[int] | None]:
    """The values of a column that are not NULL, with their positions (None: every value)."""
    if None not in column:
        return column, None
    positions = [position for position, value in enumerate(column) if value is not None]
    return [column[position] for position in positions], positions


def placed(column: Sequence[Any], converted: list[Any], positions: list[int] | None) -> list[Any]:
    """``converted`` values of the non-NULL positions put back among the column's NULLs."""
    if positions is None:
        return converted
    values = [None] * len(column)
    for position, value in zip(positions, converted, strict=True):
        values[position] = value
    return values


def decoded(column: Sequence[Any]) -> list[Any] | None:
    """A column of ASCII text values (``DECIMAL``, ``TIME``, ``YEAR``) as ``str``; None if it holds anything else."""
    present, positions = non_null(column)
    if not present:
        return list(column)
    try:
        joined = b"\n".join(present)
    except TypeError:  # not bytes: the driver was not asked to leave the values raw
        return None
    if not joined.isascii() or joined.count(b"\n") != len(present) - 1:
        return None
    return placed(column, joined.decode("ascii").split("\n"), positions)


def utc_seconds(column: Sequence[Any]) -> list[Any] | None:
    """A column of ``YYYY-MM-DD HH:MM:SS[...]`` (or ``YYYY-MM-DD``) values as Unix seconds, read in UTC,
    rounded down (anything after the seconds is left out, as the driver converter does).

    None when a value is not such a date and time on the calendar (a zero date, another format): then
    the driver converter decides, value by value, exactly as it would have.
    """
    present, positions = non_null(column)
    if not present:
        return list(column)
    try:
        grid = fixed_width(present)
    except TypeError:  # not bytes: the driver was not asked to leave the values raw
        return None
    if grid is None or (grid.shape[1] != 10 and grid.shape[1] < 19):
        return None
    seconds = grid_seconds(grid)
    return None if seconds is None else placed(column, seconds.tolist(), positions)


def fixed_width(values: Sequence[bytes]) -> np.ndarray | None:
    """Values of the same length as the rows of a byte matrix; None when their lengths differ.

    They are joined with line breaks: when the breaks are exactly the joins and fall every ``length + 1``
    bytes, every value has that length.
    """
    count, length = len(values), len(values[0])
    joined = b"\n".join(values) + b"\n"
    if len(joined) != count * (length + 1) or joined.count(b"\n") != count:
        return None
    grid = np.frombuffer(joined, dtype=np.uint8).reshape(count, length + 1)
    return grid[:, :length] if (grid[:, length] == ord("\n")).all() else None


def grid_seconds(grid: np.ndarray) -> np.ndarray | None:
    """Unix seconds of the rows of ``grid`` (each a date ``YYYY-MM-DD``, with `` HH:MM:SS`` after it when
    the rows are 19 bytes or more), or None when one is no valid date and time."""
    with_time = grid.shape[1] >= 19
    if not (grid[:, DATE_SEPARATORS] == DATE_SEPARATOR_BYTES).all():
        return None
    if with_time and not (grid[:, TIME_SEPARATORS] == TIME_SEPARATOR_BYTES).all():
        return None
    digits = grid[:, np.concatenate([DATE_DIGITS, TIME_DIGITS]) if with_time else DATE_DIGITS] - np.uint8(ord("0"))
    if digits.max() > 9:  # below "0" wraps around to over 9
        return None
    pairs = digits[:, 0::2].astype(np.int64) * 10 + digits[:, 1::2]
    lowest, highest = pairs.min(axis=0), pairs.max(axis=0)
    if lowest[2] < 1 or highest[2] > 12 or lowest[3] < 1:  # month, day
        return None
    if with_time and (highest[4] > 23 or highest[5] > 59 or highest[6] > 59):
        return None
    month = (pairs[:, 0] * 100 + pairs[:, 1]) * 12 + pairs[:, 2] - 1
    day = pairs[:, 3]
    if (month < 12).any():  # in year 0, which Python's dates do not have
        return None
    if highest[3] > 28 and (day > DAYS_IN_MONTH[month]).any():
        return None
    seconds: np.ndarray = (FIRST_DAY[month] + day - 1) * 86400
    return seconds + pairs[:, 4:7] @ TIME_WEIGHTS if with_time else seconds


class ConvertingBuilder(WrappingBuilder):
    """An op builder that converts the raw columns of each block before its inner builder reads it.

    :param inner: the builder of the query's import type.
    :param raw: the conversion of the columns the driver left raw.
    """

    def __init__(self, inner: OpBuilder, raw: RawColumns) -> None:
        super().__init__(inner)
        self.raw = raw

    def build(self, rows: Sequence[Sequence[Any]], first_row: int) -> Iterable[Op | RowError]:
        """The inner builder's ops and row errors for the block, its raw values converted."""
        return self.inner.build(Block(self.raw.columns(rows)), first_row) if rows else iter(())


BLOCK_CONVERSIONS: dict[TextConverter, Callable[[Sequence[Any]], list[Any] | None]] = {
    utc_text_seconds: utc_seconds,
    text: decoded,
}
"""The whole-column conversion of each driver converter that has one."""
