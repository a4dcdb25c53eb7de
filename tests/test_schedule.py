"""``last_sync_time`` over real DagRuns: what each run reads and sends, and what the workspace holds after.

Scheduled runs go through ``dag.test()`` (``run_dag``). There a DagRun starts at its logical date, so
the logical dates below are the clock of these tests. Each row's ``updated_at`` is written explicitly
on that clock, between the runs, as a MySQL ``ON UPDATE CURRENT_TIMESTAMP`` column would stamp it.

A manual run has no logical date, and ``dag.test(logical_date=None)`` would first clear every earlier
task instance of the DAG. :func:`trigger_manual_run` therefore does what Airflow does. It creates the
run as ``airflow dags trigger`` and the REST API do (``trigger_dag``: run type manual, no logical date,
queued). It starts the run as the scheduler does (running, ``start_date`` = now). Then it runs the
run's tasks in this process with the runner ``dag.test()`` uses. Its start is the wall clock, so the
test around it puts its scheduled runs before and after now.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from airflow.sdk import DAG, task

from airflow_provider_cio.operators.reverse_etl import MySQLReverseETLOperator
from airflow_provider_cio.testing import WorkspaceEmulator
from airflow_provider_cio.testing.dagruns import DagRunOutcome, read_xcom, register_dag, run_dag

pytestmark = pytest.mark.usefixtures("airflow_db")

UTC = timezone.utc
START = datetime(2026, 1, 1, tzinfo=UTC)
BATCH = "POST /api/v2/batch"
PEOPLE_SQL = (
    "SELECT id, email, name, plan, deleted_at FROM people WHERE updated_at >= FROM_UNIXTIME({{ last_sync_time }})"
)
PEOPLE_TABLE = (
    "CREATE TABLE people (id INT PRIMARY KEY, email VARCHAR(254) NOT NULL, name VARCHAR(100) NULL, "
    "plan VARCHAR(20) NOT NULL, deleted_at DATETIME NULL, updated_at DATETIME NOT NULL, KEY (updated_at))"
)


def people_dag(dag_id: str, *, sql: str = PEOPLE_SQL, lookback_seconds: int = 0, gate: bool = False) -> DAG:
    """An hourly people sync by id that mirrors the ``people`` table (NULL removes the attribute).

    :param gate: put a short-circuit task in front that skips the sync when the run's conf says ``skip``.
    """
    with DAG(dag_id, schedule="@hourly", start_date=START, catchup=False, max_active_runs=1) as dag:
        sync = MySQLReverseETLOperator(
            task_id="sync_people",
            sql=sql,
            identify_by="id",
            empty_values="delete",
            lookback_seconds=lookback_seconds,
            activity_settle_seconds=0,
        )
        if gate:

            @task.short_circuit
            def gate_open(**context: Any) -> bool:
                return not context["dag_run"].conf.get("skip")

            gate_open() >> sync
    return dag


SEQUENCE = people_dag("schedule_sequence")
FAILED_ROW = people_dag("schedule_failed_row")
SKIPPED = people_dag("schedule_skipped", gate=True)
MANUAL = people_dag("schedule_manual")
SAME_SECOND = people_dag("schedule_same_second")
SAME_SECOND_STRICT = people_dag(
    "schedule_same_second_strict",
    sql="SELECT id, email, name, plan, deleted_at FROM people WHERE updated_at > FROM_UNIXTIME({{ last_sync_time }})",
)
LATE_NO_LOOKBACK = people_dag("schedule_late_no_lookback")
LATE_LOOKBACK = people_dag("schedule_late_lookback", lookback_seconds=60)

with DAG("schedule_mapped", schedule="@hourly", start_date=START, catchup=False, max_active_runs=1) as MAPPED:
    MySQLReverseETLOperator.partial(task_id="sync_people", identify_by="id", activity_settle_seconds=0).expand(
        sql=[PEOPLE_SQL, PEOPLE_SQL.replace("FROM people", "FROM customers")]
    )


MAX_ROUNDS = 50
"""Rounds of scheduling after which a manual run that is still running is an error (each round runs every
task that can run; these DAGs have at most two tasks in a row)."""


def trigger_manual_run(dag: DAG) -> DagRunOutcome:
    """Trigger a manual run without a logical date, start it as the scheduler does, run its tasks here."""
    from airflow.api.common.trigger_dag import trigger_dag
    from airflow.models.dagbag import DBDagBag
    from airflow.models.dagrun import DagRun
    from airflow.sdk.definitions.dag import _run_task
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState, TaskInstanceState
    from airflow.utils.types import DagRunTriggeredByType

    register_dag(dag)
    run_id = trigger_dag(dag.dag_id, triggered_by=DagRunTriggeredByType.REST_API, logical_date=None).run_id
    with create_session() as session:
        run = session.query(DagRun).filter_by(dag_id=dag.dag_id, run_id=run_id).one()
        assert run.logical_date is None and run.state == DagRunState.QUEUED
        run.state = DagRunState.RUNNING
        run.start_date = datetime.now(UTC)
    with create_session() as session:
        run = session.query(DagRun).filter_by(dag_id=dag.dag_id, run_id=run_id).one()
        run.dag = DBDagBag().get_dag_for_run(run, session=session)
        for _ in range(MAX_ROUNDS):
            session.expire_all()
            schedulable, _ = run.update_state(session=session)
            if run.state != DagRunState.RUNNING:
                break
            for instance in schedulable:
                instance.try_number += 1
                instance.state = TaskInstanceState.SCHEDULED
            session.commit()
            for instance in run.get_task_instances(session=session):
                if instance.state == TaskInstanceState.SCHEDULED:
                    # A task that fails is recorded in its state (the runner returns); an exception here is
                    # the harness's own error, and stops the test.
                    _run_task(ti=instance, task=dag.task_dict[instance.task_id], run_triggerer=True)
        else:
            states = {ti.task_id: str(ti.state) for ti in run.get_task_instances(session=session)}
            raise AssertionError(f"run {run_id} still running after {MAX_ROUNDS} rounds of scheduling: {states}")
        return DagRunOutcome(
            dag_id=run.dag_id,
            run_id=run.run_id,
            state=str(run.state),
            start_date=run.start_date,
            task_states={ti.task_id: str(ti.state) for ti in run.get_task_instances(session=session)},
        )


def mapped_reports(outcome: DagRunOutcome, task_id: str) -> list[dict[str, Any]]:
    """The report of each instance of a mapped task, by map index (each one's counts checked)."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        indexes = (
            session.query(XComModel.map_index)
            .filter_by(dag_id=outcome.dag_id, run_id=outcome.run_id, task_id=task_id, key="return_value")
            .order_by(XComModel.map_index)
            .all()
        )
    return [read_xcom(outcome.dag_id, outcome.run_id, task_id, map_index=index) for (index,) in indexes]


