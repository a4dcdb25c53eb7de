"""Mirror mode over real DagRuns, real MariaDB and the emulator: only changes are sent, removals follow
``on_removed``, the guard stops mass removals, failed rows are retried, settings changes start afresh,
and the snapshot lives under ``[customerio] storage_base`` and moves only when a run succeeds."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk import DAG

from airflow_provider_cio.hooks.customerio import CustomerIOHook
from airflow_provider_cio.operators.relationships import RelationshipOperator
from airflow_provider_cio.operators.reverse_etl import MySQLReverseETLOperator
from airflow_provider_cio.testing import WorkspaceEmulator
from airflow_provider_cio.testing.dagruns import DagRunOutcome, run_dag

pytestmark = pytest.mark.usefixtures("airflow_db")

UTC = timezone.utc
START = datetime(2025, 6, 1, tzinfo=UTC)
BATCH = "POST /api/v2/batch"
PEOPLE_TABLE = (
    "CREATE TABLE people (id INT PRIMARY KEY, email VARCHAR(254) NOT NULL, name VARCHAR(100) NULL, "
    "plan VARCHAR(20) NOT NULL, active BOOLEAN NOT NULL DEFAULT TRUE)"
)
PEOPLE_SQL = "SELECT id, email, name, plan FROM people"
_hours = itertools.count(1)
_dags = itertools.count(1)


def next_date() -> datetime:
    """A logical date later than every one before (dag.test() starts a DagRun at its logical date)."""
    return START + timedelta(hours=next(_hours))


def people_dag(sql: str = PEOPLE_SQL, **kwargs: Any) -> DAG:
    """A DAG with one mirror people sync by id (task ``sync``)."""
    kwargs.setdefault("sync_mode", "mirror")
    with DAG(f"mirror_{next(_dags)}", schedule="@hourly", start_date=START, catchup=False) as dag:
        MySQLReverseETLOperator(task_id="sync", sql=sql, identify_by="id", activity_settle_seconds=0, **kwargs)
    return dag


def run(dag: DAG) -> tuple[DagRunOutcome, dict[str, Any]]:
    """One DagRun; its outcome and the sync's report."""
    outcome = run_dag(dag, next_date())
    return outcome, outcome.xcom("sync")


def ops_accepted(workspace: WorkspaceEmulator) -> int:
    """Batch ops the workspace has accepted so far."""
    return workspace.stats().get(BATCH, {}).get("ops", {}).get("accepted", 0)


def source(db: Any) -> dict[str, dict[str, Any]]:
    """What the workspace must hold for each person of the table (NULL: no attribute)."""
    people = {}
    for person_id, email, name, plan in db.query("SELECT id, email, name, plan FROM people"):
        attributes = {"plan": plan} if name is None else {"name": name, "plan": plan}
        people[str(person_id)] = {"email": email, "attributes": attributes}
    return people


def held(workspace: WorkspaceEmulator) -> dict[str, dict[str, Any]]:
    """What the workspace holds: id -> email and attributes."""
    return {p["id"]: {"email": p["email"], "attributes": p["attributes"]} for p in workspace.people()}


def counted(report: dict[str, Any]) -> int:
    """The right side of the count identity."""
    keys = ("rows_sent", "rows_failed", "rows_suppressed", "rows_not_sent", "rows_unchanged")
    return sum(report[key] for key in keys)


def create_people(db: Any, count: int) -> None:
    db.execute(PEOPLE_TABLE)
    db.insert(
        "people",
        [{"id": n, "email": f"p{n}@example.com", "name": f"Person {n}", "plan": "free"} for n in range(1, count + 1)],
    )


