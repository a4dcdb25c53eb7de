"""RelationshipOperator end to end: real MySQL, the workspace emulator over HTTP, real DagRuns."""

from __future__ import annotations

import csv
import datetime as dt
import itertools
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import orjson
import pytest
from airflow.sdk import DAG

from airflow_provider_cio.hooks.customerio import CustomerIOHook
from airflow_provider_cio.operators.relationships import RelationshipOperator
from airflow_provider_cio.testing import WorkspaceEmulator
from airflow_provider_cio.testing.dagruns import run_dag

pytestmark = pytest.mark.usefixtures("airflow_db")

_dag_numbers = itertools.count(1)
BATCH = "POST /api/v2/batch"
MEMBERSHIPS = """
CREATE TABLE memberships (
    n INT AUTO_INCREMENT PRIMARY KEY,
    person_id VARCHAR(20),
    email VARCHAR(100),
    company VARCHAR(20),
    removed TINYINT(1),
    role VARCHAR(20),
    seats INT
)"""


@dataclass
class Sync:
    """What one DagRun of a RelationshipOperator task left behind."""

    state: str
    report: dict[str, Any]
    errors: list[dict[str, str]]


def sync(sql: str, **kwargs: Any) -> Sync:
    """Run ``sql`` through a RelationshipOperator in a DagRun of a new DAG; read its report and error CSV."""
    with DAG(
        f"relationships_{next(_dag_numbers)}", schedule=None, start_date=dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    ) as dag:
        RelationshipOperator(task_id="sync_relationships", sql=sql, **kwargs)
    outcome = run_dag(dag, dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc))
    report = outcome.xcom("sync_relationships")
    errors = []
    if report and report.get("error_report"):
        with open(urlparse(report["error_report"]).path, newline="") as file:
            errors = list(csv.DictReader(file))
    return Sync(outcome.task_states["sync_relationships"], report, errors)


def seed(people: list[dict[str, str]] = (), objects: list[str] = (), object_type_id: str = "1") -> None:  # type: ignore[assignment]
    """Create people (``{"id": ..., "email": ...}``) and objects in the workspace, over the Track API."""
    ops = [
        orjson.dumps({"type": "person", "identifiers": {"id": p["id"]}, "action": "identify", "attributes": p})
        if "id" in p
        else orjson.dumps({"type": "person", "identifiers": {"email": p["email"]}, "action": "identify"})
        for p in people
    ]
    ops += [
        orjson.dumps(
            {"type": "object", "identifiers": {"object_type_id": object_type_id, "object_id": o}, "action": "identify"}
        )
        for o in objects
    ]
    hook = CustomerIOHook()
    try:
        assert hook.send_batch(ops) == []
    finally:
        hook.close()


def relationships(workspace: WorkspaceEmulator, by: str = "id") -> dict[tuple[str, str, str], dict[str, Any]]:
    """``(person id or email, object_type_id, object_id) -> relationship attributes`` in the workspace."""
    return {(r["person"][by], r["object_type_id"], r["object_id"]): r["attributes"] for r in workspace.relationships()}


def batch_ops(workspace: WorkspaceEmulator) -> int:
    """Ops the workspace received in batch requests (accepted or refused)."""
    ops = workspace.stats().get(BATCH, {}).get("ops", {})
    return ops.get("accepted", 0) + ops.get("failed", 0)


