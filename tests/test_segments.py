"""Segments: after the sync, the people it applied are added to a manual segment (by id, or by name: found or
created), with the identifier type the sync used."""

from __future__ import annotations

import json

from sync_helpers import person, run_job, seed, sync_dag_fixture  # noqa: F401

from airflow_provider_cio.sync.after_sync import SegmentTarget


def fill_users(mysql_db, count: int = 4) -> None:
    mysql_db.execute("CREATE TABLE users (id INT PRIMARY KEY, email VARCHAR(100), plan VARCHAR(10))")
    mysql_db.insert("users", [{"id": n, "email": f"user{n}@example.com", "plan": "pro"} for n in range(1, count + 1)])


def members(workspace, segment_id: int) -> set[str]:
    """The ids (or emails, for people without an id) of the segment's members."""
    people = {p["cio_id"]: p["id"] or p["email"] for p in workspace.people()}
    [segment] = [s for s in workspace.segments() if s["id"] == segment_id]
    return {people[cio_id] for cio_id in segment["members"]}


def add_customers_calls(workspace) -> list[dict]:
    return [r for r in workspace.requests_log() if r["path"].endswith("/add_customers")]


def test_synced_people_are_added_to_a_segment_given_by_id(mysql_db, workspace, sync_dag) -> None:
    fill_users(mysql_db)
    mysql_db.execute("UPDATE users SET email = 'broken' WHERE id = 3")
    segment = workspace.create_segment("VIPs")
    workspace.create_segment("Someone else's")
    run = sync_dag(sql="SELECT id, email, plan FROM users ORDER BY id", segment_id=segment["id"]).run()

    assert run.state == "failed", "row 3 failed"
    assert members(workspace, segment["id"]) == {"1", "2", "4"}, "the failed row's person is not added"
    assert run.report["segment_id"] == segment["id"] and run.report["people_added_to_segment"] == 3
    assert [s["members"] for s in workspace.segments() if s["name"] == "Someone else's"] == [[]]


def test_a_segment_given_by_name_is_created_once_then_reused(mysql_db, workspace, sync_dag) -> None:
    fill_users(mysql_db)
    dag = sync_dag(sql="SELECT id, plan FROM users WHERE id <= 2", segment_name="Synced from MySQL")
    first = dag.run()

    assert first.state == "success"
    [segment] = workspace.segments()
    assert segment["name"] == "Synced from MySQL" and segment["type"] == "manual"
    assert first.report["segment_id"] == segment["id"]
    assert members(workspace, segment["id"]) == {"1", "2"}

    dag.operator.sql = "SELECT id, plan FROM users WHERE id > 2"
    second = dag.run()
    assert second.state == "success"
    assert [s["name"] for s in workspace.segments()] == ["Synced from MySQL"], "not created twice"
    assert second.report["segment_id"] == segment["id"]
    assert members(workspace, segment["id"]) == {"1", "2", "3", "4"}
    creations = [r for r in workspace.requests_log() if r["method"] == "POST" and r["path"] == "/v1/segments"]
    assert len(creations) == 1


def test_an_existing_segment_of_that_name_is_used(mysql_db, workspace) -> None:
    fill_users(mysql_db, 2)
    existing = workspace.create_segment("Trial users")
    job = run_job("SELECT id FROM users", segment=SegmentTarget(segment_name="Trial users"))
    assert job.report.segment_id == existing["id"]
    assert len(workspace.segments()) == 1 and members(workspace, existing["id"]) == {"1", "2"}


def test_the_segment_name_is_templated(mysql_db, workspace, sync_dag) -> None:
    fill_users(mysql_db, 1)
    dag = sync_dag(sql="SELECT id FROM users", segment_name="Synced by {{ dag.dag_id }}")
    assert dag.run().state == "success"
    assert [s["name"] for s in workspace.segments()] == [f"Synced by {dag.dag.dag_id}"]


def test_people_synced_by_email_are_added_by_email(mysql_db, workspace) -> None:
    fill_users(mysql_db, 3)
    segment = workspace.create_segment("By email")
    job = run_job("SELECT email, plan FROM users", identify_by="email", segment=SegmentTarget(segment_id=segment["id"]))

    assert job.report.people_added_to_segment == 3
    assert members(workspace, segment["id"]) == {"user1@example.com", "user2@example.com", "user3@example.com"}


def test_suppressed_people_and_failed_attribute_changes_are_not_added(mysql_db, workspace) -> None:
    fill_users(mysql_db)
    seed(person({"id": "10"}, email="user2@example.com"), person({"id": "3"}, email="user3@example.com"))
    workspace.suppress(id="3")
    segment = workspace.create_segment("Clean")
    job = run_job("SELECT id, email FROM users ORDER BY id", segment=SegmentTarget(segment_id=segment["id"]))

    assert job.error_rows() == [(2, "2", "failed_attribute_change")]
    assert job.report.rows_suppressed == 1
    assert members(workspace, segment["id"]) == {"1", "4"}


def test_thousands_of_people_are_added_1000_a_call(mysql_db, workspace) -> None:
    mysql_db.execute("CREATE TABLE users (id INT PRIMARY KEY)")
    mysql_db.insert("users", [{"id": n} for n in range(1, 2501)])
    segment = workspace.create_segment("Everyone")
    job = run_job("SELECT id FROM users", segment=SegmentTarget(segment_id=segment["id"]))

    assert job.report.people_added_to_segment == 2500
    assert len(members(workspace, segment["id"])) == 2500
    assert len(add_customers_calls(workspace)) == 3


def test_an_unknown_segment_id_fails_the_task_after_the_people_are_synced(mysql_db, workspace, sync_dag) -> None:
    fill_users(mysql_db, 2)
    run = sync_dag(sql="SELECT id FROM users", segment_id=999, retries=0).run()

    assert run.state == "failed"
    assert "/api/v1/segments/999/add_customers" in run.report["error"] and "404" in run.report["error"]
    assert len(workspace.people()) == 2, "the people themselves were synced"


def test_a_segment_name_needs_the_app_api_key(mysql_db, workspace, sync_dag, monkeypatch) -> None:
    fill_users(mysql_db, 1)
    connection = workspace.connection()
    del connection["extra"]["app_api_key"]
    monkeypatch.setenv("AIRFLOW_CONN_CIO_TRACK_ONLY", json.dumps(connection))
    run = sync_dag(sql="SELECT id FROM users", segment_name="New", customerio_conn_id="cio_track_only").run()

    assert run.state == "failed"
    assert "has no App API key" in run.report["error"]
    assert workspace.segments() == []