@pytest.mark.parametrize("on_removed", ["ignore", "delete", "suppress"])
def test_five_runs_send_only_changes_and_handle_removed_people(
    mysql_db: Any, workspace: WorkspaceEmulator, on_removed: str
) -> None:
    create_people(mysql_db, 30)
    dag = people_dag(on_removed=on_removed)
    removed: set[str] = set()

    def check(report: dict[str, Any], sent: int, unchanged: int, removals: int) -> None:
        assert report["status"] == "success", report
        assert (report["rows_sent"], report["rows_unchanged"]) == (sent, unchanged)
        assert report["rows_removed"] == (removals if on_removed != "ignore" else 0)
        assert report["rows_read"] == counted(report)
        expected = source(mysql_db)
        workspace_now = held(workspace)
        if on_removed == "ignore":
            assert {k: v for k, v in workspace_now.items() if k not in removed} == expected
            assert removed <= set(workspace_now)
        else:
            assert workspace_now == expected
        if on_removed == "suppress":
            assert set(workspace.suppressions()["ids"]) == removed

    # 1: everything is new.
    before = ops_accepted(workspace)
    check(run(dag)[1], 30, 0, 0)
    assert ops_accepted(workspace) - before == 30

    # 2: nothing changed: nothing is sent.
    before = ops_accepted(workspace)
    check(run(dag)[1], 0, 30, 0)
    assert ops_accepted(workspace) == before

    # 3: two updates, a value set to NULL, an insert.
    mysql_db.execute(
        "UPDATE people SET plan = 'pro' WHERE id IN (3, 4)",
        "UPDATE people SET name = NULL WHERE id = 5",
        "INSERT INTO people (id, email, name, plan) VALUES (31, 'p31@example.com', 'Person 31', 'team')",
    )
    before = ops_accepted(workspace)
    check(run(dag)[1], 4, 27, 0)
    assert ops_accepted(workspace) - before == 4
    assert "name" not in held(workspace)["5"]["attributes"]

    # 4: two hard deletes (within 10% of 31).
    mysql_db.execute("DELETE FROM people WHERE id IN (7, 8)")
    removed |= {"7", "8"}
    before = ops_accepted(workspace)
    check(run(dag)[1], 0, 29, 2)
    assert ops_accepted(workspace) - before == (2 if on_removed != "ignore" else 0)

    # 5: an update and a delete together.
    mysql_db.execute("UPDATE people SET plan = 'team', name = 'Nine' WHERE id = 9", "DELETE FROM people WHERE id = 10")
    removed.add("10")
    check(run(dag)[1], 1, 27, 1)
    if on_removed != "ignore":
        actions = {(r["identifiers"]["id"], r["action"]) for r in workspace.removals()}
        assert actions == {(person, on_removed) for person in removed}


def seed_relationship_parties(people: int, companies: int) -> None:
    """People and company objects the relationships point at."""
    hook = CustomerIOHook()
    ops = [
        f'{{"type":"person","identifiers":{{"id":"{n}"}},"action":"identify","attributes":{{}}}}'.encode()
        for n in range(1, people + 1)
    ]
    ops += [
        f'{{"type":"object","identifiers":{{"object_type_id":"1","object_id":"c{n}"}},"action":"identify",'
        f'"attributes":{{"name":"Company {n}"}}}}'.encode()
        for n in range(1, companies + 1)
    ]
    assert hook.send_batch(ops) == []
    hook.close()


def relationships_held(workspace: WorkspaceEmulator) -> set[tuple[str, str, str]]:
    return {(r["person"]["id"], r["object_id"], r["attributes"].get("role", "")) for r in workspace.relationships()}


def test_a_membership_deleted_in_mysql_is_deleted_in_the_workspace(mysql_db: Any, workspace: WorkspaceEmulator) -> None:
    seed_relationship_parties(10, 4)
    mysql_db.execute("CREATE TABLE memberships (person_id INT, company_id VARCHAR(10), role VARCHAR(20))")
    rows = [{"person_id": n, "company_id": f"c{1 + n % 4}", "role": "member"} for n in range(1, 11)]
    rows += [{"person_id": n, "company_id": f"c{1 + (n + 1) % 4}", "role": "admin"} for n in range(1, 11)]
    mysql_db.insert("memberships", rows)
    sql = "SELECT person_id AS id, company_id AS object_id, role FROM memberships ORDER BY person_id"
    with DAG(f"mirror_{next(_dags)}", schedule="@hourly", start_date=START, catchup=False) as dag:
        RelationshipOperator(task_id="sync", sql=sql, sync_mode="mirror")

    def expected() -> set[tuple[str, str, str]]:
        return {(str(p), c, r) for p, c, r in mysql_db.query("SELECT person_id, company_id, role FROM memberships")}

    report = run(dag)[1]
    assert (report["status"], report["rows_sent"]) == ("success", 20)
    assert relationships_held(workspace) == expected()

    mysql_db.execute("DELETE FROM memberships WHERE person_id = 3 AND role = 'admin'")
    mysql_db.execute("UPDATE memberships SET role = 'owner' WHERE person_id = 4 AND role = 'admin'")
    report = run(dag)[1]
    assert (report["status"], report["rows_sent"], report["rows_unchanged"], report["rows_removed"]) == (
        "success",
        1,
        18,
        1,
    )
    assert relationships_held(workspace) == expected()