def test_adds_and_deletes_relationships_in_one_sync(mysql_db, workspace: WorkspaceEmulator) -> None:
    seed([{"id": "1"}, {"id": "2"}], ["acme", "globex", "initech"])
    mysql_db.execute(MEMBERSHIPS)
    mysql_db.insert(
        "memberships",
        [
            {"person_id": "1", "company": "acme", "removed": None},
            {"person_id": "1", "company": "globex", "removed": None},
            {"person_id": "2", "company": "globex", "removed": 0},
            {"person_id": "2", "company": "initech", "removed": 0},
        ],
    )
    query = "SELECT person_id AS id, company AS object_id, removed AS deleted FROM memberships ORDER BY n"
    first = sync(query)
    assert first.state == "success"
    assert set(relationships(workspace)) == {
        ("1", "1", "acme"),
        ("1", "1", "globex"),
        ("2", "1", "globex"),
        ("2", "1", "initech"),
    }

    mysql_db.execute("UPDATE memberships SET removed = 1 WHERE n IN (2, 4)")
    mysql_db.insert("memberships", [{"person_id": "2", "company": "acme", "removed": 0}])
    second = sync(query)

    assert second.state == "success", second.report
    assert set(relationships(workspace)) == {("1", "1", "acme"), ("2", "1", "globex"), ("2", "1", "acme")}
    assert second.report["rows_read"] == 5
    assert second.report["rows_sent"] == 5
    assert second.report["rows_failed"] == 0
    assert second.report["error_report"] is None


def test_relationship_attributes_are_set_changed_and_removed(mysql_db, workspace: WorkspaceEmulator) -> None:
    seed([{"id": "1"}], ["acme", "globex"])
    mysql_db.execute(MEMBERSHIPS)
    mysql_db.insert(
        "memberships",
        [
            {"person_id": "1", "company": "acme", "role": "admin", "seats": 5},
            {"person_id": "1", "company": "globex", "role": "viewer", "seats": 2},
        ],
    )
    query = "SELECT person_id AS id, company AS object_id, role, seats FROM memberships ORDER BY n"
    assert sync(query).state == "success"
    assert relationships(workspace) == {
        ("1", "1", "acme"): {"role": "admin", "seats": "5"},
        ("1", "1", "globex"): {"role": "viewer", "seats": "2"},
    }

    mysql_db.execute("UPDATE memberships SET role = 'owner', seats = NULL")
    assert sync(query).state == "success"  # empty_values="ignore": NULL leaves the attribute as it is
    assert relationships(workspace) == {
        ("1", "1", "acme"): {"role": "owner", "seats": "5"},
        ("1", "1", "globex"): {"role": "owner", "seats": "2"},
    }

    assert sync(query, empty_values="delete").state == "success"  # NULL removes it
    assert relationships(workspace) == {
        ("1", "1", "acme"): {"role": "owner"},
        ("1", "1", "globex"): {"role": "owner"},
    }


def test_a_deleted_row_removes_the_relationship_and_sends_no_attributes(mysql_db, workspace: WorkspaceEmulator) -> None:
    seed([{"id": "1"}], ["acme"])
    mysql_db.execute(MEMBERSHIPS)
    mysql_db.insert("memberships", [{"person_id": "1", "company": "acme", "removed": 0, "role": "admin"}])
    query = "SELECT person_id AS id, company AS object_id, removed AS deleted, role FROM memberships"
    assert sync(query).state == "success"
    mysql_db.execute("UPDATE memberships SET removed = 1")

    result = sync(query.replace("role", "REPEAT('x', 2000) AS role"))  # over the value limit, but not sent

    assert result.state == "success", result.errors
    assert relationships(workspace) == {}


@pytest.mark.parametrize(
    ("column", "values"),
    [
        ("TINYINT(1)", ["1", "0", "NULL"]),
        ("BOOLEAN", ["TRUE", "FALSE", "NULL"]),
        ("BIT(1)", ["b'1'", "b'0'", "NULL"]),
        ("VARCHAR(5)", ["'true'", "'false'", "NULL"]),
        ("VARCHAR(5)", ["'TRUE'", "'False'", "NULL"]),
        ("CHAR(1)", ["'1'", "'0'", "NULL"]),
        ("DECIMAL(3,0)", ["1", "0", "NULL"]),
        ("JSON", ["'true'", "'false'", "NULL"]),
    ],
)
def test_deleted_accepts_every_form_of_boolean_mysql_returns(
    mysql_db, workspace: WorkspaceEmulator, column: str, values: list[str]
) -> None:
    seed([{"id": "1"}], ["a", "b", "c"])
    mysql_db.execute(
        "CREATE TABLE links (n INT PRIMARY KEY, person_id INT, company VARCHAR(10))",
        "INSERT INTO links VALUES (1, 1, 'a'), (2, 1, 'b'), (3, 1, 'c')",
    )
    query = "SELECT person_id AS id, company AS object_id FROM links ORDER BY n"
    assert sync(query).state == "success"
    mysql_db.execute(f"ALTER TABLE links ADD COLUMN removed {column}")
    for n, value in enumerate(values, 1):
        mysql_db.execute(f"UPDATE links SET removed = {value} WHERE n = {n}")

    result = sync("SELECT person_id AS id, company AS object_id, removed AS deleted FROM links ORDER BY n")

    assert result.state == "success", result.errors
    assert set(relationships(workspace)) == {("1", "1", "b"), ("1", "1", "c")}


