"""Issue 23, done when: the same DAG works against MySQL, PostgreSQL, Snowflake (fakesnow), DuckDB and SQLite by
changing only ``conn_id``, its values following the contract (docs/sources.md, docs/values.md), and a
source-specific bad input gets a clear error naming the connection.

Each source holds the same logical table ``people`` in its own native types (:data:`PEOPLE_TABLES`); one DAG
definition (:func:`people_dag`) whose only difference is ``conn_id`` reads it in a real DagRun, sending to the
workspace emulator over HTTP. Where a source's documented contract differs from the others (MySQL and SQLite
have no boolean type, SQLite no timestamp or list type), the difference is spelled out in :data:`CONTRACT_DIFFERENCES`
with the line of docs/sources.md that says so; everything else must be identical across the five.
"""

from __future__ import annotations

import datetime as dt
import itertools
import sys
from typing import Any

import pytest

from airflow_provider_cio.operators.sql import SQLReverseETLOperator
from airflow_provider_cio.testing.dagruns import run_dag

from .conftest import SOURCE_NAMES, SourceDatabase

pytestmark = pytest.mark.usefixtures("airflow_db")

START = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
_dag_numbers = itertools.count(1)

# --- the same logical table, in each source's native types ----------------------------------------------------

BALANCE_1 = "12345678901234567890123456.0123456789"  # 38 digits, 10 of them after the point
BALANCE_2 = "-0.0000000001"
SEEN_1 = "2024-01-02 03:04:05.9"  # naive: read in the operator's timezone (UTC); Unix seconds rounded down
SEEN_2 = "1969-12-31 23:59:59.5"  # before 1970: -0.5 s is rounded down to -1

PEOPLE_TABLES: dict[str, tuple[str, ...]] = {
    "mysql": (
        "CREATE TABLE people (id INT, email VARCHAR(200), active BOOLEAN, balance DECIMAL(38, 10), "
        "signed_up_at DATETIME(1), tags JSON)",
        f"INSERT INTO people VALUES (1, 'ada@example.com', TRUE, {BALANCE_1}, '{SEEN_1}', '[\"gold\", \"beta\"]'), "
        f"(2, 'grace@example.com', FALSE, {BALANCE_2}, '{SEEN_2}', '[]')",
    ),
    "postgres": (
        "CREATE TABLE people (id integer, email text, active boolean, balance numeric(38, 10), "
        "signed_up_at timestamp, tags text[])",
        f"INSERT INTO people VALUES (1, 'ada@example.com', TRUE, {BALANCE_1}, '{SEEN_1}', ARRAY['gold', 'beta']), "
        f"(2, 'grace@example.com', FALSE, {BALANCE_2}, '{SEEN_2}', '{{}}')",
    ),
    "snowflake": (
        "CREATE OR REPLACE TABLE people (id NUMBER(38, 0), email VARCHAR, active BOOLEAN, balance NUMBER(38, 10), "
        "signed_up_at TIMESTAMP_NTZ, tags ARRAY)",
        # Snowflake takes the ARRAY constructors in INSERT ... SELECT, not in VALUES.
        f"INSERT INTO people SELECT 1, 'ada@example.com', TRUE, {BALANCE_1}, '{SEEN_1}'::TIMESTAMP_NTZ, "
        f"ARRAY_CONSTRUCT('gold', 'beta') UNION ALL SELECT 2, 'grace@example.com', FALSE, {BALANCE_2}, "
        f"'{SEEN_2}'::TIMESTAMP_NTZ, ARRAY_CONSTRUCT()",
    ),
    "duckdb": (
        "CREATE TABLE people (id INTEGER, email VARCHAR, active BOOLEAN, balance DECIMAL(38, 10), "
        "signed_up_at TIMESTAMP, tags VARCHAR[])",
        f"INSERT INTO people VALUES (1, 'ada@example.com', TRUE, {BALANCE_1}, '{SEEN_1}', ['gold', 'beta']), "
        f"(2, 'grace@example.com', FALSE, {BALANCE_2}, '{SEEN_2}', [])",
    ),
    # SQLite has no boolean, timestamp or list type: BOOLEAN keeps 1/0, TIMESTAMP the text written, the list is
    # its JSON text. A DECIMAL column (NUMERIC affinity) would store this balance as a REAL and lose its digits,
    # so it is TEXT, as docs/sources.md advises.
    "sqlite": (
        "CREATE TABLE people (id INTEGER, email TEXT, active BOOLEAN, balance TEXT, signed_up_at TIMESTAMP, tags JSON)",
        f"INSERT INTO people VALUES (1, 'ada@example.com', TRUE, '{BALANCE_1}', '{SEEN_1}', '[\"gold\", \"beta\"]'), "
        f"(2, 'grace@example.com', FALSE, '{BALANCE_2}', '{SEEN_2}', '[]')",
    ),
}