def test_a_grouped_relationship_op_refused_for_one_object_fails_only_that_row(
    mysql_db: Any, workspace: WorkspaceEmulator
) -> None:
    """Mirror mode keeps the relationship builder's split: the person's other rows are sent one by one."""
    seed_relationship_parties(2, 3)
    mysql_db.execute("CREATE TABLE memberships (person_id INT, company_id VARCHAR(10), role VARCHAR(20))")
    mysql_db.insert(
        "memberships",
        [
            {"person_id": 1, "company_id": "c1", "role": "member"},
            {"person_id": 1, "company_id": "nosuch", "role": "member"},  # no such object: refused
            {"person_id": 1, "company_id": "c3", "role": "admin"},
            {"person_id": 2, "company_id": "c2", "role": "member"},
        ],
    )
    sql = "SELECT person_id AS id, company_id AS object_id, role FROM memberships ORDER BY person_id"
    with DAG(f"mirror_{next(_dags)}", schedule="@hourly", start_date=START, catchup=False) as dag:
        RelationshipOperator(task_id="sync", sql=sql, sync_mode="mirror")

    outcome, report = run(dag)

    assert (outcome.state, report["rows_sent"], report["rows_failed"]) == ("failed", 3, 1)
    assert report["errors_by_type"] == {"not_found": 1}
    assert relationships_held(workspace) == {("1", "c1", "member"), ("1", "c3", "admin"), ("2", "c2", "member")}


def test_the_segment_mirrors_its_query(mysql_db: Any, workspace: WorkspaceEmulator) -> None:
    create_people(mysql_db, 20)
    mysql_db.execute("UPDATE people SET active = FALSE WHERE id > 15")
    dag = people_dag("SELECT id, email, plan FROM people WHERE active", segment_name="Active people")

    def members() -> set[str]:
        by_cio = {p["cio_id"]: p["id"] for p in workspace.people()}
        (segment,) = workspace.segments()
        return {by_cio[cio_id] for cio_id in segment["members"]}

    def active() -> set[str]:
        return {str(row[0]) for row in mysql_db.query("SELECT id FROM people WHERE active")}

    assert run(dag)[1]["status"] == "success"
    assert members() == active() == {str(n) for n in range(1, 16)}

    mysql_db.execute("UPDATE people SET active = FALSE WHERE id = 2", "UPDATE people SET active = TRUE WHERE id = 17")
    report = run(dag)[1]
    assert report["status"] == "success", report
    assert (report["rows_sent"], report["people_removed_from_segment"], report["rows_removed"]) == (1, 1, 0)
    assert members() == active()
    assert "2" in held(workspace)  # on_removed="ignore": the person stays, out of the segment


@pytest.mark.parametrize("max_removed", ["10%", 3])
def test_the_guard_stops_a_query_that_returns_nothing(
    mysql_db: Any, workspace: WorkspaceEmulator, max_removed: Any
) -> None:
    create_people(mysql_db, 30)
    dag = people_dag(
        "SELECT id, email, name, plan FROM people WHERE active", on_removed="delete", max_removed=max_removed
    )
    assert run(dag)[1]["status"] == "success"

    mysql_db.execute("UPDATE people SET active = FALSE")  # the query now wrongly returns 0 rows
    outcome, report = run(dag)
    assert outcome.state == "failed" and report["status"] == "failed"
    assert report["rows_removed"] == 0
    assert len(held(workspace)) == 30 and workspace.removals() == []
    assert "would remove 30 of the 30 people" in report["error"]
    assert f"max_removed={max_removed!r} allows (3)" in report["error"]
    assert "set max_removed=30" in report["error"]

    # Within the limit: three people leave, they are deleted.
    mysql_db.execute("UPDATE people SET active = TRUE WHERE id > 3")
    outcome, report = run(dag)
    assert (outcome.state, report["rows_removed"], report["rows_sent"]) == ("success", 3, 0)
    assert sorted(held(workspace), key=int) == [str(n) for n in range(4, 31)]


