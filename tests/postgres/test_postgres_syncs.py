"""People, objects and relationships from a real PostgreSQL through real DagRuns into the emulator."""

from __future__ import annotations

import csv

import pytest

from airflow_provider_cio.operators.postgres import PostgresRelationshipOperator, PostgresReverseETLOperator

from .helpers import PostgresSyncDag

pytestmark = pytest.mark.usefixtures("airflow_db")

USERS = (
    "CREATE TABLE users (id int PRIMARY KEY, email text, plan text, updated_at timestamptz NOT NULL DEFAULT now())",
    "INSERT INTO users (id, email, plan, updated_at) VALUES (1, 'ada@example.com', 'pro', '2020-01-01'), "
    "(2, 'grace@example.com', 'free', '2020-01-01'), (3, NULL, 'pro', '2020-01-01')",
)
SINCE = "SELECT id, email, plan FROM users WHERE updated_at >= to_timestamp({{ last_sync_time }}) ORDER BY id"


def attributes(workspace) -> dict[str, dict]:
    return {p["id"]: p["attributes"] for p in workspace.people()}


def test_people_then_only_rows_changed_since_the_last_successful_run(postgres_db, workspace) -> None:
    postgres_db.execute(*USERS)
    dag = PostgresSyncDag(PostgresReverseETLOperator, sql=SINCE)
    first = dag.run()
    assert first.state == "success", first.report
    assert first.report["last_sync_time"] == 0 and first.report["rows_sent"] == 3
    assert attributes(workspace) == {"1": {"plan": "pro"}, "2": {"plan": "free"}, "3": {"plan": "pro"}}
    assert workspace.person(id="1")["email"] == "ada@example.com"

    postgres_db.execute("UPDATE users SET plan = 'enterprise', updated_at = now() + interval '1 hour' WHERE id = 2")
    second = dag.run()

    assert second.state == "success", second.report
    assert second.report["last_sync_time"] == int(first.start_date.timestamp())
    assert second.report["rows_read"] == 1 and second.report["rows_sent"] == 1
    assert attributes(workspace)["2"] == {"plan": "enterprise"}


def test_objects_with_their_type_column(postgres_db, workspace) -> None:
    workspace.settings(object_types=["1", "2"])
    postgres_db.execute(
        "CREATE TABLE companies (id int, kind int, name text, founded date)",
        "INSERT INTO companies VALUES (10, 2, 'Acme', '2000-01-01'), (11, NULL, 'Globex', NULL)",
    )
    run = PostgresSyncDag(
        PostgresReverseETLOperator,
        sql="SELECT id AS object_id, kind AS object_type_id, name, founded FROM companies",
        import_type="objects",
    ).run()

    assert run.state == "success", run.report
    assert sorted((o["object_type_id"], o["object_id"], o["attributes"]) for o in workspace.objects()) == [
        ("1", "11", {"name": "Globex"}),
        ("2", "10", {"name": "Acme", "founded": "946684800"}),
    ]


def test_relationships_added_and_removed_by_a_boolean_deleted_column(postgres_db, workspace) -> None:
    postgres_db.execute(
        *USERS,
        "CREATE TABLE memberships (person_id int, company_id text, role text, removed boolean)",
        "INSERT INTO memberships VALUES (1, 'c1', 'admin', false), (2, 'c1', NULL, NULL)",
    )
    PostgresSyncDag(PostgresReverseETLOperator, sql="SELECT id FROM users").run()
    PostgresSyncDag(PostgresReverseETLOperator, sql="SELECT 'c1' AS object_id", import_type="objects").run()
    dag = PostgresSyncDag(
        PostgresRelationshipOperator,
        sql="SELECT person_id AS id, company_id AS object_id, role, removed AS deleted FROM memberships ORDER BY 1",
    )
    first = dag.run()
    assert first.state == "success", first.report

    def held() -> set[tuple[str, str, tuple]]:
        return {
            (r["person"]["id"], r["object_id"], tuple(sorted(r["attributes"].items())))
            for r in workspace.relationships()
        }

    assert held() == {("1", "c1", (("role", "admin"),)), ("2", "c1", ())}
    postgres_db.execute("UPDATE memberships SET removed = true WHERE person_id = 1")
    assert dag.run().state == "success"
    assert held() == {("2", "c1", ())}


