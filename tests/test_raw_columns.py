"""Dates, times and decimals converted a column of a block at a time give exactly what the driver gives.

The sync reads these values as the server's text and converts whole columns (``sync/convert/server_text.py``).
Each test reads the same real MySQL rows twice, raw and through the driver's per-value converters, and
compares every value; a column the block conversion cannot take whole must still come out the same.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import MySQLdb.cursors
import pytest
from MySQLdb.converters import conversions

from airflow_provider_cio.sources.mysql.column_types import driver_converters, mysql_columns, raw_reads
from airflow_provider_cio.sync.convert.server_text import WHOLE_COLUMN_ROWS, RawColumns, utc_seconds
from airflow_provider_cio.sync.convert.values import InvalidDate, ValueRules

TYPES = "at DATETIME, fine DATETIME(6), moment TIMESTAMP NULL, day DATE, price DECIMAL(40,10), span TIME, yr YEAR"


def read(mysql_db, sql: str, converters: dict[int, Any]) -> tuple[tuple, list[tuple]]:
    """The description and rows of ``sql`` read with the driver's defaults and ``converters`` on top."""
    connection = mysql_db.server.connect(mysql_db.name, conv={**conversions, **converters})
    try:
        cursor = connection.cursor(MySQLdb.cursors.SSCursor)
        cursor.execute("SET SESSION time_zone = '+00:00'")
        cursor.execute(sql)
        return cursor.description, list(cursor.fetchall())
    finally:
        connection.close()


def comparable(column: list[Any]) -> list[Any]:
    """Values with each ``InvalidDate`` as its text (it has no equality of its own)."""
    return [("InvalidDate", value.text) if isinstance(value, InvalidDate) else value for value in column]


def converted_both_ways(mysql_db, sql: str, timezone: str = "UTC") -> tuple[list[list[Any]], list[list[Any]]]:
    """Every column of ``sql``: converted a block at a time from the raw read, and by the driver as it read."""
    rules = ValueRules(timezone)
    description, raw_rows = read(mysql_db, sql, raw_reads(rules.text_converters()))
    _, driver_rows = read(mysql_db, sql, driver_converters(rules.text_converters()))
    raw = RawColumns.for_columns(mysql_columns(description, rules.text_converters()), rules)
    assert raw is not None
    by_block = [comparable(list(column)) for column in raw.columns(raw_rows)]
    by_driver = [comparable(list(column)) for column in zip(*driver_rows, strict=True)]
    return by_block, by_driver


def random_moment(rng: random.Random, first_year: int, last_year: int) -> dt.datetime:
    """A moment between the first second of ``first_year`` and the last of ``last_year``."""
    start = dt.datetime(first_year, 1, 1)
    span = (dt.datetime(last_year, 12, 31, 23, 59, 59) - start).total_seconds()
    return start + dt.timedelta(seconds=rng.randrange(int(span)), microseconds=rng.randrange(1_000_000))


def test_valid_dates_over_mysqls_whole_range_convert_as_whole_columns_to_the_drivers_values(mysql_db) -> None:
    rng = random.Random(7)
    mysql_db.execute(f"CREATE TABLE t (n INT PRIMARY KEY, {TYPES})")
    edges = [
        dt.datetime(1000, 1, 1),
        dt.datetime(9999, 12, 31, 23, 59, 59, 999999),
        dt.datetime(1969, 12, 31, 23, 59, 59),
    ]
    edges += [dt.datetime(year, 2, 29, 12) for year in (1600, 2000, 2024, 2400)]
    moments = edges + [random_moment(rng, 1000, 9999) for _ in range(2000)]
    rows = []
    for n, moment in enumerate(moments):
        stamp = random_moment(rng, 1971, 2037)  # TIMESTAMP's range
        rows.append({
            "n": n, "at": moment, "fine": moment, "moment": stamp, "day": moment.date(),
            "price": f"{rng.randrange(-10**12, 10**12)}.{rng.randrange(10**10):010d}",
            "span": f"{rng.randrange(-838, 839)}:{rng.randrange(60):02d}:{rng.randrange(60):02d}",
            "yr": rng.randrange(1901, 2156),
        })  # fmt: skip
    mysql_db.insert("t", rows)
    sql = "SELECT * FROM t ORDER BY n"
    by_block, by_driver = converted_both_ways(mysql_db, sql)
    assert by_block == by_driver
    _, raw_rows = read(mysql_db, sql, raw_reads(ValueRules().text_converters()))
    for index in (1, 2, 3, 4):  # at, fine, moment, day
        assert utc_seconds([row[index] for row in raw_rows]) is not None, "whole columns took the numpy path"