def objects_dag(**kwargs: Any) -> DAG:
    sql = "SELECT object_type_id, object_id, name FROM companies"
    with DAG(f"mirror_{next(_dags)}", schedule="@hourly", start_date=START, catchup=False) as dag:
        MySQLReverseETLOperator(task_id="sync", sql=sql, import_type="objects", sync_mode="mirror", **kwargs)
    return dag


def test_a_failed_row_is_sent_again_alone_until_it_succeeds(mysql_db: Any, workspace: WorkspaceEmulator) -> None:
    mysql_db.execute("CREATE TABLE companies (object_type_id INT, object_id VARCHAR(10), name VARCHAR(40))")
    mysql_db.insert("companies", [{"object_type_id": 1, "object_id": f"c{n}", "name": f"C {n}"} for n in range(1, 21)])
    mysql_db.execute("UPDATE companies SET object_type_id = 2 WHERE object_id = 'c5'")  # no type 2 in the workspace
    dag = objects_dag()

    outcome, report = run(dag)
    assert (outcome.state, report["rows_sent"], report["rows_failed"]) == ("failed", 19, 1)

    mysql_db.execute("UPDATE companies SET name = 'C 7 renamed' WHERE object_id = 'c7'")
    before = ops_accepted(workspace)
    outcome, report = run(dag)
    assert (outcome.state, report["rows_sent"], report["rows_failed"], report["rows_unchanged"]) == ("failed", 1, 1, 18)
    assert ops_accepted(workspace) - before == 1  # only c7: the 19 accepted rows were not sent again

    workspace.settings(object_types=["1", "2"])
    outcome, report = run(dag)
    assert (outcome.state, report["rows_sent"], report["rows_failed"], report["rows_unchanged"]) == (
        "success",
        1,
        0,
        19,
    )
    objects = {(o["object_type_id"], o["object_id"]): o["attributes"] for o in workspace.objects()}
    assert len(objects) == 20 and objects[("2", "c5")] == {"name": "C 5"}
    assert objects[("1", "c7")] == {"name": "C 7 renamed"}


def test_a_column_or_settings_change_starts_a_fresh_snapshot(mysql_db: Any, workspace: WorkspaceEmulator) -> None:
    create_people(mysql_db, 10)
    dag = people_dag("SELECT id, email, plan FROM people")
    assert run(dag)[1]["rows_sent"] == 10
    assert run(dag)[1]["rows_unchanged"] == 10

    (task,) = dag.tasks
    task.sql = "SELECT id, email, plan AS tier FROM people"  # a renamed column: the same values
    report = run(dag)[1]
    assert (report["rows_sent"], report["rows_unchanged"]) == (10, 0)
    assert all(person["attributes"]["tier"] == "free" for person in workspace.people())
    assert run(dag)[1]["rows_unchanged"] == 10

    task.sql = "SELECT id, email, plan AS tier, name FROM people"  # one more column
    report = run(dag)[1]
    assert (report["rows_sent"], report["rows_unchanged"]) == (10, 0)

    task.identify_by = "email"  # another identifier: another key for every row
    task.sql = "SELECT email, plan AS tier, name FROM people"
    mysql_db.execute("DELETE FROM people WHERE id = 1")
    report = run(dag)[1]
    assert (report["status"], report["rows_sent"], report["rows_unchanged"], report["rows_removed"]) == (
        "success",
        9,
        0,
        0,
    )


def snapshot_files(base: Path) -> list[Path]:
    return sorted(base.glob("cio_snapshots/**/snapshots/*.snap"))