# Quoted aliases: Snowflake names an unquoted column in upper case (ID, EMAIL), and every attribute after it.
PEOPLE_SQL = (
    'SELECT id AS "id", email AS "email", active AS "active", balance AS "balance", '
    'signed_up_at AS "signed_up_at", tags AS "tags" FROM people ORDER BY 1'
)


def people_dag(conn_id: str, sql: str = PEOPLE_SQL, json_columns: tuple[str, ...] = ("tags",)) -> Any:
    """The one DAG definition of these tests: for the people, only ``conn_id`` differs between the sources (the
    bad-input tests give their own query).

    ``json_columns=["tags"]`` is for SQLite, whose list is JSON text; the other sources' lists arrive nested.
    """
    from airflow.sdk import DAG

    with DAG(f"same_dag_{next(_dag_numbers)}", schedule=None, start_date=START, catchup=False) as dag:
        SQLReverseETLOperator(
            task_id="sync_people", conn_id=conn_id, sql=sql, json_columns=list(json_columns), activity_settle_seconds=0
        )
    return dag


def run_people_dag(conn_id: str, capfd: pytest.CaptureFixture[str], **dag_kwargs: Any) -> tuple[str, Any, str]:
    """One DagRun of :func:`people_dag`: the task's state, its report (XCom) and the task log."""
    dag = people_dag(conn_id, **dag_kwargs)
    capfd.readouterr()
    outcome = run_dag(dag, START)
    captured = capfd.readouterr()
    return outcome.task_states["sync_people"], outcome.xcom("sync_people"), captured.out + captured.err


# --- what the workspace holds ---------------------------------------------------------------------------------

PEOPLE = {
    "1": (
        "ada@example.com",
        {
            "active": "true",
            "balance": BALANCE_1,
            "signed_up_at": str(int(dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc).timestamp())),
            "tags": ["gold", "beta"],
        },
    ),
    "2": ("grace@example.com", {"active": "false", "balance": BALANCE_2, "signed_up_at": "-1", "tags": []}),
}
"""The contract (docs/values.md): a boolean is true/false, a decimal keeps every digit, a naive timestamp is
Unix seconds read in UTC (rounded down), a list is nested; the emulator keeps scalars as strings."""

CONTRACT_DIFFERENCES: dict[str, dict[str, dict[str, Any]]] = {
    # docs/sources.md, MySQL: "BOOLEAN is TINYINT(1): sent as 1/0 (IF(active, 'true', 'false') for text)".
    "mysql": {"1": {"active": "1"}, "2": {"active": "0"}},
    # docs/sources.md, SQLite: "BOOLEAN (NUMERIC) | integer | 1/0"; "DATE, TIMESTAMP, JSON (NUMERIC) | text |
    # the text written" (a JSON column nested when named in json_columns).
    "sqlite": {"1": {"active": "1", "signed_up_at": SEEN_1}, "2": {"active": "0", "signed_up_at": SEEN_2}},
}
"""Where a source's documented contract differs from :data:`PEOPLE`: person id -> attributes."""


