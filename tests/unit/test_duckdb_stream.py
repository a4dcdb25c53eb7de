"""The DuckDB source's stream on a real in-memory DuckDB: the result read one Arrow record batch at a time as
the sync asks for rows, the column types, the types read as DuckDB's text, and the Arrow conversions DuckDB's
types need (intervals, maps, decimals in plain notation)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from airflow_provider_cio.sources.arrow_values import decimal_texts, python_values, times
from airflow_provider_cio.sources.duck.stream import DuckDBQueryStream
from airflow_provider_cio.sync.account.outcomes import RowRefused
from airflow_provider_cio.sync.blocks import Block
from airflow_provider_cio.sync.convert.columns import QueryError
from airflow_provider_cio.sync.convert.values import ValueRules

NAME = "DuckDB connection 'analytics'"


class CountingReader:
    """A record batch reader that counts the batches taken from it."""

    def __init__(self, reader: Any) -> None:
        self.reader = reader
        self.reads = 0

    def read_next_batch(self) -> pa.RecordBatch:
        self.reads += 1
        return self.reader.read_next_batch()

    def close(self) -> None:
        self.reader.close()


def stream_on(con: duckdb.DuckDBPyConnection, batch_rows: int = 5000) -> DuckDBQueryStream:
    return DuckDBQueryStream(lambda: con, NAME, batch_rows=batch_rows)


@pytest.mark.timeout(60)
def test_batches_are_read_one_at_a_time_as_rows_are_asked_for() -> None:
    """A result of 10^12 rows: reading it whole would never end; the first rows come from the first batches."""
    stream = stream_on(duckdb.connect(), batch_rows=1000)
    cursor = stream.execute("SELECT range AS id FROM range(1000000000000)")
    reader = stream.reader = CountingReader(stream.reader)
    try:
        first = cursor.fetchmany(2500)
        assert isinstance(first, Block) and first.columns == [list(range(2500))]
        assert reader.reads == 3  # 1000 + 1000 + 500 of the third
        second = cursor.fetchmany(500)
        assert isinstance(second, Block) and second.columns == [list(range(2500, 3000))]
        assert reader.reads == 3
    finally:
        stream.close(finished=False)
    assert stream.connection is None


def test_the_end_of_the_result_is_an_empty_list() -> None:
    stream = stream_on(duckdb.connect(), batch_rows=2)
    cursor = stream.execute("SELECT range AS id FROM range(3)")
    blocks = [cursor.fetchmany(2), cursor.fetchmany(2), cursor.fetchmany(2)]
    stream.close(finished=True)

    assert [block.columns if isinstance(block, Block) else block for block in blocks] == [[[0, 1]], [[2]], []]


def test_columns_are_described_in_neutral_types() -> None:
    stream = stream_on(duckdb.connect())
    sql = (
        "SELECT 1::HUGEINT AS a, 1.5::DECIMAL(4, 1) AS b, TRUE AS c, 'x' AS d, '{}'::JSON AS e, "
        "DATE '2024-01-01' AS f, "
        "TIMESTAMP '2024-01-01' AS g, TIMESTAMPTZ '2024-01-01 00:00:00+00' AS h, TIME '01:00' AS i, "
        "INTERVAL 1 DAY AS j, [1] AS k, {'x': 1} AS l, MAP([1], [2]) AS m, 'a'::BLOB AS n, NULL AS o"
    )
    cursor = stream.execute(sql)
    stream.close(finished=False)

    assert [(column.name, column.type) for column in cursor.columns] == [
        ("a", "integer"),
        ("b", "decimal"),
        ("c", "boolean"),
        ("d", "text"),
        ("e", "text"),
        ("f", "date"),
        ("g", "datetime"),
        ("h", "instant"),
        ("i", "time"),
        ("j", "time"),
        ("k", "nested"),
        ("l", "nested"),
        ("m", "nested"),
        ("n", "binary"),
        ("o", "other"),
    ]
    assert [row[:2] for row in cursor.description][:2] == [("a", "HUGEINT"), ("b", "DECIMAL(4,1)")]


def test_types_whose_arrow_form_loses_the_value_are_read_as_duckdb_text() -> None:
    """TIME WITH TIME ZONE, BIT and BIGNUM as DuckDB writes them; each column keeps its name and place, also
    when two share a name or a name holds a quote."""
    stream = stream_on(duckdb.connect())
    cursor = stream.execute(
        'SELECT 1 AS id, TIMETZ \'01:02:03+02\' AS t, \'101\'::BIT AS id, 123::BIGNUM AS "say ""hi"""'
    )
    block = cursor.fetchmany(10)
    stream.close(finished=True)

    assert [column.name for column in cursor.columns] == ["id", "t", "id", 'say "hi"']
    assert isinstance(block, Block) and block.columns == [[1], ["01:02:03+02"], ["101"], ["123"]]