@pytest.mark.parametrize(
    "values",
    [
        [("'0000-00-00 00:00:00'", "'2024-01-01'", "NULL"), ("'2024-01-01 00:00:00'", "'0000-00-00'", "NULL")],
        [("'2024-00-10 00:00:00'", "'2024-02-00'", "NULL"), ("'2024-01-01 00:00:00'", "'2024-01-01'", "NULL")],
        [("NULL", "NULL", "NULL"), ("'2024-02-29 23:59:59'", "'2023-03-01'", "'2038-01-19 03:14:07'")],
        [("NULL", "NULL", "NULL")],
    ],
    ids=["zero dates", "zero month or day", "some NULL", "only NULL"],
)
def test_zero_dates_and_nulls_come_out_as_the_driver_makes_them(mysql_db, values: list[tuple[str, ...]]) -> None:
    rows = [values[n % len(values)] for n in range(2 * WHOLE_COLUMN_ROWS)]  # a block the column path is tried on
    mysql_db.execute(
        "SET SESSION sql_mode = ''",
        "CREATE TABLE t (n INT PRIMARY KEY, at DATETIME, day DATE, moment TIMESTAMP NULL)",
        "INSERT INTO t VALUES " + ", ".join(f"({n}, {', '.join(row)})" for n, row in enumerate(rows)),
    )
    by_block, by_driver = converted_both_ways(mysql_db, "SELECT * FROM t ORDER BY n")
    assert by_block == by_driver


def test_a_few_rows_are_converted_value_by_value_to_the_same_values(mysql_db) -> None:
    """A mirror sync hands over its changed rows a run at a time, often one row: no numpy for those."""
    mysql_db.execute(
        f"CREATE TABLE t (n INT PRIMARY KEY, {TYPES})",
        "INSERT INTO t VALUES (1, '2024-01-02 03:04:05', '2024-01-02 03:04:05.5', '2024-01-02 03:04:05', "
        "'2024-01-02', 1.50, '01:02:03', 2024)",
    )
    by_block, by_driver = converted_both_ways(mysql_db, "SELECT * FROM t")
    assert by_block == by_driver


def test_a_time_zone_other_than_utc_converts_value_by_value_to_the_same_values(mysql_db) -> None:
    mysql_db.execute(
        "CREATE TABLE t (n INT PRIMARY KEY, at DATETIME, day DATE, moment TIMESTAMP NULL)",
        "INSERT INTO t VALUES (1, '2024-07-01 12:00:00', '2024-03-31', '2024-07-01 10:00:00'), "
        "(2, '2024-10-27 02:30:00', '2024-10-27', '2024-10-27 01:30:00')",
    )
    by_block, by_driver = converted_both_ways(mysql_db, "SELECT * FROM t ORDER BY n", timezone="Europe/Paris")
    assert by_block == by_driver


def test_calendar_mistakes_are_never_taken_by_the_column_path() -> None:
    """Values MySQL would not send, checked without it: each must fall back to the per-value converter."""
    for column in (
        [b"2023-02-29 00:00:00"],  # not a leap year
        [b"1900-02-29"],  # not a leap year either (a century)
        [b"2024-04-31 00:00:00"],
        [b"2024-01-01 24:00:00"],
        [b"2024-01-01 00:60:00"],
        [b"2024-01-01 00:00:60"],
        [b"0000-01-01 00:00:00"],  # year 0
        [b"2024-01-01T00:00:00"],
        [b"2024-01-01 00:00:00", b"2024-01-01 00:00:0"],  # lengths differ
        [b"2024-01-01 00:00:00\n2024-01-01 00:00:0", b""],
        [b"2024-1-01 00:00:00"],
        ["2024-01-01 00:00:00"],  # text, not bytes: the driver converter takes it
    ):
        assert utc_seconds(column) is None, column
    assert utc_seconds([b"2024-02-29 23:59:59.25", None, b"1969-12-31 23:59:59.75"]) == [1709251199, None, -1]