def test_a_deleted_value_that_is_not_a_boolean_fails_its_row_only(mysql_db, workspace: WorkspaceEmulator) -> None:
    seed([{"id": "1"}, {"id": "2"}], ["a", "b", "c", "d"])
    mysql_db.execute(
        "CREATE TABLE links (n INT PRIMARY KEY, person_id INT, company VARCHAR(10), removed_int INT, "
        "removed_text VARCHAR(10))",
        "INSERT INTO links VALUES (1, 1, 'a', 0, 'false'), (2, 1, 'b', 2, 'false'), (3, 1, 'c', 0, 'yes'), "
        "(4, 2, 'd', NULL, NULL)",
    )

    result = sync(
        "SELECT person_id AS id, company AS object_id, IF(removed_text = 'yes', 'yes', removed_int) AS deleted "
        "FROM links ORDER BY n"
    )

    assert result.state == "failed"
    assert set(relationships(workspace)) == {("1", "1", "a"), ("2", "1", "d")}
    assert [(e["row_number"], e["identifier"], e["error_type"]) for e in result.errors] == [
        ("2", "1 -> 1:b", "invalid_value"),
        ("3", "1 -> 1:c", "invalid_value"),
    ]
    assert all("deleted column" in e["message"] and "'true'/'false'" in e["message"] for e in result.errors)
    assert "yes" not in result.errors[1]["message"]
    assert result.report["rows_failed"] == 2
    assert result.report["rows_sent"] == 2


def test_people_are_identified_by_email_even_when_the_query_has_an_id_column(
    mysql_db, workspace: WorkspaceEmulator
) -> None:
    seed([{"id": "7", "email": "jane@example.com"}, {"email": "joe@example.com"}], ["acme"])
    mysql_db.execute(MEMBERSHIPS)
    mysql_db.insert(
        "memberships",
        [
            {"person_id": "999", "email": "Jane@Example.com", "company": "acme", "role": "admin"},
            {"person_id": None, "email": "joe@example.com", "company": "acme", "role": "viewer"},
        ],
    )

    result = sync(
        "SELECT person_id AS id, email, company AS object_id, role FROM memberships ORDER BY n", identify_by="email"
    )

    assert result.state == "success", result.errors
    assert relationships(workspace, by="email") == {
        ("jane@example.com", "1", "acme"): {"role": "admin"},
        ("joe@example.com", "1", "acme"): {"role": "viewer"},
    }
    assert workspace.person(id="999") is None