def test_failed_rows_are_reported_the_task_fails_and_last_sync_time_stays(postgres_db, workspace) -> None:
    postgres_db.execute(*USERS, "UPDATE users SET email = 'not an email' WHERE id = 2")
    dag = PostgresSyncDag(PostgresReverseETLOperator, sql=SINCE)
    first = dag.run()

    assert first.state == "failed"
    assert first.report["rows_sent"] == 2 and first.report["rows_failed"] == 1
    with open(first.report["error_report"].removeprefix("file://"), newline="") as report:
        assert [(r["identifier"], r["error_type"]) for r in csv.DictReader(report)] == [("2", "invalid_email")]
    assert sorted(attributes(workspace)) == ["1", "3"]

    postgres_db.execute("UPDATE users SET email = 'grace@example.com' WHERE id = 2")
    second = dag.run()
    assert second.state == "success"
    assert second.report["last_sync_time"] == 0  # the failed run did not advance it
    assert workspace.person(id="2")["email"] == "grace@example.com"


def test_mirror_sends_only_changes_and_deletes_people_who_left_the_query(postgres_db, workspace) -> None:
    postgres_db.execute(
        "CREATE TABLE people (id int PRIMARY KEY, plan text, score numeric, seen timestamptz)",
        "INSERT INTO people SELECT g, 'free', g * 1.5, '2024-01-01'::timestamptz + g * interval '1 day' "
        "FROM generate_series(1, 20) g",
    )
    dag = PostgresSyncDag(
        PostgresReverseETLOperator,
        sql="SELECT id, plan, score, seen FROM people",
        sync_mode="mirror",
        on_removed="delete",
        max_removed=5,
    )
    first = dag.run()
    assert first.state == "success", first.report
    assert first.report["rows_sent"] == 20

    postgres_db.execute("UPDATE people SET plan = 'pro' WHERE id = 3", "DELETE FROM people WHERE id IN (4, 5)")
    second = dag.run()

    assert second.state == "success", second.report
    assert second.report["rows_sent"] == 1 and second.report["rows_unchanged"] == 17
    assert second.report["rows_removed"] == 2
    people = attributes(workspace)
    assert sorted(map(int, people)) == [i for i in range(1, 21) if i not in (4, 5)]
    assert people["3"] == {"plan": "pro", "score": "4.5", "seen": str(1704067200 + 3 * 86400)}


def test_mirror_relationships_delete_a_membership_deleted_in_postgres(postgres_db, workspace) -> None:
    postgres_db.execute(
        *USERS,
        "CREATE TABLE memberships (person_id int, company_id text, role text)",
        "INSERT INTO memberships VALUES (1, 'c1', 'admin'), (2, 'c1', 'member'), (3, 'c2', 'member')",
    )
    PostgresSyncDag(PostgresReverseETLOperator, sql="SELECT id FROM users").run()
    PostgresSyncDag(
        PostgresReverseETLOperator, sql="SELECT unnest(ARRAY['c1', 'c2']) AS object_id", import_type="objects"
    ).run()
    dag = PostgresSyncDag(
        PostgresRelationshipOperator,
        sql="SELECT person_id AS id, company_id AS object_id, role FROM memberships",
        sync_mode="mirror",
        max_removed=1,
    )
    assert dag.run().state == "success"
    postgres_db.execute("DELETE FROM memberships WHERE person_id = 2")
    second = dag.run()

    assert second.state == "success", second.report
    assert second.report["rows_removed"] == 1 and second.report["rows_unchanged"] == 2
    assert {(r["person"]["id"], r["object_id"]) for r in workspace.relationships()} == {("1", "c1"), ("3", "c2")}
