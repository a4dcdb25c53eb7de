"""Timeouts (issue 7, item 7): a workspace answer slower than ``request_timeout`` is retried; the task's
``execution_timeout`` stops a sync cleanly, whether it is reading, sending its last batches, or MySQL is
still running the query; so does the task killed with SIGTERM (``on_kill``).

What the user sees after an ``execution_timeout``: the task fails (or is retried, per its ``retries``)
with Airflow's ``AirflowTaskTimeout``; the query is killed on the server, no request leaves afterwards;
no report and no watermark are pushed (a warning in the log says how far the sync got), so the next run
sends everything again.
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from airflow_provider_cio.sources.mysql import stream as mysql_stream
from airflow_provider_cio.sources.mysql.stream import MySQLQueryStream
from airflow_provider_cio.testing import WorkspaceEmulator
from airflow_provider_cio.testing.dagruns import run_dag

from .support import (
    PEOPLE_SQL,
    Watcher,
    create_people,
    ops_accepted,
    people_dag,
    source_people,
    sync_queries,
    workspace_people,
)

pytestmark = pytest.mark.usefixtures("airflow_db")

SLOW_ANSWERS = people_dag("faults_request_timeout", concurrency=4, request_timeout=0.5)
TIMEOUT_DAG_ID = "faults_execution_timeout"
DRAIN_TIMEOUT_DAG_ID = "faults_execution_timeout_draining"
KILLED_DAG_ID = "faults_task_killed"
QUERY_TIMEOUT_DAG_ID = "faults_execution_timeout_in_query"
QUERY_SECONDS = 60
SLOW_QUERY = PEOPLE_SQL + f" AND id = (SELECT 1 FROM DUAL WHERE SLEEP({QUERY_SECONDS}) = 0)"


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    """Wait until ``condition()`` returns something true, and return it."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:.0f} s for {what}")
        time.sleep(0.02)
    return value


def server_sessions(db: Any) -> dict[int, tuple[str, str | None]]:
    """The server's process list: ``connection id -> (user, statement running or None)``."""
    return {
        int(row[0]): (row[1], row[2]) for row in db.query("SELECT ID, USER, INFO FROM information_schema.PROCESSLIST")
    }


TIMEOUT_SET = timedelta(minutes=10)
"""The ``execution_timeout`` of the tests that time out mid-sync: :func:`time_out_when` makes it fire."""


def time_out_when(condition: Callable[[], bool]) -> Watcher:
    """Make the running task's ``execution_timeout`` fire as soon as ``condition`` holds.

    Airflow's timeout is a SIGALRM (from a timer) whose handler raises ``AirflowTaskTimeout``: the signal is
    sent here at a known point of the sync instead of after a number of seconds that a loaded machine may
    or may not reach first. The task needs an ``execution_timeout`` (so that the handler is installed).
    """
    return Watcher(condition, lambda: os.kill(os.getpid(), signal.SIGALRM))


_threads_before: set[int] = set()


@pytest.fixture(autouse=True)
def threads_before_the_test() -> None:
    """Note the threads alive before each test: ``sync_threads`` judges only the test's own sync."""
    _threads_before.clear()
    _threads_before.update(thread.ident for thread in threading.enumerate() if thread.ident is not None)


def sync_threads() -> list[str]:
    """Threads of this test's sync still alive in this process (lanes sending batches, the MySQL reader).

    Threads an earlier test left behind are not this sync's: they would fail every later test of the file
    (seen once in CI, under load: a ``cio-mysql-call`` thread from an earlier test).
    """
    return [
        thread.name
        for thread in threading.enumerate()
        if thread.name.startswith(("cio-sync-", "cio-mysql-")) and thread.ident not in _threads_before
    ]