def test_a_statement_the_check_refuses_never_reaches_duckdb() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE people (id INTEGER)")
    stream = stream_on(con)

    with pytest.raises(QueryError, match=r"\(DuckDB connection 'analytics'\)"):
        stream.execute("INSERT INTO people VALUES (1)")
    assert stream.connection is None
    assert con.execute("SELECT count(*) FROM people").fetchone() == (0,)


def test_decimals_keep_every_digit_in_plain_notation() -> None:
    values = [Decimal("0E-10"), Decimal("-0.0000000001"), Decimal("12345678901234567890123456.0123456789"), None]

    assert decimal_texts(pa.array(values, pa.decimal128(38, 10))) == [
        "0.0000000000",
        "-0.0000000001",
        "12345678901234567890123456.0123456789",
        None,
    ]


def test_an_interval_is_a_duration_with_a_month_of_30_days() -> None:
    con = duckdb.connect()
    sql = "SELECT * FROM (VALUES (INTERVAL '1 month 2 days 3 hours'), (INTERVAL '-1 day'), (NULL)) AS t(i)"
    column = con.sql(sql).to_arrow_table().column(0)

    assert times(column) == [dt.timedelta(days=32, hours=3), dt.timedelta(days=-1), None]
    assert times(column)[:2] == [row[0] for row in con.execute(sql).fetchall()[:2]]  # as fetchmany has them


def test_maps_are_objects_also_inside_lists_and_structs() -> None:
    con = duckdb.connect()
    table = con.sql("SELECT MAP(['a'], [1]) AS m, [MAP(['b'], [2])] AS l, {'s': MAP(['c'], [3])} AS s").to_arrow_table()

    assert [python_values(column) for column in table.columns] == [[{"a": 1}], [[{"b": 2}]], [{"s": {"c": 3}}]]


@pytest.mark.parametrize("timezone", ["UTC", "Asia/Kolkata"])
def test_an_infinite_date_or_timestamp_fails_its_row_and_only_it(timezone: str) -> None:
    """DuckDB's ``infinity`` and ``-infinity`` have no Unix seconds: each is flagged, the other values convert."""
    stream = DuckDBQueryStream(duckdb.connect, NAME, timezone=timezone)
    cursor = stream.execute(
        "SELECT * FROM (VALUES ('infinity'::TIMESTAMP, '-infinity'::TIMESTAMPTZ, 'infinity'::DATE), "
        "(TIMESTAMP '2024-01-01', TIMESTAMPTZ '2024-01-01 00:00:00+00', DATE '2024-01-01')) AS t(a, b, c)"
    )
    block = cursor.fetchmany(10)
    stream.close(finished=True)

    rules = ValueRules(timezone)
    naive = rules.datetime_seconds(dt.datetime(2024, 1, 1))
    assert isinstance(block, Block)
    assert [column[1] for column in block.columns] == [naive, 1704067200, naive]
    for column in block.columns:
        with pytest.raises(RowRefused, match="holds an infinite date or time") as refused:
            rules.by_python_type(column[0])
        assert refused.value.error_type == "invalid_value"
