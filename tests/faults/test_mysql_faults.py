"""MySQL lost in the middle of a stream (issue 7, item 4): a clear error naming the connection, no
watermark advance, the next run fine; and a stream whose consumer pauses outlives the server's
``net_write_timeout``.

The connection is killed on the session's server (``KILL <id>`` from another connection, as a DBA or a
proxy would); the restart and the low ``net_write_timeout`` happen on a server of this module's own.
Rows carry a padded attribute so the result is larger than the socket buffers: the server is still
sending when the fault comes.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

import MySQLdb
import pytest

from airflow_provider_cio.sources.mysql.stream import MySQLQueryStream
from airflow_provider_cio.testing import WorkspaceEmulator
from airflow_provider_cio.testing.dagruns import run_dag

from .support import Watcher, create_people, ops_accepted, people_dag, source_people, sync_queries, workspace_people

pytestmark = pytest.mark.usefixtures("airflow_db")

PEOPLE = 20_000
PADDING = 600
KILLED_CONNECTION = people_dag("faults_mysql_connection_killed", concurrency=1)
RESTARTED = people_dag("faults_mysql_restarted", concurrency=1)
SLOW_CONSUMER = people_dag("faults_mysql_slow_consumer", concurrency=1, fetch_size=500)
LONG_STREAM = 15_000
SERVER_NET_WRITE_TIMEOUT = 2
PAUSE_SECONDS = 4


def test_the_mysql_connection_killed_mid_stream_fails_the_run_and_the_next_run_sends_everything(
    mysql_db: Any, workspace: WorkspaceEmulator, clock: datetime
) -> None:
    create_people(mysql_db, PEOPLE, clock, padding=PADDING)
    workspace.faults(latency_ms=200)

    def killable() -> bool:
        return ops_accepted(workspace) > 0 and bool(sync_queries(mysql_db))

    def kill() -> list[int]:
        ids = sync_queries(mysql_db)
        mysql_db.execute(*(f"KILL {thread_id}" for thread_id in ids))
        return ids

    with Watcher(killable, kill) as killer:
        outcome = run_dag(KILLED_CONNECTION, clock + timedelta(hours=1))
    assert killer.fired.is_set() and len(killer.result) == 1

    report = outcome.xcom("sync")
    assert (outcome.state, outcome.task_states["sync"], report["status"]) == ("failed", "failed", "failed")
    assert report["error"].startswith("MySQL connection 'mysql_default' failed (OperationalError 2013)"), report
    assert report["rows_read"] < PEOPLE and report["last_sync_time"] == 0
    assert report["rows_sent"] == ops_accepted(workspace) == len(workspace.people())

    workspace.faults()
    report = run_dag(KILLED_CONNECTION, clock + timedelta(hours=2)).xcom("sync")
    assert (report["status"], report["last_sync_time"], report["rows_sent"]) == ("success", 0, PEOPLE)
    assert workspace_people(workspace) == source_people(mysql_db)


def test_the_mysql_server_restarted_mid_stream_fails_the_run_and_the_next_run_sends_everything(
    own_db: Any, own_mysql: Any, workspace: WorkspaceEmulator, clock: datetime
) -> None:
    create_people(own_db, PEOPLE, clock, padding=PADDING)
    workspace.faults(latency_ms=200)

    # The server stays down a few seconds, as a real restart does: the sync fails while it is down.
    with Watcher(
        lambda: ops_accepted(workspace) > 0 and bool(sync_queries(own_db)), lambda: own_mysql.restart(2)
    ) as restart:
        outcome = run_dag(RESTARTED, clock + timedelta(hours=1))
    assert restart.fired.is_set()

    report = outcome.xcom("sync")
    assert (outcome.state, outcome.task_states["sync"], report["status"]) == ("failed", "failed", "failed")
    assert report["error"].startswith("MySQL connection 'mysql_default' failed (OperationalError"), report
    assert report["rows_read"] < PEOPLE and report["last_sync_time"] == 0
    assert report["rows_sent"] == ops_accepted(workspace) == len(workspace.people())

    workspace.faults()
    report = run_dag(RESTARTED, clock + timedelta(hours=2)).xcom("sync")
    assert (report["status"], report["last_sync_time"], report["rows_sent"]) == ("success", 0, PEOPLE)
    assert workspace_people(workspace) == source_people(own_db)


def test_a_pause_longer_than_the_servers_net_write_timeout_loses_no_row(
    own_db: Any, workspace: WorkspaceEmulator, clock: datetime
) -> None:
    create_people(own_db, LONG_STREAM, clock, padding=1000)  # 15 MB of notes: more than the socket buffers take
    own_db.execute(f"SET GLOBAL net_write_timeout = {SERVER_NET_WRITE_TIMEOUT}")
    try:
        # A stream that keeps the server's net_write_timeout dies when its reader pauses longer than that.
        stream = MySQLQueryStream("mysql_default", net_write_timeout=SERVER_NET_WRITE_TIMEOUT)
        try:
            cursor = stream.execute("SELECT id, note FROM people")
            cursor.fetchmany(100)
            time.sleep(PAUSE_SECONDS)
            with pytest.raises(MySQLdb.OperationalError) as lost:
                while cursor.fetchmany(5000):
                    pass
            assert lost.value.args[0] == 2013  # Lost connection to server during query
        finally:
            stream.close(finished=False)

        # The sync raises it for its own session: the workspace stalls once, the stream waits.
        def stall() -> None:
            workspace.faults(latency_ms=PAUSE_SECONDS * 1000)
            time.sleep(0.3)  # the one request sent meanwhile waits PAUSE_SECONDS for its answer
            workspace.faults()

        with Watcher(lambda: ops_accepted(workspace) > 0, stall) as stalled:
            outcome = run_dag(SLOW_CONSUMER, clock + timedelta(hours=1))
        assert stalled.fired.is_set()
        assert any(entry["fault"] == "latency" for entry in workspace.requests_log())
    finally:
        own_db.execute("SET GLOBAL net_write_timeout = 60")

    report = outcome.xcom("sync")
    assert (outcome.state, report["status"], report["rows_sent"]) == ("success", "success", LONG_STREAM)
    assert workspace_people(workspace) == source_people(own_db)
