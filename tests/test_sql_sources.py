"""SQLReverseETLOperator and SQLRelationshipOperator: one DAG, any SQL connection, by changing only ``conn_id``.

Real databases through their Airflow hooks (MySQL the session's server, SQLite and DuckDB files with
connection ``host`` = the file), real DagRuns, the emulator over HTTP.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

import duckdb
import pytest

from airflow_provider_cio.operators.sql import SQLRelationshipOperator, SQLReverseETLOperator
from airflow_provider_cio.testing.dagruns import run_dag

pytestmark = pytest.mark.usefixtures("airflow_db")

START = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
_dag_numbers = itertools.count(1)
_hours = itertools.count(1)

PEOPLE_ROWS = [(1, "ada@example.com", "pro", 5), (2, "grace@example.com", "free", 1), (3, None, "pro", 12)]
PEOPLE_SQL = "SELECT id, email, plan, seats FROM people ORDER BY id"
PEOPLE = {
    "1": ("ada@example.com", {"plan": "pro", "seats": "5"}),
    "2": ("grace@example.com", {"plan": "free", "seats": "1"}),
    "3": (None, {"plan": "pro", "seats": "12"}),
}


def connection(monkeypatch: pytest.MonkeyPatch, conn_id: str, conn_type: str, host: str) -> None:
    """An Airflow connection from the environment (``host`` = the database file for SQLite and DuckDB)."""
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": conn_type, "host": host}))


def run_sync(operator_class: type, *, capfd: pytest.CaptureFixture[str], **kwargs: Any) -> tuple[str, Any, str]:
    """One DagRun of a one-task DAG: the task's state, its report (XCom) and the task log."""
    from airflow.sdk import DAG

    if operator_class is SQLReverseETLOperator:
        kwargs.setdefault("activity_settle_seconds", 0)
    with DAG(f"sql_sync_{next(_dag_numbers)}", schedule=None, start_date=START, catchup=False) as dag:
        operator_class(task_id="sync", **kwargs)
    capfd.readouterr()
    outcome = run_dag(dag, START + dt.timedelta(hours=next(_hours)))
    captured = capfd.readouterr()
    return outcome.task_states["sync"], outcome.xcom("sync"), captured.out + captured.err


def sqlite_people(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    path = tmp_path / "people.sqlite"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE people (id INTEGER, email TEXT, plan TEXT, seats INTEGER)")
        con.executemany("INSERT INTO people VALUES (?, ?, ?, ?)", PEOPLE_ROWS)
    con.close()
    connection(monkeypatch, "people_sqlite", "sqlite", str(path))
    return "people_sqlite"


def duckdb_people(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    path = tmp_path / "people.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE people (id BIGINT, email VARCHAR, plan VARCHAR, seats INTEGER)")
        con.executemany("INSERT INTO people VALUES (?, ?, ?, ?)", PEOPLE_ROWS)
    connection(monkeypatch, "people_duckdb", "duckdb", str(path))
    return "people_duckdb"


def mysql_people(request: pytest.FixtureRequest) -> str:
    mysql_db = request.getfixturevalue("mysql_db")
    mysql_db.execute("CREATE TABLE people (id INT, email VARCHAR(200), plan VARCHAR(20), seats INT)")
    mysql_db.insert("people", [dict(zip(("id", "email", "plan", "seats"), row, strict=True)) for row in PEOPLE_ROWS])
    return "mysql_default"


@pytest.mark.parametrize("database", ["mysql", "sqlite", "duckdb"])
def test_the_same_people_dag_reads_mysql_sqlite_and_duckdb_by_conn_id(
    database, request, tmp_path, monkeypatch, workspace, capfd
) -> None:
    conn_id = {
        "mysql": lambda: mysql_people(request),
        "sqlite": lambda: sqlite_people(tmp_path, monkeypatch),
        "duckdb": lambda: duckdb_people(tmp_path, monkeypatch),
    }[database]()

    state, report, log = run_sync(SQLReverseETLOperator, capfd=capfd, sql=PEOPLE_SQL, conn_id=conn_id)

    assert state == "success", report
    assert {p["id"]: (p["email"], p["attributes"]) for p in workspace.people()} == PEOPLE
    assert report["rows_read"] == 3 and report["rows_sent"] == 3 and report["rows_failed"] == 0
    assert report["settings"]["source_conn_id"] == conn_id
    name = {"mysql": "MySQL", "sqlite": "SQLite", "duckdb": "DuckDB"}[database]
    assert f"{name} connection {conn_id!r}" in log


DUCKDB_VALUES = """
CREATE TABLE people AS SELECT
    1 AS id, TRUE AS active, 12345678901234567890123456.0123456789::DECIMAL(38,10) AS balance,
    TIMESTAMP '2024-01-02 03:04:05.9' AS seen, TIMESTAMPTZ '2024-01-02 03:04:05+02:00' AS seen_tz,
    DATE '1990-07-08' AS born, [1, 2, 3] AS tags, {'city': 'Oslo', 'floor': 3} AS address,
    '6f1c3c1e-0000-4000-8000-000000000001'::UUID AS uid
"""


def test_duckdb_values_follow_the_contract(tmp_path, monkeypatch, workspace, capfd) -> None:
    """A boolean is a boolean, a decimal keeps its digits, a timestamp is Unix seconds, a LIST is nested."""
    path = tmp_path / "values.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(DUCKDB_VALUES)
    connection(monkeypatch, "values_duckdb", "duckdb", str(path))

    state, report, _ = run_sync(SQLReverseETLOperator, capfd=capfd, sql="SELECT * FROM people", conn_id="values_duckdb")

    assert state == "success", report
    assert workspace.person(id="1")["attributes"] == {
        "active": "true",
        "balance": "12345678901234567890123456.0123456789",
        "seen": str(int(dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc).timestamp())),
        "seen_tz": str(int(dt.datetime(2024, 1, 2, 1, 4, 5, tzinfo=dt.timezone.utc).timestamp())),
        "born": str(int(dt.datetime(1990, 7, 8, tzinfo=dt.timezone.utc).timestamp())),
        "tags": [1, 2, 3],
        "address": {"city": "Oslo", "floor": 3},
        "uid": "6f1c3c1e-0000-4000-8000-000000000001",
    }


