"""A worker killed (SIGKILL) in the middle of a sync (issue 7, item 3): the next DagRun delivers everything.

The sync runs in a worker process of its own (``dagrun_worker.py``: ``dag.test()`` on the session's
metadata database, with the session's connections), which the test kills with SIGKILL once the workspace
has taken part of the rows. Its task instance stays ``running``: nothing in the process could record
anything. In production the scheduler notices the missing heartbeat after
``[scheduler] task_instance_heartbeat_timeout`` (300 s by default) and fails the task instance (or
sets it up for retry); :func:`fail_without_heartbeat` does what it does then. Another worker (the
test's own process, which never ran the killed DagRun) then runs the next DagRun.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_cio.testing import WorkspaceEmulator
from airflow_provider_cio.testing.dagruns import run_dag

from .support import create_people, ops_accepted, people_dag, source_people, touch_people, unix, workspace_people

pytestmark = pytest.mark.usefixtures("airflow_db")

WORKER = Path(__file__).with_name("dagrun_worker.py")
PEOPLE = 10_000
KILLED = people_dag("faults_killed_worker", concurrency=1)
HEARTBEAT_TIMEOUT = (
    "Task did not emit heartbeat within time limit (300 seconds) and will be terminated. "
    "See https://airflow.apache.org/docs/apache-airflow/stable/core-concepts/tasks.html#task-instance-heartbeat-timeout"
)


def start_worker(logical_date: datetime, log: Path) -> subprocess.Popen[bytes]:
    """A worker process running one DagRun of :data:`KILLED` (its output goes to ``log``)."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, str(WORKER), __name__, "KILLED", logical_date.isoformat()],
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def run_state(dag_id: str, logical_date: datetime) -> tuple[str, dict[str, str]]:
    """The state of the DagRun at ``logical_date`` and of each of its task instances, from the metadata DB."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        run = session.query(DagRun).filter_by(dag_id=dag_id, logical_date=logical_date).one()
        return str(run.state), {ti.task_id: str(ti.state) for ti in run.get_task_instances(session=session)}


def fail_without_heartbeat(dag_id: str, logical_date: datetime) -> None:
    """What the scheduler does with a running task instance whose worker stopped heartbeating.

    ``_find_and_purge_task_instances_without_heartbeats`` finds it after the heartbeat timeout and tells the
    executor it failed; the scheduler's executor-event handling then calls ``ti.handle_failure`` (failed, or
    up for retry when retries remain), and the DagRun's next state update fails the run.
    """
    from airflow.models.dagbag import DBDagBag
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState

    with create_session() as session:
        run = session.query(DagRun).filter_by(dag_id=dag_id, logical_date=logical_date).one()
        run.dag = DBDagBag().get_dag_for_run(run, session=session)
        for ti in run.get_task_instances(session=session):
            if ti.state == TaskInstanceState.RUNNING:
                ti.task = run.dag.get_task(ti.task_id)
                ti.handle_failure(error=HEARTBEAT_TIMEOUT, session=session)
        session.flush()
        run.update_state(session=session)


def test_a_worker_killed_mid_sync_loses_nothing(
    mysql_db: Any, workspace: WorkspaceEmulator, clock: datetime, tmp_path: Path
) -> None:
    first, killed, next_run = (clock + timedelta(hours=hour) for hour in (1, 2, 3))
    create_people(mysql_db, PEOPLE, clock)
    assert run_dag(KILLED, first).xcom("sync")["rows_sent"] == PEOPLE

    touch_people(mysql_db, first + timedelta(minutes=30), plan="enterprise")
    accepted_before = ops_accepted(workspace)
    workspace.faults(latency_ms=300)  # a slow workspace: the kill lands while rows are still being sent
    worker = start_worker(killed, tmp_path / "worker.log")
    deadline = time.monotonic() + 120
    while ops_accepted(workspace) == accepted_before and worker.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(worker.pid, signal.SIGKILL)
    assert worker.wait(30) == -signal.SIGKILL, (tmp_path / "worker.log").read_text()[-3000:]
    workspace.faults()

    upgraded = sum(person["attributes"]["plan"] == "enterprise" for person in workspace.people())
    assert 0 < upgraded < PEOPLE, "the worker was killed mid-sync"
    assert run_state(KILLED.dag_id, killed) == ("running", {"sync": "running"})  # nobody could record anything

    fail_without_heartbeat(KILLED.dag_id, killed)
    assert run_state(KILLED.dag_id, killed) == ("failed", {"sync": "failed"})

    # The next DagRun, on another worker (this test's process, which never ran the killed one).
    outcome = run_dag(KILLED, next_run)
    report = outcome.xcom("sync")
    assert (outcome.state, report["status"]) == ("success", "success")
    assert report["last_sync_time"] == unix(first)  # the killed run left no watermark
    assert (report["rows_read"], report["rows_sent"]) == (PEOPLE, PEOPLE)
    assert workspace_people(workspace) == source_people(mysql_db)
