"""Which failures Airflow's ``retries`` may retry: an unavailable workspace yes, a refusal no."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from airflow_provider_cio.operators.reverse_etl import MySQLReverseETLOperator
from airflow_provider_cio.testing import WorkspaceEmulator
from airflow_provider_cio.testing.dagruns import run_dag

pytestmark = pytest.mark.usefixtures("airflow_db")


def own_statuses(workspace: WorkspaceEmulator) -> list[int | None]:
    """The statuses of the requests this test's sync made: those that came through ``localhost`` (the session's
    emulator may still take a late request from an earlier test, which came through ``127.0.0.1``)."""
    return [r["status"] for r in workspace.requests_log() if r["host"].split(":")[0] == "localhost"]


def connect_through_localhost(
    workspace: WorkspaceEmulator, monkeypatch: pytest.MonkeyPatch, conn_id: str, **changes: str
) -> None:
    """Point ``conn_id`` at the emulator through ``localhost``, with ``changes`` to the connection."""
    connection = {**workspace.connection(), "host": "localhost", **changes}
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(connection))


def run_sync_with_retries(dag_id: str, conn_id: str) -> str:
    from airflow.sdk import DAG

    with DAG(dag_id, schedule=None, start_date=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)) as dag:
        MySQLReverseETLOperator(
            task_id="sync",
            sql="SELECT id, plan FROM users",
            customerio_conn_id=conn_id,
            retries=1,
            retry_delay=dt.timedelta(seconds=0),
            request_attempts=2,
            activity_settle_seconds=0,
        )
    return run_dag(dag, dt.datetime(2026, 2, 1, tzinfo=dt.timezone.utc)).task_states["sync"]


@pytest.fixture
def users(mysql_db) -> None:
    mysql_db.execute("CREATE TABLE users (id INT PRIMARY KEY, plan VARCHAR(20))", "INSERT INTO users VALUES (1, 'pro')")


@pytest.mark.usefixtures("users")
def test_refused_credentials_fail_the_task_without_a_retry(
    workspace: WorkspaceEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    connect_through_localhost(workspace, monkeypatch, "cio_wrong_key", password="not-the-track-key")

    state = run_sync_with_retries("cio_retries_refused", "cio_wrong_key")

    assert state == "failed"
    assert own_statuses(workspace) == [401], "one request: no retry of the task"


@pytest.mark.usefixtures("users")
def test_a_workspace_that_stays_down_is_retried_by_airflow(
    workspace: WorkspaceEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    connect_through_localhost(workspace, monkeypatch, "cio_down")
    workspace.faults(seed=2, rate_503=1.0)

    state = run_sync_with_retries("cio_retries_down", "cio_down")

    assert state == "failed"
    assert own_statuses(workspace) == [503] * 4, "two tries of the task, two request attempts each"
