"""``dry_run=True``: the query, the column rules, the row checks and the op building run as usual; nothing
reaches the workspace, and the report says what would have been sent.

Real DagRuns (``dag.test()``) read a real MySQL table; the emulator's stats show that not one request
arrived. A dry run and a real run over the same rows are compared: same row failures, same error CSV,
and the rows, ops and batches the dry run would have sent are those the real run sent.
"""

from __future__ import annotations

import csv
import itertools
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk import DAG

from airflow_provider_cio.operators.relationships import RelationshipOperator
from airflow_provider_cio.operators.reverse_etl import MySQLReverseETLOperator
from airflow_provider_cio.testing.dagruns import DagRunOutcome, run_dag

START = datetime(2025, 6, 1, tzinfo=timezone.utc)
_dates = (START + timedelta(days=n) for n in itertools.count())
PEOPLE_SQL = "SELECT id, email, plan FROM users WHERE UNIX_TIMESTAMP(updated_at) >= {{ last_sync_time }} ORDER BY seq"


def sync_dag(dag_id: str, operator: type = MySQLReverseETLOperator, **kwargs: Any) -> DAG:
    """A DAG with one sync task ``sync`` (people syncs do not wait for the activity log)."""
    if operator is MySQLReverseETLOperator:
        kwargs.setdefault("activity_settle_seconds", 0)
    with DAG(dag_id, schedule=None, start_date=START) as dag:
        operator(task_id="sync", **kwargs)
    return dag


def run(dag: DAG) -> DagRunOutcome:
    """One DagRun of the DAG, at a logical date later than every earlier one."""
    return run_dag(dag, next(_dates))


def csv_rows(uri: str) -> list[list[str]]:
    """The rows of an error CSV written to a ``file://`` URI."""
    with Path(uri.removeprefix("file://")).open(newline="") as handle:
        return list(csv.reader(handle))


@pytest.fixture
def users(mysql_db):
    """A users table; ``seq`` keeps the row order fixed."""
    mysql_db.execute(
        "CREATE TABLE users (seq INT AUTO_INCREMENT PRIMARY KEY, id VARCHAR(40), email VARCHAR(200), "
        "plan VARCHAR(2000), updated_at DATETIME DEFAULT '2025-01-01 00:00:00')"
    )
    return mysql_db


def test_a_dry_run_sends_nothing_and_reports_what_it_would_send(airflow_db, users, workspace):
    users.insert("users", [{"id": str(i), "email": f"p{i}@example.com", "plan": "pro"} for i in range(1, 31)])
    dag = sync_dag("dry_run_people", sql=PEOPLE_SQL, dry_run=True, segment_name="Synced people")

    outcome = run(dag)

    assert outcome.task_states == {"sync": "success"}
    report = outcome.xcom("sync")
    assert report["dry_run"] is True and report["status"] == "success"
    assert (report["rows_read"], report["rows_sent"], report["rows_failed"]) == (30, 0, 0)
    assert report["would_send"]["rows"] == 30 and report["would_send"]["ops"] == 30
    assert report["would_send"]["batches"] == 1  # 30 small rows fit one request
    assert report["requests_sent"] == 0 and report["error_report"] is None
    assert report["segment_id"] is None and report["people_added_to_segment"] == 0
    assert workspace.stats() == {}
    assert workspace.people() == [] and workspace.segments() == []
    assert outcome.xcom("sync", "cio_sync_watermark") is None


def test_a_dry_run_does_not_advance_last_sync_time_and_sends_what_it_announced(airflow_db, users, workspace):
    users.insert("users", [{"id": str(i), "email": f"p{i}@example.com", "plan": "pro"} for i in range(1, 21)])
    first = run(sync_dag("dry_then_real", sql=PEOPLE_SQL, dry_run=True))
    would_send = first.xcom("sync")["would_send"]

    real = run(sync_dag("dry_then_real", sql=PEOPLE_SQL))

    report = real.xcom("sync")
    assert real.task_states == {"sync": "success"}
    assert report["last_sync_time"] == 0  # the dry run left last_sync_time where it was
    assert report["dry_run"] is False and report["would_send"] is None
    assert (report["rows_sent"], report["ops_sent"], report["batches_sent"]) == (
        would_send["rows"],
        would_send["ops"],
        would_send["batches"],
    )
    assert workspace.stats()["POST /api/v2/batch"]["requests"] == {"200": would_send["batches"]}
    assert sorted(person["id"] for person in workspace.people()) == sorted(str(i) for i in range(1, 21))