def test_unknown_people_and_objects_fail_their_rows_as_the_workspace_reports_them(
    mysql_db, workspace: WorkspaceEmulator
) -> None:
    seed([{"id": "1"}], ["acme", "globex"])
    mysql_db.execute(MEMBERSHIPS)
    mysql_db.insert(
        "memberships",
        [
            {"person_id": "1", "company": "acme"},
            {"person_id": "1", "company": "nosuch"},
            {"person_id": "1", "company": "globex"},
            {"person_id": "99", "company": "acme"},
            {"person_id": "99", "company": "globex"},
        ],
    )

    before = batch_ops(workspace)

    result = sync("SELECT person_id AS id, company AS object_id FROM memberships ORDER BY n")

    assert result.state == "failed"
    assert set(relationships(workspace)) == {("1", "1", "acme"), ("1", "1", "globex")}
    assert batch_ops(workspace) - before == 2 + 3  # two ops, then person 1's again one row each
    assert [(e["row_number"], e["identifier"], e["error_type"]) for e in result.errors] == [
        ("2", "1 -> 1:nosuch", "not_found"),
        ("4", "99", "not_found"),
        ("5", "99", "not_found"),
    ]
    assert "no object nosuch" in result.errors[0]["message"]
    assert "no person has id 99" in result.errors[1]["message"]
    report = result.report
    assert (report["rows_read"], report["rows_sent"], report["rows_failed"]) == (5, 2, 3)
    assert report["errors_by_type"] == {"not_found": 3}
    assert report["error_report"].endswith(".csv")


def test_an_object_type_the_workspace_lacks_fails_only_its_rows(mysql_db, workspace: WorkspaceEmulator) -> None:
    seed([{"id": "1"}], ["acme"])
    mysql_db.execute(
        "CREATE TABLE links (n INT PRIMARY KEY, person_id INT, company VARCHAR(10), kind INT)",
        "INSERT INTO links VALUES (1, 1, 'acme', NULL), (2, 1, 'acme', 5), (3, 1, 'acme', 1)",
    )

    result = sync("SELECT person_id AS id, company AS object_id, kind AS object_type_id FROM links ORDER BY n")

    assert result.state == "failed"
    assert set(relationships(workspace)) == {("1", "1", "acme")}
    assert [(e["row_number"], e["identifier"]) for e in result.errors] == [("2", "1 -> 5:acme")]
    assert "object type 5 does not exist" in result.errors[0]["message"]


def test_a_refused_group_keeps_the_persons_rows_in_row_order(mysql_db, workspace: WorkspaceEmulator) -> None:
    """Rows 1-3 travel in one op that the workspace refuses for row 2; row 4, in the same batch, was
    applied first. The good rows of the group are sent again, then row 4, so the last word is row 4's."""
    seed([{"id": "1"}], ["acme", "globex"])
    mysql_db.execute(MEMBERSHIPS)
    mysql_db.insert(
        "memberships",
        [
            {"person_id": "1", "company": "acme", "removed": 0},
            {"person_id": "1", "company": "nosuch", "removed": 0},
            {"person_id": "1", "company": "globex", "removed": 0},
            {"person_id": "1", "company": "acme", "removed": 1},
        ],
    )

    result = sync("SELECT person_id AS id, company AS object_id, removed AS deleted FROM memberships ORDER BY n")

    assert set(relationships(workspace)) == {("1", "1", "globex")}
    assert [e["row_number"] for e in result.errors] == ["2"]
    assert (result.report["rows_sent"], result.report["rows_failed"]) == (3, 1)


@pytest.mark.parametrize(
    ("select", "identify_by", "missing"),
    [
        ("SELECT person_id AS id, company FROM memberships", "id", "'object_id'"),
        ("SELECT email, company AS object_id FROM memberships", "id", "'id'"),
        ("SELECT person_id AS id, company AS object_id FROM memberships", "email", "'email'"),
        ("SELECT person_id AS ID, company AS object_id FROM memberships", "id", "'id'"),
    ],
)
def test_a_query_without_its_identifier_columns_is_refused_before_anything_is_sent(
    mysql_db, workspace: WorkspaceEmulator, select: str, identify_by: str, missing: str
) -> None:
    mysql_db.execute(MEMBERSHIPS)
    mysql_db.insert("memberships", [{"person_id": "1", "email": "a@example.com", "company": "acme"}])

    result = sync(select, identify_by=identify_by)

    assert result.state == "failed"
    assert f"needs a column named {missing}" in result.report["error"]
    assert result.report["rows_sent"] == 0
    assert workspace.stats().get(BATCH) is None


