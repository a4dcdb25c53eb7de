"""The Snowflake source on a local Snowflake (fakesnow's server over TLS), through the real connector and
``SnowflakeHook``, in real DagRuns sending to the emulator over HTTP. Nothing is patched.

fakesnow answers with the whole result in one response and ignores cancels: reading several result chunks
one at a time and cancelling a query are tested with a fake cursor (``tests/unit/test_snowflake_stream.py``).
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from conftest import SnowflakeDatabase

from airflow_provider_cio.operators.sql import SQLRelationshipOperator, SQLReverseETLOperator
from airflow_provider_cio.sources.registry import SourceOptions, source_for
from airflow_provider_cio.sources.snowflake.source import SnowflakeSource
from airflow_provider_cio.sync.blocks import Block
from airflow_provider_cio.testing.dagruns import run_dag

pytestmark = pytest.mark.usefixtures("airflow_db")

START = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
_dag_numbers = itertools.count(1)
_hours = itertools.count(1)

PEOPLE_TABLE = """
CREATE OR REPLACE TABLE people (
    id NUMBER(38,0), email VARCHAR, active BOOLEAN, balance NUMBER(38,10), score FLOAT, seen_ntz TIMESTAMP_NTZ,
    seen_ltz TIMESTAMP_LTZ, seen_tz TIMESTAMP_TZ, born DATE, wakes TIME, tags ARRAY, address OBJECT, traits VARIANT
)
"""
# Snowflake takes PARSE_JSON and the constructors in INSERT ... SELECT, not in VALUES.
PEOPLE_ROWS = """
INSERT INTO people SELECT
    1, 'ada@example.com', TRUE, 12345678901234567890123456.0123456789, 1.5, '2024-01-02 03:04:05.9'::TIMESTAMP_NTZ,
    '2024-01-02 03:04:05.123456'::TIMESTAMP_LTZ, '2024-01-02 03:04:05 +02:00'::TIMESTAMP_TZ, '1990-07-08'::DATE,
    '06:30:00'::TIME, ARRAY_CONSTRUCT(1, 'x', 2.5), OBJECT_CONSTRUCT('city', 'Oslo', 'floor', 3),
    PARSE_JSON('{"plan": [1, "x", null]}')
UNION ALL SELECT
    2, 'grace@example.com', FALSE, -0.0000000001, -2.0, '1969-12-31 23:59:59.5'::TIMESTAMP_NTZ,
    '2024-01-02 03:04:05'::TIMESTAMP_LTZ, '2024-01-02 03:04:05 +00:00'::TIMESTAMP_TZ, '1969-12-31'::DATE,
    '23:59:59.999999'::TIME, ARRAY_CONSTRUCT(), OBJECT_CONSTRUCT(), PARSE_JSON('"just text"')
"""
COLUMNS = ("id", "email", "active", "balance", "score", "seen_ntz", "seen_ltz", "seen_tz", "born", "wakes", "tags")
PEOPLE_SQL = (
    "SELECT "
    + ", ".join(f'{name} AS "{name}"' for name in (*COLUMNS, "address", "traits"))
    + " FROM people WHERE email LIKE '%@example.com' ORDER BY id"  # a % stays as written
)


def seconds(*when: int, zone: str = "UTC") -> str:
    """Unix seconds of a wall time in a zone, as the emulator keeps an attribute (text)."""
    return str(int(dt.datetime(*when, tzinfo=ZoneInfo(zone)).timestamp()))


def run_sync(operator_class: type, *, capfd: pytest.CaptureFixture[str], **kwargs: Any) -> tuple[str, Any, str]:
    """One DagRun of a one-task DAG: the task's state, its report (XCom) and the task log."""
    from airflow.sdk import DAG

    if operator_class is SQLReverseETLOperator:
        kwargs.setdefault("activity_settle_seconds", 0)
    with DAG(f"snowflake_sync_{next(_dag_numbers)}", schedule=None, start_date=START, catchup=False) as dag:
        operator_class(task_id="sync", conn_id=SnowflakeDatabase.conn_id, **kwargs)
    capfd.readouterr()
    outcome = run_dag(dag, START + dt.timedelta(hours=next(_hours)))
    captured = capfd.readouterr()
    return outcome.task_states["sync"], outcome.xcom("sync"), captured.out + captured.err