def test_a_dry_run_reports_the_row_failures_a_real_run_reports(airflow_db, users, workspace):
    users.insert(
        "users",
        [
            {"id": "1", "email": "one@example.com", "plan": "pro"},
            {"id": "2", "email": "not an email", "plan": "pro"},  # invalid email
            {"id": "", "email": "three@example.com", "plan": "pro"},  # empty identifier
            {"id": "4", "email": "four@example.com", "plan": "x" * 1200},  # attribute over 1000 bytes
            {"id": "1", "email": "again@example.com", "plan": "free"},  # identifier already seen
            {"id": "6", "email": "six@example.com", "plan": "free"},
        ],
    )

    dry = run(sync_dag("dry_failures", sql=PEOPLE_SQL, dry_run=True))

    assert dry.task_states == {"sync": "failed"}
    dry_report = dry.xcom("sync")
    assert workspace.stats() == {}
    assert dry_report["dry_run"] is True and dry_report["status"] == "failed"
    assert dry_report["rows_failed"] == 4 and dry_report["would_send"]["rows"] == 2
    assert dry_report["errors_by_type"] == {
        "invalid_email": 1,
        "missing_identifier": 1,
        "too_large": 1,
        "duplicate_identifier": 1,
    }
    dry_csv = csv_rows(dry_report["error_report"])
    assert [row[:3] for row in dry_csv] == [
        ["row_number", "identifier", "error_type"],
        ["2", "2", "invalid_email"],
        ["3", "", "missing_identifier"],
        ["4", "4", "too_large"],
        ["5", "1", "duplicate_identifier"],
    ]

    real = run(sync_dag("real_failures", sql=PEOPLE_SQL))

    real_report = real.xcom("sync")
    assert real.task_states == {"sync": "failed"}
    assert real_report["errors_by_type"] == dry_report["errors_by_type"]
    assert real_report["rows_failed"] == dry_report["rows_failed"]
    assert real_report["rows_sent"] == dry_report["would_send"]["rows"]
    assert csv_rows(real_report["error_report"]) == dry_csv
    assert sorted(person["id"] for person in workspace.people()) == ["1", "6"]


def test_a_dry_run_needs_no_workspace_connection(airflow_db, users, workspace):
    users.insert("users", [{"id": "1", "email": "one@example.com", "plan": "pro"}])
    dag = sync_dag("dry_no_connection", sql=PEOPLE_SQL, dry_run=True, customerio_conn_id="no_such_workspace")

    outcome = run(dag)

    assert outcome.task_states == {"sync": "success"}
    assert outcome.xcom("sync")["would_send"]["rows"] == 1


def test_a_dry_run_of_objects_sends_nothing(airflow_db, mysql_db, workspace):
    mysql_db.execute("CREATE TABLE companies (object_id VARCHAR(40), name VARCHAR(100))")
    mysql_db.insert("companies", [{"object_id": "acme", "name": "Acme"}, {"object_id": "", "name": "Nameless"}])
    dag = sync_dag(
        "dry_objects", sql="SELECT object_id, name FROM companies ORDER BY name", import_type="objects", dry_run=True
    )

    outcome = run(dag)

    report = outcome.xcom("sync")
    assert outcome.task_states == {"sync": "failed"}
    assert report["would_send"] == {"rows": 1, "ops": 1, "batches": 1}
    assert report["errors_by_type"] == {"missing_identifier": 1}
    assert workspace.stats() == {} and workspace.objects() == []


def test_a_dry_run_of_relationships_counts_grouped_ops(airflow_db, mysql_db, workspace):
    mysql_db.execute("CREATE TABLE memberships (person_id VARCHAR(10), company_id VARCHAR(10), role VARCHAR(10))")
    mysql_db.insert(
        "memberships",
        [
            {"person_id": "1", "company_id": "acme", "role": "admin"},
            {"person_id": "1", "company_id": "globex", "role": "user"},
            {"person_id": "2", "company_id": "acme", "role": "user"},
        ],
    )
    dag = sync_dag(
        "dry_relationships",
        RelationshipOperator,
        sql="SELECT person_id AS id, company_id AS object_id, role FROM memberships ORDER BY person_id, company_id",
        dry_run=True,
    )

    outcome = run(dag)

    report = outcome.xcom("sync")
    assert outcome.task_states == {"sync": "success"}
    assert report["would_send"]["rows"] == 3 and report["would_send"]["ops"] == 2  # person 1's rows share an op
    assert workspace.stats() == {} and workspace.relationships() == []


def test_a_dry_run_by_phone_update_only_fails_the_numbers_that_are_not_e164(airflow_db, mysql_db, workspace):
    """People by phone, update only: each number is checked as E.164 before anything would be sent, the
    duplicate check keys on the number, and the report says the sync was update only."""
    mysql_db.execute("CREATE TABLE contacts (seq INT AUTO_INCREMENT PRIMARY KEY, phone VARCHAR(40), plan VARCHAR(10))")
    mysql_db.insert(
        "contacts",
        [
            {"phone": "+14155550123", "plan": "pro"},
            {"phone": "+1 415 555 0124", "plan": "pro"},  # spaces
            {"phone": "4155550125", "plan": "pro"},  # no plus
            {"phone": "+14155550123", "plan": "free"},  # the first row's number again
            {"phone": "+442071838750", "plan": "free"},
        ],
    )
    dag = sync_dag(
        "dry_phones",
        sql="SELECT phone, plan FROM contacts ORDER BY seq",
        identify_by="phone",
        update_only=True,
        dry_run=True,
    )

    outcome = run(dag)

    report = outcome.xcom("sync")
    assert outcome.task_states == {"sync": "failed"}
    assert (report["rows_read"], report["rows_failed"], report["would_send"]["rows"]) == (5, 3, 2)
    assert report["errors_by_type"] == {"invalid_phone": 2, "duplicate_identifier": 1}
    assert [row[:3] for row in csv_rows(report["error_report"])] == [
        ["row_number", "identifier", "error_type"],
        ["2", "'+1 415 555 0124", "invalid_phone"],  # a leading + is quoted: a spreadsheet reads no formula
        ["3", "4155550125", "invalid_phone"],
        ["4", "'+14155550123", "duplicate_identifier"],
    ]
    assert report["settings"]["identify_by"] == "phone" and report["settings"]["update_only"] is True
    assert workspace.stats() == {} and workspace.people() == []