def test_snapshots_live_under_the_configured_base_and_move_only_on_success(
    mysql_db: Any, workspace: WorkspaceEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = tmp_path / "second-base"
    monkeypatch.setenv("AIRFLOW__CUSTOMERIO__STORAGE_BASE", f"file://{base}")
    mysql_db.execute("CREATE TABLE companies (object_type_id INT, object_id VARCHAR(10), name VARCHAR(40))")
    mysql_db.insert("companies", [{"object_type_id": 1, "object_id": f"c{n}", "name": f"C {n}"} for n in range(1, 6)])
    dag = objects_dag()

    outcome, report = run(dag)
    assert outcome.state == "success"
    (first,) = snapshot_files(base)
    assert report["snapshot"] == f"snapshots/{first.name}"
    assert first.stat().st_size < 5 * 16 + 400  # 16 bytes a row, plus the header and the compressed keys

    # A failed run (one refused row) writes a checkpoint and its error report there, never a snapshot.
    mysql_db.execute("UPDATE companies SET object_type_id = 2, name = 'moved' WHERE object_id = 'c2'")
    mysql_db.execute("UPDATE companies SET name = 'renamed' WHERE object_id = 'c3'")
    outcome, report = run(dag)
    assert outcome.state == "failed" and report["snapshot"] is None
    assert snapshot_files(base) == [first]
    assert list(base.glob("cio_snapshots/**/checkpoints/*/*.part"))
    assert report["error_report"].startswith(f"file://{base}/cio_error_reports/")

    # A dry run never moves it either.
    (task,) = dag.tasks
    task.dry_run = True
    outcome, report = run(dag)
    assert outcome.state == "success" and snapshot_files(base) == [first]
    assert (report["rows_unchanged"], report["would_send"]["rows"]) == (4, 1)  # c3 is in the checkpoint

    task.dry_run = False
    workspace.settings(object_types=["1", "2"])
    outcome, report = run(dag)
    assert (outcome.state, report["rows_sent"], report["rows_unchanged"]) == ("success", 1, 4)
    (second,) = [path for path in snapshot_files(base) if path != first]
    assert report["snapshot"] == f"snapshots/{second.name}"
    assert not list(base.glob("cio_snapshots/**/checkpoints/*/*.part"))


def test_manual_runs_read_and_move_the_snapshot_like_scheduled_ones(
    mysql_db: Any, workspace: WorkspaceEmulator
) -> None:
    from test_schedule import trigger_manual_run

    create_people(mysql_db, 10)
    dag = people_dag()
    assert run(dag)[1]["rows_sent"] == 10

    mysql_db.execute("UPDATE people SET plan = 'pro' WHERE id IN (1, 2)")
    manual = trigger_manual_run(dag)
    report = manual.xcom("sync")
    assert (manual.state, report["rows_sent"], report["rows_unchanged"]) == ("success", 2, 8)

    mysql_db.execute("UPDATE people SET plan = 'team' WHERE id = 3")
    outcome = run_dag(dag, datetime.now(UTC) + timedelta(hours=1))  # a scheduled run after the manual one
    report = outcome.xcom("sync")
    assert (outcome.state, report["rows_sent"], report["rows_unchanged"]) == ("success", 1, 9)
    assert held(workspace) == source(mysql_db)


def test_a_removal_the_workspace_already_made_counts_as_done(mysql_db: Any, workspace: WorkspaceEmulator) -> None:
    seed_relationship_parties(20, 2)
    mysql_db.execute("CREATE TABLE memberships (person_id INT, company_id VARCHAR(10))")
    mysql_db.insert("memberships", [{"person_id": n, "company_id": "c1"} for n in range(1, 21)])
    sql = "SELECT person_id AS id, company_id AS object_id FROM memberships ORDER BY person_id"
    with DAG(f"mirror_{next(_dags)}", schedule="@hourly", start_date=START, catchup=False) as dag:
        RelationshipOperator(task_id="sync", sql=sql, sync_mode="mirror")
    assert run(dag)[1]["rows_sent"] == 20

    hook = CustomerIOHook()
    assert hook.send_batch([b'{"type":"person","identifiers":{"id":"5"},"action":"delete"}']) == []
    hook.close()
    mysql_db.execute("DELETE FROM memberships WHERE person_id = 5")  # gone on both sides
    outcome, report = run(dag)
    assert (outcome.state, report["rows_removed"], report["removals_failed"]) == ("success", 1, 0)
    assert len(workspace.relationships()) == 19


def test_removals_under_a_throttling_workspace_are_retried_and_counted_like_every_op(
    mysql_db: Any, workspace: WorkspaceEmulator
) -> None:
    """Removal ops go through the engine: its retries see them through 429s, and the report counts their ops,
    batches and requests as it counts the rows' (a run that only removes still sent something)."""
    create_people(mysql_db, 30)
    dag = people_dag(on_removed="delete")
    assert run(dag)[1]["rows_sent"] == 30
    mysql_db.execute("DELETE FROM people WHERE id IN (4, 5, 6)")
    requests_before = len(workspace.requests_log())

    workspace.faults(seed=1, rate_429=0.6, retry_after=0)
    try:
        outcome, report = run(dag)
    finally:
        workspace.faults()

    requests = workspace.requests_log()[requests_before:]
    batches = [entry for entry in requests if entry["path"] == "/api/v2/batch"]
    throttled = [entry for entry in batches if entry["fault"] == "429"]
    assert throttled, "no removal batch was throttled: the test would prove nothing"
    assert (outcome.state, report["rows_sent"], report["rows_unchanged"]) == ("success", 0, 27), report
    assert (report["rows_removed"], report["removals_failed"]) == (3, 0)
    assert (report["ops_sent"], report["batches_sent"]) == (3, 1)
    assert len(batches) == 1 + len(throttled) and report["requests_sent"] == len(requests)  # each retry is counted
    assert held(workspace) == source(mysql_db)

    outcome, report = run(dag)  # the removed people left the snapshot: nothing to send or remove
    assert (outcome.state, report["ops_sent"], report["rows_removed"]) == ("success", 0, 0)
    assert report["rows_unchanged"] == 27


def test_each_instance_of_a_mapped_mirror_task_has_its_own_snapshot(
    mysql_db: Any, workspace: WorkspaceEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from test_schedule import mapped_reports

    monkeypatch.setenv("AIRFLOW__CUSTOMERIO__STORAGE_BASE", f"file://{tmp_path}")
    create_people(mysql_db, 10)
    queries = ["SELECT id, email, plan FROM people WHERE id <= 4", "SELECT id, email, plan FROM people WHERE id > 4"]
    with DAG(f"mirror_{next(_dags)}", schedule="@hourly", start_date=START, catchup=False) as dag:
        MySQLReverseETLOperator.partial(
            task_id="sync", identify_by="id", sync_mode="mirror", activity_settle_seconds=0
        ).expand(sql=queries)

    first = run_dag(dag, next_date())
    assert [r["rows_sent"] for r in mapped_reports(first, "sync")] == [4, 6]
    folders = sorted(p.parent.parent.name for p in tmp_path.glob("cio_snapshots/*/sync/*/snapshots/*.snap"))
    assert folders == ["0", "1"]

    mysql_db.execute("UPDATE people SET plan = 'pro' WHERE id IN (1, 9, 10)")
    second = run_dag(dag, next_date())
    reports = mapped_reports(second, "sync")
    assert [(r["rows_sent"], r["rows_unchanged"]) for r in reports] == [(1, 3), (2, 4)]
    plans = {str(person_id): plan for person_id, plan in mysql_db.query("SELECT id, plan FROM people")}
    assert {person_id: p["attributes"]["plan"] for person_id, p in held(workspace).items()} == plans


def test_a_key_read_twice_is_refused_whether_or_not_its_first_row_changed(
    mysql_db: Any, workspace: WorkspaceEmulator
) -> None:
    create_people(mysql_db, 3)
    mysql_db.execute("CREATE TABLE again LIKE people")  # rows read a second time, after all of people
    dag = people_dag(
        sql="SELECT id, email, name, plan FROM (SELECT 1 AS part, id, email, name, plan FROM people "
        "UNION ALL SELECT 2, id, email, name, plan FROM again) AS read_rows ORDER BY part, id"
    )
    assert run(dag)[1]["rows_sent"] == 3  # the snapshot: everyone on the free plan

    # person 2's first row is unchanged and the second is not: the second is refused, not sent
    mysql_db.insert("again", [{"id": 2, "email": "p2@example.com", "name": "Person 2", "plan": "enterprise"}])
    outcome, report = run(dag)
    assert (outcome.state, report["rows_sent"], report["rows_unchanged"], report["rows_failed"]) == ("failed", 0, 3, 1)
    assert report["errors_by_type"] == {"duplicate_identifier": 1} and report["rows_read"] == counted(report) == 4
    assert held(workspace)["2"]["attributes"]["plan"] == "free"

    # the first row changed and the second is as the snapshot has it: the first is sent, the second refused
    mysql_db.execute("UPDATE people SET plan = 'team' WHERE id = 2", "UPDATE again SET plan = 'free'")
    outcome, report = run(dag)
    assert (outcome.state, report["rows_sent"], report["rows_unchanged"], report["rows_failed"]) == ("failed", 1, 2, 1)
    assert report["errors_by_type"] == {"duplicate_identifier": 1} and report["rows_read"] == counted(report) == 4
    assert held(workspace)["2"]["attributes"]["plan"] == "team"