@pytest.mark.parametrize("zone", ["UTC", "America/New_York"])
def test_people_values_follow_the_contract(zone, snowflake_db, workspace, capfd) -> None:
    """A BOOLEAN is a boolean, NUMBER(38,10) keeps every digit, every TIMESTAMP is Unix seconds (NTZ and DATE
    read in the operator's time zone, LTZ and TZ points in time), ARRAY, OBJECT and VARIANT are nested."""
    snowflake_db.execute(PEOPLE_TABLE, PEOPLE_ROWS)

    state, report, log = run_sync(SQLReverseETLOperator, capfd=capfd, sql=PEOPLE_SQL, timezone=zone)

    assert state == "success", report
    assert report["rows_read"] == 2 and report["rows_sent"] == 2 and report["rows_failed"] == 0
    assert report["settings"]["source_conn_id"] == "cio_snowflake"
    assert "Snowflake connection 'cio_snowflake'" in log
    assert workspace.person(id="1")["attributes"] == {
        "active": "true",
        "balance": "12345678901234567890123456.0123456789",
        "score": "1.5",
        "seen_ntz": seconds(2024, 1, 2, 3, 4, 5, zone=zone),
        "seen_ltz": seconds(2024, 1, 2, 3, 4, 5),
        "seen_tz": seconds(2024, 1, 2, 1, 4, 5),
        "born": seconds(1990, 7, 8, zone=zone),
        "wakes": "06:30:00",
        "tags": [1, "x", 2.5],
        "address": {"city": "Oslo", "floor": 3},
        "traits": {"plan": [1, "x", None]},
    }
    assert workspace.person(id="2")["attributes"] == {
        "active": "false",
        "balance": "-0.0000000001",
        "score": "-2.0",
        "seen_ntz": seconds(1969, 12, 31, 23, 59, 59, zone=zone),  # rounded down, before 1970 too
        "seen_ltz": seconds(2024, 1, 2, 3, 4, 5),
        "seen_tz": seconds(2024, 1, 2, 3, 4, 5),
        "born": seconds(1969, 12, 31, zone=zone),
        "wakes": "23:59:59.999999",
        "tags": [],
        "address": {},
        "traits": "just text",
    }


def test_binary_fails_the_row(snowflake_db, workspace, capfd) -> None:
    """A BINARY value fails its row, saying how to convert it in Snowflake (a failed row fails the task); a NULL
    one is left out."""
    from airflow.sdk import ObjectStoragePath

    snowflake_db.execute(
        "CREATE OR REPLACE TABLE avatars (id NUMBER(38,0), avatar BINARY)",
        "INSERT INTO avatars SELECT 1, TO_BINARY('ABCD', 'HEX') UNION ALL SELECT 2, NULL",
    )

    state, report, _ = run_sync(
        SQLReverseETLOperator, capfd=capfd, sql='SELECT id AS "id", avatar AS "avatar" FROM avatars ORDER BY id'
    )

    assert state == "failed"
    assert report["rows_failed"] == 1 and report["rows_sent"] == 1
    assert report["errors_by_type"] == {"binary_value": 1}
    with ObjectStoragePath(report["error_report"]).open("r") as error_csv:
        assert "HEX_ENCODE(col) or BASE64_ENCODE(col)" in error_csv.read()
    assert [person["id"] for person in workspace.people()] == ["2"]


def test_a_write_statement_is_refused_naming_the_connection(snowflake_db, workspace, capfd) -> None:
    snowflake_db.execute(PEOPLE_TABLE, PEOPLE_ROWS)

    state, report, _ = run_sync(SQLReverseETLOperator, capfd=capfd, sql="DELETE FROM people")

    assert state == "failed"
    assert "the sync only runs queries that read" in report["error"]
    assert "(Snowflake connection 'cio_snowflake')" in report["error"]
    assert snowflake_db.execute("SELECT COUNT(*) FROM people") == [(2,)]
    assert workspace.people() == []


def test_a_query_error_names_the_connection_and_what_to_fix(snowflake_db, workspace, capfd) -> None:
    state, report, _ = run_sync(SQLReverseETLOperator, capfd=capfd, sql='SELECT 1 AS "id" FROM no_such_table')

    assert state == "failed"
    assert report["error"].startswith("Snowflake connection 'cio_snowflake' failed (ProgrammingError): 002003")
    assert "grant the connection's role USAGE on the database and schema and SELECT on the table" in report["error"]