def mysql_time(moment: datetime) -> str:
    """A DATETIME literal (UTC, whole seconds: what a column without fractional seconds keeps)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def unix(moment: datetime) -> int:
    """Unix seconds, rounded down, as ``last_sync_time`` holds a DagRun's start."""
    return int(moment.timestamp())


@dataclass
class PeopleTable:
    """The ``people`` table of a test, and the workspace a mirror of it should produce."""

    db: Any
    kept: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, at: datetime, person_id: int, **columns: Any) -> None:
        """Insert a person, stamping ``updated_at`` with ``at``."""
        values = {"id": person_id, **columns, "updated_at": mysql_time(at)}
        self._write(f"INSERT INTO people ({', '.join(values)}) VALUES ({', '.join(['%s'] * len(values))})", values)

    def change(self, at: datetime, person_id: int, **columns: Any) -> None:
        """Update a person, stamping ``updated_at`` with ``at``."""
        values = {**columns, "updated_at": mysql_time(at)}
        assignments = ", ".join(f"{name} = %s" for name in values)
        self._write(f"UPDATE people SET {assignments} WHERE id = {int(person_id)}", values)

    def _write(self, statement: str, values: dict[str, Any]) -> None:
        conn = self.db.server.connect(self.db.name)
        try:
            with conn.cursor() as cursor:
                cursor.execute(statement, tuple(values.values()))
        finally:
            conn.close()

    def soft_delete(self, at: datetime, person_id: int) -> None:
        self.change(at, person_id, deleted_at=mysql_time(at))

    def hard_delete(self, person_id: int) -> None:
        """Delete the row; its person stays in the workspace as last synced."""
        self.kept[str(person_id)] = self.expected()[str(person_id)]
        self.db.execute(f"DELETE FROM people WHERE id = {int(person_id)}")

    def expected(self) -> dict[str, dict[str, Any]]:
        """What the workspace should hold: every row as the sync maps it, and the hard-deleted people."""
        people = dict(self.kept)
        for person_id, email, name, plan, deleted_at in self.db.query(
            "SELECT id, email, name, plan, deleted_at FROM people"
        ):
            attributes = {"name": name, "plan": plan}
            if deleted_at is not None:
                attributes["deleted_at"] = str(unix(deleted_at.replace(tzinfo=UTC)))
            people[str(person_id)] = {"email": email, "attributes": {k: v for k, v in attributes.items() if v}}
        return people