@pytest.mark.parametrize("database", ["sqlite", "duckdb"])
def test_a_write_statement_is_refused_naming_the_connection(database, tmp_path, monkeypatch, workspace, capfd) -> None:
    make = {"sqlite": sqlite_people, "duckdb": duckdb_people}[database]
    conn_id = make(tmp_path, monkeypatch)

    state, report, _ = run_sync(
        SQLReverseETLOperator, capfd=capfd, sql="DELETE FROM people RETURNING id", conn_id=conn_id
    )

    assert state == "failed"
    assert "the sync only runs queries that read" in report["error"]
    assert repr(conn_id) in report["error"]
    assert workspace.people() == []


@pytest.mark.parametrize("database", ["sqlite", "duckdb"])
def test_a_write_the_statement_check_lets_through_is_stopped_by_the_read_only_connection(
    database, tmp_path, monkeypatch, workspace, capfd
) -> None:
    """``WITH ... INSERT`` starts like a reading query; the read-only connection refuses it, changing nothing."""
    make = {"sqlite": sqlite_people, "duckdb": duckdb_people}[database]
    conn_id = make(tmp_path, monkeypatch)
    sql = "WITH extra AS (SELECT 4 AS id, 'x@example.com' AS email, 'pro' AS plan, 1 AS seats) "
    sql += "INSERT INTO people SELECT * FROM extra"

    state, report, _ = run_sync(SQLReverseETLOperator, capfd=capfd, sql=sql, conn_id=conn_id)

    assert state == "failed"
    assert report["error"].startswith("the query tried to write")
    assert repr(conn_id) in report["error"]
    path = str(tmp_path / f"people.{database}")
    with sqlite3.connect(path) if database == "sqlite" else duckdb.connect(path) as con:
        assert con.execute("SELECT count(*) FROM people").fetchone() == (3,)


def test_a_connection_without_a_sql_hook_gets_a_clear_error(workspace, capfd) -> None:
    state, _, log = run_sync(SQLReverseETLOperator, capfd=capfd, sql=PEOPLE_SQL, conn_id="customerio_default")

    assert state == "failed"
    assert (
        "connection 'customerio_default' (type 'customerio') is not a SQL connection: its hook CustomerIOHook is "
        "not a common.sql DbApiHook"
    ) in log
    assert workspace.people() == []