def test_relationships_from_snowflake(snowflake_db, workspace, capfd) -> None:
    """SQLRelationshipOperator on Snowflake: a BOOLEAN ``deleted`` adds, then removes, a relationship."""
    snowflake_db.execute(
        "CREATE OR REPLACE TABLE memberships "
        "(person_id NUMBER(38,0), company_id VARCHAR, role VARCHAR, removed BOOLEAN)",
        "INSERT INTO memberships VALUES (1, 'c1', 'admin', FALSE), (2, 'c1', NULL, NULL)",
    )
    assert run_sync(SQLReverseETLOperator, capfd=capfd, sql='SELECT 1 AS "id" UNION ALL SELECT 2')[0] == "success"
    objects = run_sync(SQLReverseETLOperator, capfd=capfd, sql="SELECT 'c1' AS \"object_id\"", import_type="objects")
    assert objects[0] == "success"
    memberships = (
        'SELECT person_id AS "id", company_id AS "object_id", role AS "role", removed AS "deleted" '
        "FROM memberships ORDER BY 1"
    )

    def held() -> set[tuple[str, str, tuple]]:
        return {
            (r["person"]["id"], r["object_id"], tuple(sorted(r["attributes"].items())))
            for r in workspace.relationships()
        }

    state, report, _ = run_sync(SQLRelationshipOperator, capfd=capfd, sql=memberships)
    assert state == "success", report
    assert held() == {("1", "c1", (("role", "admin"),)), ("2", "c1", ())}

    snowflake_db.execute("UPDATE memberships SET removed = TRUE WHERE person_id = 1")
    state, report, _ = run_sync(SQLRelationshipOperator, capfd=capfd, sql=memberships)
    assert state == "success", report
    assert held() == {("2", "c1", ())}


def test_the_stream_hands_over_blocks_of_columns(snowflake_db) -> None:
    """The registry gives a ``snowflake`` connection the Snowflake source; its stream's connection reads scaled
    NUMBERs as decimals, and ``fetchmany`` cuts the result into blocks of columns."""
    snowflake_db.execute(
        "CREATE OR REPLACE TABLE five (id NUMBER(38,0), amount NUMBER(10,2))",
        "INSERT INTO five VALUES (1, 0.10), (2, 0.20), (3, 0.30), (4, 0.40), (5, 0.50)",
    )
    source = source_for(snowflake_db.conn_id, SourceOptions())
    assert isinstance(source, SnowflakeSource)
    stream = source.open_stream()
    try:
        cursor = stream.execute('SELECT id AS "id", amount AS "amount" FROM five ORDER BY id')
        assert stream.connection.arrow_number_to_decimal is True
        assert [(column.name, column.type) for column in cursor.columns] == [("id", "integer"), ("amount", "decimal")]
        blocks = [cursor.fetchmany(2) for _ in range(4)]
    finally:
        stream.close(finished=True)
    assert all(isinstance(block, Block) for block in blocks[:3]) and blocks[3] == []
    assert [block.columns[0] for block in blocks[:3]] == [[1, 2], [3, 4], [5]]
    amounts = [str(amount) for block in blocks[:3] for amount in block.columns[1]]
    assert amounts == ["0.10", "0.20", "0.30", "0.40", "0.50"]
    assert [thread.name for thread in threading.enumerate() if thread.name == "cio-snowflake-call"] == []


def test_lineage_names_the_tables_as_snowflake_does(snowflake_db) -> None:
    """OpenLineage inputs from ``SnowflakeHook``'s database info: DATABASE.SCHEMA.TABLE, upper case."""
    source = source_for(snowflake_db.conn_id, SourceOptions())

    lineage = source.lineage("SELECT people.id FROM people JOIN orders ON orders.person_id = people.id")

    assert sorted(dataset.name for dataset in lineage.inputs) == ["CIO_TEST.PUBLIC.ORDERS", "CIO_TEST.PUBLIC.PEOPLE"]
    assert all(dataset.namespace.startswith("snowflake://") for dataset in lineage.inputs)


def test_an_empty_result_reads_as_no_rows(snowflake_db, workspace, capfd) -> None:
    snowflake_db.execute(PEOPLE_TABLE)

    state, report, _ = run_sync(SQLReverseETLOperator, capfd=capfd, sql=PEOPLE_SQL)

    assert state == "success", report
    assert report["rows_read"] == 0 and workspace.people() == []