def workspace_people(workspace: WorkspaceEmulator) -> dict[str, dict[str, Any]]:
    return {p["id"]: {"email": p["email"], "attributes": p["attributes"]} for p in workspace.people()}


def ops_accepted(workspace: WorkspaceEmulator) -> int:
    """People ops the workspace has accepted so far (the emulator's stats)."""
    return workspace.stats().get(BATCH, {}).get("ops", {}).get("accepted", 0)


@pytest.fixture
def people(mysql_db: Any) -> Iterator[PeopleTable]:
    mysql_db.execute(PEOPLE_TABLE)
    yield PeopleTable(mysql_db)


@pytest.fixture
def clock() -> datetime:
    """Two days ago, on a whole second: the tests' runs and row changes happen from here on."""
    return datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)


class Runs:
    """Runs one DAG again and again; checks what each run sent against the changes made before it."""

    def __init__(self, dag: DAG, workspace: WorkspaceEmulator, people: PeopleTable) -> None:
        self.dag = dag
        self.workspace = workspace
        self.people = people
        self.accepted = ops_accepted(workspace)
        self.outcome: DagRunOutcome | None = None

    def run(self, at: datetime, **test_kwargs: Any) -> dict[str, Any]:
        """One scheduled DagRun starting at ``at``; returns the sync's report ({} if it did not run).

        The DagRun itself is then ``self.outcome``.
        """
        self.outcome = run_dag(self.dag, at, **test_kwargs)
        return self.outcome.xcom("sync_people") or {}

    def sent_since_last_check(self) -> int:
        """People ops the workspace accepted since the previous call."""
        before, self.accepted = self.accepted, ops_accepted(self.workspace)
        return self.accepted - before


def test_five_runs_with_inserts_updates_and_deletes_send_only_what_changed(
    people: PeopleTable, workspace: WorkspaceEmulator, clock: datetime
) -> None:
    runs = Runs(SEQUENCE, workspace, people)
    run_at = [clock + timedelta(hours=hour, milliseconds=500) for hour in range(1, 7)]

    def between(run: int) -> datetime:  # half an hour after run ``run`` started
        return run_at[run] + timedelta(minutes=30)

    # Run 1: the first sync sends every row.
    for person_id, name in enumerate(["Ada", "Grace", "Alan", "Edsger", "Barbara"], start=1):
        people.add(clock, person_id, email=f"{name.lower()}@example.com", name=name, plan="free")
    report = runs.run(run_at[0])
    assert (report["status"], report["last_sync_time"], report["rows_read"], report["rows_sent"]) == (
        "success",
        0,
        5,
        5,
    )
    assert runs.sent_since_last_check() == 5
    assert workspace_people(workspace) == people.expected()

    # Run 2: two updates and an insert.
    people.change(between(0), 1, plan="pro")
    people.change(between(0), 2, name="Grace H.")
    people.add(between(0), 6, email="katherine@example.com", name="Katherine", plan="team")
    report = runs.run(run_at[1])
    assert (report["status"], report["last_sync_time"], report["rows_sent"]) == ("success", unix(run_at[0]), 3)
    assert runs.sent_since_last_check() == 3
    assert workspace_people(workspace) == people.expected()

    # Run 3: a soft delete, and a name set to NULL (the attribute is removed).
    people.soft_delete(between(1), 3)
    people.change(between(1), 4, name=None)
    report = runs.run(run_at[2])
    assert (report["status"], report["last_sync_time"], report["rows_sent"]) == ("success", unix(run_at[1]), 2)
    assert runs.sent_since_last_check() == 2
    assert workspace.person(id="3")["attributes"]["deleted_at"] == str(unix(between(1)))
    assert "name" not in workspace.person(id="4")["attributes"]
    assert workspace_people(workspace) == people.expected()

    # Run 4: a row deleted outright cannot be seen by the query: its person stays as last synced.
    people.hard_delete(5)
    people.add(between(2), 7, email="hedy@example.com", name="Hedy", plan="free")
    report = runs.run(run_at[3])
    assert (report["status"], report["last_sync_time"], report["rows_sent"]) == ("success", unix(run_at[2]), 1)
    assert runs.sent_since_last_check() == 1
    assert workspace.person(id="5")["attributes"] == {"name": "Barbara", "plan": "free"}
    assert workspace_people(workspace) == people.expected()

    # Run 5: nothing changed, nothing is sent.
    report = runs.run(run_at[4])
    assert (report["status"], report["last_sync_time"], report["rows_read"]) == ("success", unix(run_at[3]), 0)
    assert runs.sent_since_last_check() == 0
    assert workspace_people(workspace) == people.expected()

    # Run 6: the soft-deleted person is restored (deleted_at removed) and another one changes plan.
    people.change(between(4), 3, deleted_at=None)
    people.change(between(4), 6, plan="pro")
    report = runs.run(run_at[5])
    assert (report["status"], report["last_sync_time"], report["rows_sent"]) == ("success", unix(run_at[4]), 2)
    assert runs.sent_since_last_check() == 2
    assert "deleted_at" not in workspace.person(id="3")["attributes"]
    assert workspace_people(workspace) == people.expected()