def test_identifying_by_id_the_email_column_is_not_sent(mysql_db, workspace: WorkspaceEmulator) -> None:
    seed([{"id": "1", "email": "a@example.com"}], ["acme"])
    mysql_db.execute(MEMBERSHIPS)
    mysql_db.insert("memberships", [{"person_id": "1", "email": "other@example.com", "company": "acme", "role": "r"}])

    result = sync("SELECT * FROM memberships")  # id and email, identify_by="id" (SELECT * is fine)

    assert result.state == "failed"  # SELECT * has no "id" or "object_id" column here
    result = sync("SELECT person_id AS id, email, company AS object_id, role FROM memberships")

    assert result.state == "success", result.errors
    assert relationships(workspace) == {("1", "1", "acme"): {"role": "r"}}
    assert workspace.person(id="1")["email"] == "a@example.com"


def test_rows_of_one_person_travel_in_one_op(mysql_db, workspace: WorkspaceEmulator) -> None:
    people, companies = 20, 50
    seed([{"id": str(p)} for p in range(people)], [f"c{c}" for c in range(companies)])
    mysql_db.execute(MEMBERSHIPS)
    mysql_db.insert(
        "memberships",
        [
            {"person_id": str(p), "company": f"c{c}", "role": "member", "seats": c}
            for c in range(companies)
            for p in range(people)
        ],
    )
    before = batch_ops(workspace)

    result = sync("SELECT person_id AS id, company AS object_id, role, seats FROM memberships ORDER BY person_id, n")

    rows = people * companies
    assert result.state == "success"
    assert len(workspace.relationships()) == rows
    assert result.report["rows_sent"] == rows
    assert batch_ops(workspace) - before == people
    assert result.report["ops_sent"] == people


def test_an_op_stays_under_32000_bytes(mysql_db, workspace: WorkspaceEmulator) -> None:
    companies = 120
    seed([{"id": "1"}], [f"c{c}" for c in range(companies)])
    mysql_db.execute(MEMBERSHIPS, "ALTER TABLE memberships ADD COLUMN note VARCHAR(1000)")
    mysql_db.insert(
        "memberships",
        [{"person_id": "1", "company": f"c{c}", "role": "r", "note": "n" * 900} for c in range(companies)],
    )

    before = batch_ops(workspace)

    result = sync("SELECT person_id AS id, company AS object_id, role, note FROM memberships ORDER BY n")

    assert result.state == "success", result.errors  # the workspace refuses an op over 32,000 bytes
    assert len(workspace.relationships()) == companies
    assert 4 <= batch_ops(workspace) - before <= 5  # about 114 kB of relationships


def test_refused_groups_on_several_lanes_add_up(mysql_db, workspace: WorkspaceEmulator) -> None:
    people, companies = 60, 10
    seed([{"id": str(p)} for p in range(people - 5)], [f"c{c}" for c in range(companies)])
    mysql_db.execute(MEMBERSHIPS)
    mysql_db.insert(
        "memberships",
        [
            {"person_id": str(p), "company": "gone" if c == p % companies else f"c{c}", "removed": int(c == 9)}
            for p in range(people)
            for c in range(companies)
        ],
    )

    result = sync(
        "SELECT person_id AS id, company AS object_id, removed AS deleted FROM memberships ORDER BY n",
        concurrency=4,
    )

    failed = {(e["row_number"], e["error_type"]) for e in result.errors}
    unknown_people = {str(n) for n in range((people - 5) * companies + 1, people * companies + 1)}
    unknown_objects = {str(p * companies + p % companies + 1) for p in range(people - 5) if p % companies != 9}
    assert failed == {(n, "not_found") for n in unknown_people | unknown_objects}
    report = result.report
    assert report["rows_read"] == people * companies
    assert report["rows_sent"] + report["rows_failed"] == report["rows_read"]
    expected = {(str(p), "1", f"c{c}") for p in range(people - 5) for c in range(companies - 1) if c != p % companies}
    assert set(relationships(workspace)) == expected
