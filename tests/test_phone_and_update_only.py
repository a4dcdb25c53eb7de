"""``update_only=True`` and ``identify_by="phone"`` end to end: real MariaDB, the workspace emulator over HTTP
(its ``_update`` and phone identifiers), real DagRuns. An update-only sync never creates a person; people and
relationships by phone reach the workspace, and a number that is not E.164 fails its row before sending."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from airflow.sdk import DAG
from sync_helpers import run_job

from airflow_provider_cio.operators.relationships import RelationshipOperator
from airflow_provider_cio.operators.reverse_etl import MySQLReverseETLOperator
from airflow_provider_cio.testing.dagruns import DagRunOutcome, run_dag

pytestmark = pytest.mark.usefixtures("airflow_db")

START = datetime(2025, 6, 1, tzinfo=timezone.utc)
_dates = (START + timedelta(days=n) for n in itertools.count())
_dags = itertools.count(1)


def run(operator: type = MySQLReverseETLOperator, **kwargs: Any) -> tuple[DagRunOutcome, dict[str, Any]]:
    """One DagRun of a new DAG with one sync task ``sync``; its outcome and report."""
    if operator is MySQLReverseETLOperator:
        kwargs.setdefault("activity_settle_seconds", 0)
    with DAG(f"phone_update_{next(_dags)}", schedule=None, start_date=START) as dag:
        operator(task_id="sync", **kwargs)
    outcome = run_dag(dag, next(_dates))
    return outcome, outcome.xcom("sync")


@pytest.fixture
def users(mysql_db):
    mysql_db.execute(
        "CREATE TABLE users (seq INT AUTO_INCREMENT PRIMARY KEY, id VARCHAR(10), phone VARCHAR(40), plan VARCHAR(10))"
    )
    return mysql_db


def test_update_only_updates_who_exists_and_creates_nobody(users, workspace):
    users.insert("users", [{"id": "1", "plan": "free"}])
    assert run(sql="SELECT id, plan FROM users")[0].task_states == {"sync": "success"}
    users.execute("UPDATE users SET plan = 'pro'")
    users.insert("users", [{"id": "2", "plan": "pro"}, {"id": "3", "plan": "pro"}])

    outcome, report = run(sql="SELECT id, plan FROM users ORDER BY seq", update_only=True)

    assert outcome.task_states == {"sync": "success"}
    assert [(person["id"], person["attributes"]) for person in workspace.people()] == [("1", {"plan": "pro"})]
    assert (report["rows_read"], report["rows_sent"], report["rows_failed"]) == (3, 3, 0)  # it cannot tell
    assert report["settings"]["update_only"] is True


def test_people_by_phone_reach_the_workspace_and_a_bad_number_fails_its_row(users, workspace):
    workspace.settings(phone_identifiers=True)
    users.insert(
        "users",
        [
            {"phone": "+14155550123", "plan": "pro", "id": "1"},
            {"phone": "+1 415 555 0124", "plan": "pro", "id": "2"},
            {"phone": "+442071838750", "plan": "free", "id": None},
        ],
    )

    outcome, report = run(sql="SELECT phone, id, plan FROM users ORDER BY seq", identify_by="phone")

    assert outcome.task_states == {"sync": "failed"}
    assert report["errors_by_type"] == {"invalid_phone": 1} and report["rows_sent"] == 2
    people = {person["phone"]: (person["id"], person["attributes"]) for person in workspace.people()}
    assert people == {"+14155550123": ("1", {"plan": "pro"}), "+442071838750": (None, {"plan": "free"})}


def test_a_country_code_alone_fails_its_row_with_advice_before_sending(users, workspace):
    """``+1`` is a country code without a number: the sync's rule and the workspace's refuse it alike, and the
    sync says so before sending (the workspace never sees it)."""
    workspace.settings(phone_identifiers=True)
    users.insert("users", [{"phone": "+1", "plan": "pro"}, {"phone": "+14155550123", "plan": "pro"}])

    job = run_job("SELECT phone, plan FROM users ORDER BY seq", identify_by="phone")

    assert job.error_rows() == [(1, "+1", "invalid_phone")]
    assert "write numbers as E.164, e.g. +14155550123" in job.errors[0].message
    assert workspace.stats()["POST /api/v2/batch"]["ops"] == {"accepted": 1, "failed": 0}
    assert [person["phone"] for person in workspace.people()] == ["+14155550123"]


def test_update_only_by_phone_never_creates_the_number(users, workspace):
    workspace.settings(phone_identifiers=True)
    users.insert("users", [{"phone": "+14155550123", "plan": "free"}])
    run(sql="SELECT phone, plan FROM users", identify_by="phone")
    users.execute("UPDATE users SET plan = 'pro'")
    users.insert("users", [{"phone": "+14155550199", "plan": "pro"}])

    outcome, _ = run(sql="SELECT phone, plan FROM users ORDER BY seq", identify_by="phone", update_only=True)

    assert outcome.task_states == {"sync": "success"}
    assert [(p["phone"], p["attributes"]) for p in workspace.people()] == [("+14155550123", {"plan": "pro"})]


def test_relationships_by_phone(users, workspace, mysql_db):
    workspace.settings(phone_identifiers=True)
    users.insert("users", [{"phone": "+14155550123", "plan": "pro"}])
    run(sql="SELECT phone, plan FROM users", identify_by="phone")
    mysql_db.execute("CREATE TABLE companies (object_id VARCHAR(10))")
    mysql_db.insert("companies", [{"object_id": "acme"}])
    run(sql="SELECT object_id FROM companies", import_type="objects")
    mysql_db.execute("CREATE TABLE members (n INT AUTO_INCREMENT PRIMARY KEY, phone VARCHAR(40), company VARCHAR(10))")
    mysql_db.insert(
        "members", [{"phone": "+14155550123", "company": "acme"}, {"phone": "4155550123", "company": "acme"}]
    )

    outcome, report = run(
        RelationshipOperator, sql="SELECT phone, company AS object_id FROM members ORDER BY n", identify_by="phone"
    )

    assert outcome.task_states == {"sync": "failed"} and report["errors_by_type"] == {"invalid_phone": 1}
    (person,) = workspace.people()
    assert [(r["person"]["cio_id"], r["object_id"]) for r in workspace.relationships()] == [(person["cio_id"], "acme")]