def test_a_run_with_a_failed_row_does_not_advance_last_sync_time(
    people: PeopleTable, workspace: WorkspaceEmulator, clock: datetime
) -> None:
    runs = Runs(FAILED_ROW, workspace, people)
    first, second, third, fourth = (clock + timedelta(hours=hour) for hour in range(1, 5))
    for person_id in (1, 2, 3):
        people.add(clock, person_id, email=f"p{person_id}@example.com", plan="free")
    assert runs.run(first)["rows_sent"] == 3

    people.change(first + timedelta(minutes=10), 1, plan="pro")
    people.change(first + timedelta(minutes=10), 2, email="not an email")
    report = runs.run(second)
    assert runs.outcome.state == "failed" and runs.outcome.task_states["sync_people"] == "failed"
    assert (report["last_sync_time"], report["rows_sent"], report["rows_failed"]) == (unix(first), 1, 1)

    # Fixed: the next run reads from the start of the last *successful* run, so person 1 goes again too.
    people.change(second + timedelta(minutes=10), 2, email="p2@example.com")
    report = runs.run(third)
    assert runs.outcome.state == "success"
    assert (report["last_sync_time"], report["rows_read"], report["rows_sent"]) == (unix(first), 2, 2)
    assert workspace_people(workspace) == people.expected()

    report = runs.run(fourth)
    assert (report["last_sync_time"], report["rows_read"]) == (unix(third), 0)


def test_a_skipped_run_does_not_advance_last_sync_time(
    people: PeopleTable, workspace: WorkspaceEmulator, clock: datetime
) -> None:
    runs = Runs(SKIPPED, workspace, people)
    first, skipped, third = (clock + timedelta(hours=hour) for hour in range(1, 4))
    people.add(clock, 1, email="ada@example.com", plan="free")
    assert runs.run(first)["rows_sent"] == 1

    people.change(first + timedelta(minutes=10), 1, plan="pro")
    report = runs.run(skipped, run_conf={"skip": True})
    # Airflow counts a run whose sync was skipped as a successful DagRun; it must not count as a sync.
    assert runs.outcome.state == "success" and runs.outcome.task_states["sync_people"] == "skipped"
    assert report == {}

    people.add(skipped + timedelta(minutes=10), 2, email="grace@example.com", plan="free")
    report = runs.run(third)
    assert (report["last_sync_time"], report["rows_read"]) == (unix(first), 2)
    assert workspace_people(workspace) == people.expected()