def task_duration(dag_id: str, run_id: str) -> float:
    """Seconds the task instance ``sync`` of a run took, from the metadata database."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        ti = session.query(TaskInstance).filter_by(dag_id=dag_id, run_id=run_id, task_id="sync").one()
        return (ti.end_date - ti.start_date).total_seconds()


def test_answers_slower_than_request_timeout_are_retried_and_lose_nothing(
    mysql_db: Any, workspace: WorkspaceEmulator, clock: datetime
) -> None:
    create_people(mysql_db, 10_000, clock)
    workspace.faults(seed=5, latency_ms=1000, latency_rate=0.25)

    outcome = run_dag(SLOW_ANSWERS, clock + timedelta(hours=1))

    report = outcome.xcom("sync")
    assert (outcome.state, report["status"]) == ("success", "success")
    assert (report["rows_read"], report["rows_sent"], report["rows_failed"]) == (10_000, 10_000, 0)
    assert workspace_people(workspace) == source_people(mysql_db)
    batches = [entry for entry in workspace.requests_log() if entry["path"] == "/api/v2/batch"]
    timed_out = [entry for entry in batches if entry["fault"] == "latency"]
    assert timed_out, "some answers came after request_timeout"
    for entry in timed_out:  # the hook gave up waiting and sent the same batch again
        assert any(later["body_sha1"] == entry["body_sha1"] and later["seq"] != entry["seq"] for later in batches)


def test_execution_timeout_while_sending_stops_the_sync_and_the_next_run_sends_everything(
    mysql_db: Any, workspace: WorkspaceEmulator, clock: datetime, capfd: pytest.CaptureFixture[str]
) -> None:
    create_people(mysql_db, 15_000, clock, padding=600)
    workspace.faults(latency_ms=1000)
    dag = people_dag(TIMEOUT_DAG_ID, concurrency=2, execution_timeout=TIMEOUT_SET)

    capfd.readouterr()
    with time_out_when(lambda: ops_accepted(workspace) > 0) as timeout:  # reading and sending
        outcome = run_dag(dag, clock + timedelta(hours=1))

    assert timeout.fired.is_set()
    assert (outcome.state, outcome.task_states["sync"]) == ("failed", "failed")
    log = "".join(capfd.readouterr())
    assert "AirflowTaskTimeout: Timeout" in log
    stopped = re.search(r"The sync was stopped \(AirflowTaskTimeout\) after (\d+) rows read and (\d+) sent", log)
    assert stopped is not None and int(stopped[2]) <= ops_accepted(workspace)
    assert outcome.xcom("sync") is None  # no report, and no watermark
    assert sync_queries(mysql_db) == []  # the query was killed, not left running
    assert sync_threads() == []  # nothing left that could send
    sent = workspace.requests_log()
    assert 0 < ops_accepted(workspace) < 15_000

    # Nothing reaches the workspace after the task has ended.
    workspace.faults()
    assert workspace.requests_log() == sent

    # The user raises the timeout; the next run starts from the same last_sync_time and sends everything.
    dag = people_dag(TIMEOUT_DAG_ID, concurrency=2, execution_timeout=timedelta(minutes=10))
    report = run_dag(dag, clock + timedelta(hours=2)).xcom("sync")
    assert (report["status"], report["last_sync_time"], report["rows_sent"]) == ("success", 0, 15_000)
    assert workspace_people(workspace) == source_people(mysql_db)


def test_execution_timeout_while_the_last_batches_are_sent_stops_the_sync(
    mysql_db: Any, workspace: WorkspaceEmulator, clock: datetime
) -> None:
    create_people(mysql_db, 5_000, clock, padding=600)  # ten batches
    workspace.faults(latency_ms=1000)
    dag = people_dag(DRAIN_TIMEOUT_DAG_ID, concurrency=2, execution_timeout=TIMEOUT_SET)

    # Once a batch has been answered the query has run; once it has left the process list, every row is read.
    with time_out_when(lambda: ops_accepted(workspace) > 0 and not sync_queries(mysql_db)) as timeout:
        outcome = run_dag(dag, clock + timedelta(hours=1))

    assert timeout.fired.is_set()
    assert (outcome.state, outcome.task_states["sync"]) == ("failed", "failed")
    assert outcome.xcom("sync") is None
    assert sync_threads() == []
    sent = workspace.requests_log()
    assert 0 < ops_accepted(workspace) < 5_000
    workspace.faults()
    assert workspace.requests_log() == sent


def test_cancel_kills_the_query_and_keeps_the_session_as_a_select_only_user(
    mysql_db: Any, select_only_user: str, clock: datetime
) -> None:
    """``KILL QUERY`` from a second connection of the same user, which needs no privilege beyond SELECT, ends
    the running query at once and leaves its session connected (a ``KILL CONNECTION`` would end both)."""
    create_people(mysql_db, 10, clock)
    stream = MySQLQueryStream("mysql_default")
    ended: dict[str, BaseException | None] = {}

    def run_the_query() -> None:
        try:
            stream.execute(SLOW_QUERY.replace("{{ last_sync_time }}", "0"))
            ended["error"] = None
        except BaseException as error:
            ended["error"] = error

    reader = threading.Thread(target=run_the_query, daemon=True)
    reader.start()
    try:
        [session] = wait_for(lambda: sync_queries(mysql_db), "the query to run on the server")
        assert server_sessions(mysql_db)[session][0] == select_only_user

        stream.cancel()

        reader.join(QUERY_SECONDS / 2)
        assert not reader.is_alive(), f"the query still runs {QUERY_SECONDS / 2:.0f} s after KILL QUERY"
        assert server_sessions(mysql_db)[session] == (select_only_user, None), "the session is kept, idle"
        error = ended["error"]
        assert error is not None and error.args[0] == 1317, error  # ER_QUERY_INTERRUPTED
    finally:
        stream.close(finished=False)
        reader.join(QUERY_SECONDS)
    assert session not in server_sessions(mysql_db), "closed afterwards"


def test_execution_timeout_while_mysql_runs_the_query_kills_the_query(
    mysql_db: Any,
    select_only_user: str,
    workspace: WorkspaceEmulator,
    clock: datetime,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As a SELECT-only user. The stream would fall back on ``KILL CONNECTION`` after ``SETTLE_SECONDS``;
    here that comes after the query would have ended by itself, so only ``KILL QUERY`` ends the task in time."""
    monkeypatch.setattr(mysql_stream, "SETTLE_SECONDS", 2.0 * QUERY_SECONDS)
    create_people(mysql_db, 10, clock)
    dag = people_dag(QUERY_TIMEOUT_DAG_ID, sql=SLOW_QUERY, execution_timeout=timedelta(seconds=2))

    capfd.readouterr()
    outcome = run_dag(dag, clock + timedelta(hours=1))

    assert (outcome.state, outcome.task_states["sync"]) == ("failed", "failed")
    log = "".join(capfd.readouterr())
    assert "AirflowTaskTimeout: Timeout" in log
    assert "The sync was stopped (AirflowTaskTimeout) after 0 rows read and 0 sent" in log
    assert outcome.xcom("sync") is None
    assert sync_queries(mysql_db) == []
    assert sync_threads() == []
    # The task ended when its timeout came, not when the query would have returned.
    assert task_duration(QUERY_TIMEOUT_DAG_ID, outcome.run_id) < QUERY_SECONDS / 2
    assert workspace.people() == []