def expected_people(source: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """What the workspace holds after syncing ``source``: :data:`PEOPLE` with the source's documented differences."""
    differences = CONTRACT_DIFFERENCES.get(source, {})
    return {
        person: (email, {**attributes, **differences.get(person, {})}) for person, (email, attributes) in PEOPLE.items()
    }


NAMES = {"mysql": "MySQL", "postgres": "PostgreSQL", "snowflake": "Snowflake", "duckdb": "DuckDB", "sqlite": "SQLite"}


@pytest.mark.parametrize("source", SOURCE_NAMES, indirect=True)
def test_the_same_dag_sends_the_same_people_from_every_source(source: SourceDatabase, workspace, capfd) -> None:
    source.execute(*PEOPLE_TABLES[source.name])

    state, report, log = run_people_dag(source.conn_id, capfd)

    assert state == "success", report
    assert report["rows_read"] == 2 and report["rows_sent"] == 2 and report["rows_failed"] == 0
    assert report["settings"]["source_conn_id"] == source.conn_id
    assert f"{NAMES[source.name]} connection {source.conn_id!r}" in log
    held = {person["id"]: (person["email"], person["attributes"]) for person in workspace.people()}
    assert held == expected_people(source.name)


def test_only_mysql_and_sqlite_differ_and_only_where_their_contract_says() -> None:
    """PostgreSQL, Snowflake and DuckDB send exactly :data:`PEOPLE`; MySQL and SQLite differ only in the
    attributes their own tables in docs/sources.md name (booleans as 1/0; SQLite's timestamp as its text)."""
    assert {source for source in SOURCE_NAMES if expected_people(source) != PEOPLE} == {"mysql", "sqlite"}
    changed = {
        (source, name)
        for source, people in CONTRACT_DIFFERENCES.items()
        for attributes in people.values()
        for name in attributes
    }
    assert changed == {("mysql", "active"), ("sqlite", "active"), ("sqlite", "signed_up_at")}


# --- a source-specific bad input, named by its connection -----------------------------------------------------


@pytest.mark.parametrize("source", SOURCE_NAMES, indirect=True)
def test_a_write_statement_fails_the_task_and_sends_nothing(source: SourceDatabase, workspace, capfd) -> None:
    source.execute(*PEOPLE_TABLES[source.name])

    state, report, _ = run_people_dag(source.conn_id, capfd, sql="DELETE FROM people", json_columns=())

    assert state == "failed"
    assert "the sync only runs queries that read" in report["error"]
    assert report["rows_read"] == 0
    assert workspace.people() == []
    assert source.count("people") == 2


@pytest.mark.parametrize(
    "source",
    SOURCE_NAMES,
    indirect=True,
)
def test_the_refusal_of_a_write_names_the_connection(source: SourceDatabase, workspace, capfd) -> None:
    state, report, _ = run_people_dag(source.conn_id, capfd, sql="DELETE FROM people", json_columns=())

    assert state == "failed"
    assert f"({NAMES[source.name]} connection {source.conn_id!r})" in report["error"]


SECRET_BYTES = "cafe0123beef"  # the value must never appear in a message or the error report
BINARY_COLUMNS = {
    "mysql": ("INT", "VARBINARY(16)", f"x'{SECRET_BYTES}'"),
    "postgres": ("integer", "bytea", f"'\\x{SECRET_BYTES}'::bytea"),
    "snowflake": ("NUMBER(38, 0)", "BINARY", f"TO_BINARY('{SECRET_BYTES}', 'HEX')"),
    "duckdb": ("INTEGER", "BLOB", f"unhex('{SECRET_BYTES}')"),
    "sqlite": ("INTEGER", "BLOB", f"x'{SECRET_BYTES}'"),
}
"""Per source: the id's type, the binary type, and a literal of :data:`SECRET_BYTES` in it."""


def binary_table(source: str) -> tuple[str, str]:
    """The statements making ``avatars (id, avatar)`` with one binary value, in the source's types."""
    id_type, binary_type, literal = BINARY_COLUMNS[source]
    create = "CREATE OR REPLACE TABLE" if source == "snowflake" else "CREATE TABLE"
    return f"{create} avatars (id {id_type}, avatar {binary_type})", f"INSERT INTO avatars SELECT 1, {literal}"


BINARY_ADVICE = {
    "mysql": "HEX(col)",
    "postgres": "encode(col, 'base64')",
    "snowflake": "HEX_ENCODE(col) or BASE64_ENCODE(col)",
    "duckdb": "HEX(col)",  # the generic reader's advice: HEX exists in DuckDB and SQLite
    "sqlite": "HEX(col)",
}


@pytest.mark.parametrize("source", SOURCE_NAMES, indirect=True)
def test_a_binary_column_fails_its_row_naming_the_column_not_the_value(
    source: SourceDatabase, workspace, capfd
) -> None:
    from airflow.sdk import ObjectStoragePath

    source.execute(*binary_table(source.name))

    sql = 'SELECT id AS "id", avatar AS "avatar" FROM avatars'
    state, report, log = run_people_dag(source.conn_id, capfd, sql=sql, json_columns=())

    assert state == "failed"  # a failed row fails the task
    assert report["rows_failed"] == 1 and report["rows_sent"] == 0
    assert report["errors_by_type"] == {"binary_value": 1}
    with ObjectStoragePath(report["error_report"]).open("r") as error_csv:
        errors = error_csv.read()
    assert "column 'avatar' holds binary data" in errors and BINARY_ADVICE[source.name] in errors
    assert f"from {NAMES[source.name]} connection {source.conn_id!r}" in log  # the row's task names its source
    for text in (errors, log, repr(report)):
        assert SECRET_BYTES not in text.lower()
    assert workspace.people() == []


PROVIDER_HOOKS = {
    "postgres": "airflow.providers.postgres.hooks.postgres",
    "snowflake": "airflow.providers.snowflake.hooks.snowflake",
    "duckdb": "airflow.providers.duckdb.hooks.duckdb",
    "sqlite": "airflow.providers.sqlite.hooks.sqlite",
}
"""The hook module of each source's Airflow provider (MySQL's is in the base install, so it has no extra)."""


@pytest.mark.parametrize("source", sorted(PROVIDER_HOOKS), indirect=True)
def test_a_missing_driver_extra_says_which_extra_to_install(
    source: SourceDatabase, workspace, capfd, monkeypatch
) -> None:
    """The source's Airflow provider hidden from imports, as if its extra were not installed."""
    monkeypatch.setitem(sys.modules, PROVIDER_HOOKS[source.name], None)

    state, _, log = run_people_dag(source.conn_id, capfd)

    assert state == "failed"
    assert f"connection {source.conn_id!r}" in log
    assert f"pip install 'airflow-provider-cio[{source.name}]'" in log
    assert workspace.people() == []
