"""A sync never outlives its task (issue 12, item 1), shown with real processes.

A stand-in for Airflow's supervisor (``processes.py parent``) starts a task process in a process group of
its own, as the supervisor forks one; the test SIGKILLs the stand-in mid-sync, as a Celery worker's death
kills its pool process. The workspace emulator's request log then shows when the orphan's requests stopped.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import psutil
import pytest
from faults.support import START, create_people, ops_accepted, people_dag

from airflow_provider_cio.operators.lifeline import arm
from airflow_provider_cio.testing import WorkspaceEmulator

PROCESSES = Path(__file__).with_name("processes.py")
DAGRUN_WORKER = Path(__file__).parents[1] / "faults" / "dagrun_worker.py"
PEOPLE = 20_000
LATENCY_MS = 1500  # about 13 batches of 1,500 ms: the sync would go on for some 20 s after the kill
STOPPED_WITHIN_SECONDS = 3.0
"""How soon after its supervisor died an orphan may still send (the kernel's SIGKILL takes milliseconds)."""
WAIT_SECONDS = 120
ORPHAN = people_dag("lifeline_orphan", concurrency=1)
PR_GET_PDEATHSIG = 2


def start_parent(*command: str, log: Path) -> tuple[subprocess.Popen[str], int]:
    """The supervisor stand-in running ``command``; returns it and the pid of its child."""
    with log.open("a") as err:
        parent = subprocess.Popen(
            [sys.executable, str(PROCESSES), "parent", *command],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            start_new_session=True,
        )
    assert parent.stdout is not None
    line = parent.stdout.readline()
    assert line.strip().isdigit(), f"the stand-in printed {line!r}:\n{log.read_text()[-3000:]}"
    return parent, int(line)


def gone(pid: int) -> bool:
    """Whether the process has ended (a zombie nobody reaped yet counts as ended)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def wait_until(condition: Any, seconds: float, what: str) -> None:
    """Poll ``condition`` every 20 ms for at most ``seconds``; fail saying ``what`` did not happen."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {seconds:.0f} s")
        time.sleep(0.02)


@pytest.fixture
def processes() -> Iterator[list[int]]:
    """Pids the test started (directly or not): any still running at the end is SIGKILLed."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        if not gone(pid):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.usefixtures("airflow_db")
def test_a_sync_whose_supervisor_dies_stops_sending(
    mysql_db: Any, workspace: WorkspaceEmulator, processes: list[int], tmp_path: Path
) -> None:
    create_people(mysql_db, PEOPLE, START)
    workspace.faults(latency_ms=LATENCY_MS)
    log = tmp_path / "task.log"
    logical_date = (START + timedelta(days=1)).isoformat()
    parent, task_pid = start_parent(
        sys.executable, str(DAGRUN_WORKER), "lifeline.test_lifeline", "ORPHAN", logical_date, log=log
    )
    processes.extend([task_pid, parent.pid])
    wait_until(lambda: ops_accepted(workspace) > 0 or gone(task_pid), WAIT_SECONDS, "a first accepted batch")
    assert not gone(task_pid), log.read_text()[-3000:]

    os.kill(parent.pid, signal.SIGKILL)  # the supervisor dies; the task process is in a group of its own
    killed_at = time.monotonic()  # the emulator runs in this process: its request times are on this clock
    parent.wait(30)
    wait_until(lambda: gone(task_pid), WAIT_SECONDS, "the orphaned task process ending")
    workspace.faults()

    batches = [entry for entry in workspace.requests_log() if entry["path"] == "/api/v2/batch"]
    late = [round(entry["t"] - killed_at, 1) for entry in batches if entry["t"] > killed_at + STOPPED_WITHIN_SECONDS]
    assert late == [], f"the orphan still sent batches this many seconds after its supervisor died: {late}"
    assert 0 < ops_accepted(workspace) < PEOPLE, "the supervisor died mid-sync"


def test_the_watchdog_stops_an_orphan_where_there_is_no_parent_death_signal(
    processes: list[int], tmp_path: Path
) -> None:
    marker = tmp_path / "lost"
    parent, task_pid = start_parent(sys.executable, str(PROCESSES), "watchdog", str(marker), log=tmp_path / "err")
    processes.extend([task_pid, parent.pid])
    wait_until(lambda: psutil.Process(task_pid).num_threads() > 1 or gone(task_pid), 60, "the watchdog starting")
    assert not gone(task_pid), (tmp_path / "err").read_text()

    os.kill(parent.pid, signal.SIGKILL)
    parent.wait(30)
    wait_until(lambda: gone(task_pid), 30, "the watchdog ending the orphaned process")
    assert marker.read_text() == "lost", "the watchdog stopped the sync before it ended the process"


def parent_death_signal() -> int:
    """This process's parent-death signal (0: none)."""
    value = ctypes.c_int()
    ctypes.CDLL(None).prctl(PR_GET_PDEATHSIG, ctypes.byref(value), 0, 0, 0)
    return value.value


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_disarm_lets_the_process_outlive_its_parent_again() -> None:
    threads = threading.active_count()
    lifeline = arm(lambda: None)
    assert (parent_death_signal(), threading.active_count()) == (signal.SIGKILL, threads + 1)

    lifeline.disarm()  # dag.test() runs the sync in this process, whose parent must not take it down later
    assert (parent_death_signal(), threading.active_count()) == (0, threads)