def test_the_task_killed_mid_sync_stops_reading_and_sending(
    mysql_db: Any, workspace: WorkspaceEmulator, clock: datetime
) -> None:
    """What Airflow does when a user marks a running sync failed: the supervisor sends the task SIGTERM,
    whose handler calls ``on_kill`` (then SIGKILL if the task has not ended)."""
    create_people(mysql_db, 15_000, clock, padding=600)
    workspace.faults(latency_ms=500)
    dag = people_dag(KILLED_DAG_ID, concurrency=2)
    previous = signal.getsignal(signal.SIGTERM)
    try:
        with Watcher(lambda: ops_accepted(workspace) > 0, lambda: os.kill(os.getpid(), signal.SIGTERM)) as kill:
            outcome = run_dag(dag, clock + timedelta(hours=1))
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert kill.fired.is_set()

    # on_kill killed the query and cancelled the requests; the sync ended and reported what it had sent.
    report = outcome.xcom("sync")
    assert (outcome.task_states["sync"], report["status"]) == ("failed", "failed")
    assert report["error"] == "CustomerIOCancelledError: requests to connection 'customerio_default' were cancelled"
    assert 0 < report["rows_sent"] == ops_accepted(workspace) < 15_000
    assert report["rows_sent"] + report["rows_not_sent"] == report["rows_read"] < 15_000
    assert sync_queries(mysql_db) == [] and sync_threads() == []
    sent = workspace.requests_log()
    workspace.faults()
    assert workspace.requests_log() == sent