def test_relationships_from_sqlite(tmp_path, monkeypatch, workspace, capfd) -> None:
    """SQLRelationshipOperator on SQLite: a BOOLEAN ``deleted`` (stored 1/0) adds, then removes, a relationship."""
    path = tmp_path / "crm.sqlite"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE people (id INTEGER)")
        con.execute("INSERT INTO people VALUES (1), (2)")
        con.execute("CREATE TABLE memberships (person_id INTEGER, company_id TEXT, role TEXT, removed BOOLEAN)")
        con.execute("INSERT INTO memberships VALUES (1, 'c1', 'admin', FALSE), (2, 'c1', NULL, NULL)")
    con.close()
    connection(monkeypatch, "crm_sqlite", "sqlite", str(path))
    sync = {"capfd": capfd, "conn_id": "crm_sqlite"}
    assert run_sync(SQLReverseETLOperator, sql="SELECT id FROM people", **sync)[0] == "success"
    objects = run_sync(SQLReverseETLOperator, sql="SELECT 'c1' AS object_id", import_type="objects", **sync)
    assert objects[0] == "success"
    memberships = "SELECT person_id AS id, company_id AS object_id, role, removed AS deleted FROM memberships"

    def held() -> set[tuple[str, str, tuple]]:
        return {
            (r["person"]["id"], r["object_id"], tuple(sorted(r["attributes"].items())))
            for r in workspace.relationships()
        }

    state, report, _ = run_sync(SQLRelationshipOperator, sql=f"{memberships} ORDER BY 1", **sync)
    assert state == "success", report
    assert held() == {("1", "c1", (("role", "admin"),)), ("2", "c1", ())}

    with sqlite3.connect(path) as con:
        con.execute("UPDATE memberships SET removed = TRUE WHERE person_id = 1")
    con.close()
    state, report, _ = run_sync(SQLRelationshipOperator, sql=f"{memberships} ORDER BY 1", **sync)
    assert state == "success", report
    assert held() == {("2", "c1", ())}


def test_a_mysql_connection_gets_the_mysql_reader(mysql_db, workspace, capfd) -> None:
    """The connection type picks the reader: MySQL's own reads a BIT(1) as a number (the generic reader gets
    bytes from the driver, and would fail the row as binary)."""
    mysql_db.execute("CREATE TABLE people (id INT, verified BIT(1))")
    mysql_db.execute("INSERT INTO people VALUES (1, b'1')")

    state, report, _ = run_sync(SQLReverseETLOperator, capfd=capfd, sql="SELECT id, verified FROM people")

    assert state == "success", report
    assert workspace.person(id="1")["attributes"] == {"verified": "1"}


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT id FROM people INTO OUTFILE '/tmp/people.csv'",  # refused as MySQL reads it
        "SELECT id FROM people FOR NO KEY UPDATE",  # refused as PostgreSQL reads it
    ],
)
def test_the_generic_reader_refuses_what_either_mysql_or_postgresql_would(
    sql, tmp_path, monkeypatch, workspace, capfd
) -> None:
    conn_id = sqlite_people(tmp_path, monkeypatch)

    state, report, _ = run_sync(SQLReverseETLOperator, capfd=capfd, sql=sql, conn_id=conn_id)

    assert state == "failed"
    assert f"(SQLite connection {conn_id!r})" in report["error"]
    assert report["rows_read"] == 0


LONG_QUERIES = {
    "duckdb": "SELECT 1 AS id, sum(hash(range)) AS n FROM range(1000000000000)",
    "sqlite": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT 1 AS id, count(*) AS n FROM c",
}


@pytest.mark.parametrize("database", ["sqlite", "duckdb"])
def test_execution_timeout_interrupts_the_query(database, tmp_path, monkeypatch, workspace, capfd) -> None:
    """The task's timeout interrupts the running query: nothing is left running once the task has failed."""
    conn_id = {"sqlite": sqlite_people, "duckdb": duckdb_people}[database](tmp_path, monkeypatch)

    state, _, _ = run_sync(
        SQLReverseETLOperator,
        capfd=capfd,
        sql=LONG_QUERIES[database],
        conn_id=conn_id,
        execution_timeout=dt.timedelta(seconds=2),
    )

    assert state == "failed" and workspace.people() == []
    assert [thread.name for thread in threading.enumerate() if thread.name == "cio-dbapi-call"] == []


def test_a_connection_type_without_its_provider_says_what_to_install(monkeypatch, workspace, capfd) -> None:
    connection(monkeypatch, "warehouse", "nosuchdb", "/nowhere")

    state, _, log = run_sync(SQLReverseETLOperator, capfd=capfd, sql=PEOPLE_SQL, conn_id="warehouse")

    assert state == "failed"
    assert "connection 'warehouse' (type 'nosuchdb') has no hook this Airflow can load" in log
    assert "install the Airflow provider of connection type 'nosuchdb'" in log


def test_another_sources_conn_id_is_refused_at_parse_time() -> None:
    for name in ("mysql_conn_id", "postgres_conn_id"):
        with pytest.raises(TypeError, match=f"reads conn_id .* {name} does not apply"):
            SQLReverseETLOperator(task_id="sync", sql="SELECT 1 AS id", **{name: "x"})
        with pytest.raises(TypeError, match=f"{name} does not apply"):
            SQLRelationshipOperator(task_id="sync", sql="SELECT 1 AS id", **{name: "x"})
