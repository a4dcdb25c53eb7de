"""A mirror sync whose worker is SIGKILLed mid-way resumes: the next run resends only what the killed run
had not had confirmed (counted with the emulator's stats), and the workspace ends equal to the source.

The killed run's worker is a process of its own (``tests/faults/dagrun_worker.py``), as in
``tests/faults/test_worker_killed.py``; the scheduler's handling of the missing heartbeat is done by
``fail_without_heartbeat``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk import DAG
from faults.support import ATTRIBUTES, create_people, source_people, workspace_people
from faults.test_worker_killed import fail_without_heartbeat, run_state

from airflow_provider_cio.operators.reverse_etl import MySQLReverseETLOperator
from airflow_provider_cio.testing import WorkspaceEmulator
from airflow_provider_cio.testing.dagruns import run_dag

pytestmark = pytest.mark.usefixtures("airflow_db")

UTC = timezone.utc
START = datetime(2025, 3, 1, tzinfo=UTC)
PEOPLE = 10_000
BATCH = "POST /api/v2/batch"
WORKER = Path(__file__).parent / "faults" / "dagrun_worker.py"

with DAG("mirror_killed_worker", schedule="@hourly", start_date=START, catchup=False, max_active_runs=1) as KILLED:
    MySQLReverseETLOperator(
        task_id="sync",
        sql=f"SELECT id, email, {', '.join(ATTRIBUTES)} FROM people",
        identify_by="id",
        sync_mode="mirror",
        concurrency=1,
        checkpoint_interval=0,  # a checkpoint part after every answered batch
        activity_settle_seconds=0,
    )


def ops_accepted(workspace: WorkspaceEmulator) -> int:
    return workspace.stats().get(BATCH, {}).get("ops", {}).get("accepted", 0)


def settled_ops_accepted(workspace: WorkspaceEmulator, quiet_seconds: float = 1.0) -> int:
    """Ops accepted, once no request is still being applied: a batch the killed worker sent may still be
    in the emulator's (added) latency; the count must stay the same for ``quiet_seconds`` (> the latency)."""
    count, since = ops_accepted(workspace), time.monotonic()
    while time.monotonic() - since < quiet_seconds:
        time.sleep(0.05)
        now = ops_accepted(workspace)
        if now != count:
            count, since = now, time.monotonic()
    return count


def test_a_killed_mirror_sync_resends_only_what_was_not_confirmed(
    mysql_db: Any, workspace: WorkspaceEmulator, tmp_path: Path
) -> None:
    first, killed, next_run = (START + timedelta(hours=hour) for hour in (1, 2, 3))
    create_people(mysql_db, PEOPLE, START)
    assert run_dag(KILLED, first).xcom("sync")["rows_sent"] == PEOPLE

    mysql_db.execute("UPDATE people SET plan = 'enterprise'")  # every row changed
    accepted_before = ops_accepted(workspace)
    requests_before = len(workspace.requests_log())
    workspace.faults(latency_ms=300)  # a slow workspace: the kill lands while rows are still being sent
    log = tmp_path / "worker.log"
    with log.open("ab") as out:
        worker = subprocess.Popen(
            [sys.executable, str(WORKER), "test_mirror_resume", "KILLED", killed.isoformat()],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 120
    while ops_accepted(workspace) < accepted_before + PEOPLE // 2 and worker.poll() is None:
        assert time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.02)
    os.kill(worker.pid, signal.SIGKILL)
    assert worker.wait(30) == -signal.SIGKILL, log.read_text()[-3000:]
    workspace.faults()
    confirmed_at_most = settled_ops_accepted(workspace) - accepted_before
    killed_batches = [entry for entry in workspace.requests_log()[requests_before:] if entry.get("ops")]
    largest_batch = max(entry["ops"] for entry in killed_batches)
    assert 0 < confirmed_at_most < PEOPLE, "the worker was killed mid-sync"
    fail_without_heartbeat(KILLED.dag_id, killed)
    assert run_state(KILLED.dag_id, killed) == ("failed", {"sync": "failed"})

    accepted_before = ops_accepted(workspace)
    outcome = run_dag(KILLED, next_run)
    report = outcome.xcom("sync")
    assert (outcome.state, report["status"]) == ("success", "success")
    resent = ops_accepted(workspace) - accepted_before
    assert resent == report["rows_sent"]
    # What the workspace had applied before the kill is not sent again, but for the rows of the batch
    # whose answer the killed worker may not have recorded yet.
    assert PEOPLE - confirmed_at_most <= resent <= PEOPLE - confirmed_at_most + largest_batch
    assert resent < PEOPLE - largest_batch  # the batches confirmed before the last one were not sent again
    assert report["rows_unchanged"] == PEOPLE - resent
    assert workspace_people(workspace) == source_people(mysql_db)