def test_a_manual_run_between_scheduled_runs_reads_and_advances_last_sync_time(
    people: PeopleTable, workspace: WorkspaceEmulator
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    runs = Runs(MANUAL, workspace, people)
    people.add(now - timedelta(hours=3), 1, email="ada@example.com", plan="free")
    report = runs.run(now - timedelta(hours=2))
    assert report["rows_sent"] == 1

    people.add(now - timedelta(hours=1), 2, email="grace@example.com", plan="free")
    manual = trigger_manual_run(MANUAL)
    manual_report = manual.xcom("sync_people")
    assert manual.state == "success"
    assert (manual_report["last_sync_time"], manual_report["rows_read"]) == (unix(now - timedelta(hours=2)), 1)

    # The next scheduled run starts from the manual run, not from the scheduled run before it.
    people.add(manual.start_date + timedelta(minutes=10), 3, email="alan@example.com", plan="free")
    report = runs.run(now + timedelta(hours=1))
    assert (report["last_sync_time"], report["rows_read"]) == (unix(manual.start_date), 1)
    assert workspace_people(workspace) == people.expected()

    report = runs.run(now + timedelta(hours=2))
    assert (report["last_sync_time"], report["rows_read"]) == (unix(now + timedelta(hours=1)), 0)


def test_a_row_changed_in_the_second_the_last_sync_started_is_sent_with_greater_or_equal(
    people: PeopleTable, workspace: WorkspaceEmulator, clock: datetime
) -> None:
    first = clock + timedelta(hours=1, milliseconds=600)  # the sync starts 0.6 s into a second...
    people.add(clock, 1, email="ada@example.com", plan="free")
    for dag in (SAME_SECOND, SAME_SECOND_STRICT):
        assert Runs(dag, workspace, people).run(first)["rows_sent"] == 1

    # ...and reads the table; a moment later, in the same second, a change commits.
    people.change(first.replace(microsecond=0), 1, plan="pro")
    report = Runs(SAME_SECOND_STRICT, workspace, people).run(first + timedelta(hours=1))
    assert (report["last_sync_time"], report["rows_read"]) == (unix(first), 0)  # "> last_sync_time" loses it
    assert workspace.person(id="1")["attributes"]["plan"] == "free"

    report = Runs(SAME_SECOND, workspace, people).run(first + timedelta(hours=1))
    assert (report["last_sync_time"], report["rows_read"]) == (unix(first), 1)  # ">=" sends it
    assert workspace.person(id="1")["attributes"]["plan"] == "pro"


def test_a_late_committing_row_is_sent_with_a_look_back_and_lost_without(
    people: PeopleTable, workspace: WorkspaceEmulator, clock: datetime
) -> None:
    first, second = clock + timedelta(hours=1), clock + timedelta(hours=2)
    people.add(clock, 1, email="ada@example.com", plan="free")
    people.add(first - timedelta(seconds=30), 2, email="grace@example.com", plan="free")

    # A transaction stamps updated_at 5 s before the syncs start, and commits after they read the table.
    late = people.db.server.connect(people.db.name)
    try:
        late.autocommit(False)
        with late.cursor() as cursor:
            cursor.execute(
                "INSERT INTO people (id, email, plan, updated_at) VALUES (3, 'alan@example.com', 'free', %s)",
                (mysql_time(first - timedelta(seconds=5)),),
            )
        for dag in (LATE_NO_LOOKBACK, LATE_LOOKBACK):
            report = Runs(dag, workspace, people).run(first)
            assert (report["status"], report["rows_read"]) == ("success", 2)
        assert workspace.person(id="3") is None
        late.commit()
    finally:
        late.close()

    report = Runs(LATE_NO_LOOKBACK, workspace, people).run(second)
    assert (report["last_sync_time"], report["rows_read"]) == (unix(first), 0)
    assert workspace.person(id="3") is None  # lost: it will not be sent until it changes again

    report = Runs(LATE_LOOKBACK, workspace, people).run(second)
    assert report["last_sync_time"] == unix(first) - 60
    assert report["rows_read"] == 2  # the late row, and grace's row of 30 s before the first sync, again
    assert workspace.person(id="3")["attributes"] == {"plan": "free"}
    assert workspace_people(workspace) == people.expected()


def test_each_instance_of_a_mapped_sync_keeps_its_own_last_sync_time(
    people: PeopleTable, workspace: WorkspaceEmulator, clock: datetime
) -> None:
    people.db.execute(PEOPLE_TABLE.replace("TABLE people", "TABLE customers"))
    first, second = clock + timedelta(hours=1), clock + timedelta(hours=2)
    people.add(clock, 1, email="ada@example.com", plan="free")
    people.db.insert(
        "customers", [{"id": 2, "email": "grace@example.com", "plan": "free", "updated_at": mysql_time(clock)}]
    )
    outcome = run_dag(MAPPED, first)
    assert [report["rows_sent"] for report in mapped_reports(outcome, "sync_people")] == [1, 1]

    people.change(first + timedelta(minutes=10), 1, plan="pro")
    outcome = run_dag(MAPPED, second)
    reports = mapped_reports(outcome, "sync_people")
    assert [(report["last_sync_time"], report["rows_read"]) for report in reports] == [
        (unix(first), 1),
        (unix(first), 0),
    ]
    assert workspace.person(id="1")["attributes"]["plan"] == "pro"
