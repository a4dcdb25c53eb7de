"""The DuckDB source (``sources/duck/``): a real DuckDB file read through ``SQLReverseETLOperator(conn_id=...)``
in Arrow record batches, real DagRuns, the emulator over HTTP. The values every reader of DuckDB sends are in
``tests/test_sql_sources.py``; here, those the Arrow form needs care for, and the cancel on timeout."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import duckdb
import pytest

from airflow_provider_cio.operators.sql import SQLReverseETLOperator
from airflow_provider_cio.sources.duck.source import DuckDBSource
from airflow_provider_cio.sources.registry import source_for
from tests.test_sql_sources import connection, run_sync

pytestmark = pytest.mark.usefixtures("airflow_db")

VALUES = """
CREATE TABLE people AS SELECT
    1 AS id, INTERVAL '1 month 2 days 3 hours' AS trial, TIME '01:02:03.5' AS opens,
    TIMETZ '01:02:03+02' AS opens_tz, MAP(['a', 'b'], [1, 2]) AS scores, [MAP(['x'], ['y'])] AS maps,
    '{"x": 1}'::JSON AS doc, 123::HUGEINT AS big, 'gold'::ENUM('gold', 'tin') AS tier,
    [1, 2]::INTEGER[2] AS pair, '101'::BIT AS flags, TIMESTAMP '2024-07-01 12:00:00' AS seen,
    DATE '2024-07-01' AS born, TIMESTAMP_NS '2024-07-01 12:00:00.999999999' AS seen_ns
UNION ALL SELECT 2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
"""


def duckdb_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sql: str) -> str:
    path = tmp_path / "values.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(sql)
    connection(monkeypatch, "values_duckdb", "duckdb", str(path))
    return "values_duckdb"


def test_a_duckdb_connection_gets_the_duckdb_source(tmp_path, monkeypatch) -> None:
    conn_id = duckdb_file(tmp_path, monkeypatch, "CREATE TABLE people AS SELECT 1 AS id")

    source = source_for(conn_id)

    assert isinstance(source, DuckDBSource) and source.name == "DuckDB connection 'values_duckdb'"


def test_values_the_arrow_form_needs_care_for(tmp_path, monkeypatch, workspace, capfd) -> None:
    """An INTERVAL and a TIME as text, a MAP as an object, JSON as its text, a naive TIMESTAMP and a DATE read in
    the operator's timezone; a row of NULLs sends none of them."""
    conn_id = duckdb_file(tmp_path, monkeypatch, VALUES)

    state, report, _ = run_sync(
        SQLReverseETLOperator,
        capfd=capfd,
        sql="SELECT * FROM people ORDER BY id",
        conn_id=conn_id,
        timezone="America/New_York",
    )

    assert state == "success", report
    new_york = dt.timezone(dt.timedelta(hours=-4))  # summer time
    assert workspace.person(id="1")["attributes"] == {
        "trial": "771:00:00",  # as DuckDB's fetchmany hands it over: a month is 30 days
        "opens": "01:02:03.500000",
        "opens_tz": "01:02:03+02",
        "scores": {"a": 1, "b": 2},
        "maps": [{"x": "y"}],
        "doc": '{"x": 1}',
        "big": "123",
        "tier": "gold",
        "pair": [1, 2],
        "flags": "101",
        "seen": str(int(dt.datetime(2024, 7, 1, 12, tzinfo=new_york).timestamp())),
        "born": str(int(dt.datetime(2024, 7, 1, tzinfo=new_york).timestamp())),
        "seen_ns": str(int(dt.datetime(2024, 7, 1, 12, tzinfo=new_york).timestamp())),
    }
    assert workspace.person(id="2")["attributes"] == {}


def test_a_blob_fails_its_row_with_advice(tmp_path, monkeypatch, workspace, capfd) -> None:
    conn_id = duckdb_file(
        tmp_path, monkeypatch, "CREATE TABLE people AS SELECT 1 AS id, 'a'::BLOB AS photo UNION ALL SELECT 2, NULL"
    )

    state, report, _ = run_sync(SQLReverseETLOperator, capfd=capfd, sql="SELECT * FROM people", conn_id=conn_id)

    assert state == "failed"  # a failed row fails the task, after the other rows were sent
    assert report["rows_sent"] == 1 and report["errors_by_type"] == {"binary_value": 1}
    failures = Path(report["error_report"].removeprefix("file://")).read_text()
    assert "holds binary data (BLOB); convert it in the query, e.g. HEX(col) or TO_BASE64(col)" in failures
    assert workspace.person(id="2") is not None and workspace.person(id="1") is None


def test_execution_timeout_interrupts_the_duckdb_query(tmp_path, monkeypatch, workspace, capfd) -> None:
    """The task's timeout interrupts the query the Arrow reader runs: no call thread is left once the task
    failed (an uninterrupted query would keep its thread for hours)."""
    conn_id = duckdb_file(tmp_path, monkeypatch, "CREATE TABLE people AS SELECT 1 AS id")

    state, _, _ = run_sync(
        SQLReverseETLOperator,
        capfd=capfd,
        sql="SELECT 1 AS id, sum(hash(range)) AS n FROM range(1000000000000)",
        conn_id=conn_id,
        execution_timeout=dt.timedelta(seconds=2),
    )

    assert state == "failed" and workspace.people() == []
    assert [thread.name for thread in threading.enumerate() if thread.name == "cio-duckdb-call"] == []
