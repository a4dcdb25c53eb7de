"""Which PostgreSQL failures Airflow's ``retries`` may retry: an unreachable server yes, a bad query no."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from airflow_provider_cio.operators.postgres import PostgresReverseETLOperator
from airflow_provider_cio.testing.dagruns import run_dag
from cio_devservers import free_port

pytestmark = pytest.mark.usefixtures("airflow_db")
_dags = itertools.count(1)


def tries_of_a_sync_with_one_retry(sql: str, conn_id: str = "postgres_default") -> tuple[str, int]:
    """Run a sync with ``retries=1``; its final state and how many times it ran."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.sdk import DAG
    from airflow.utils.session import create_session

    with DAG(f"postgres_retries_{next(_dags)}", schedule=None, start_date=dt.datetime(2026, 1, 1)) as dag:
        PostgresReverseETLOperator(
            task_id="sync",
            sql=sql,
            postgres_conn_id=conn_id,
            retries=1,
            retry_delay=dt.timedelta(seconds=0),
            activity_settle_seconds=0,
        )
    outcome = run_dag(dag, dt.datetime(2026, 2, 1, tzinfo=dt.timezone.utc))
    with create_session() as session:
        (tries,) = session.query(TaskInstance.try_number).filter(TaskInstance.run_id == outcome.run_id).one()
    return outcome.task_states["sync"], tries


def test_a_query_postgres_refuses_is_not_retried(postgres_db, workspace) -> None:
    postgres_db.execute("CREATE TABLE users (id int)")
    assert tries_of_a_sync_with_one_retry("SELECT id, nope FROM users") == ("failed", 1)


def test_an_unreachable_server_is_retried_by_airflow(workspace, monkeypatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_POSTGRES_DOWN", f"postgresql://postgres@127.0.0.1:{free_port()}/nothing")
    assert tries_of_a_sync_with_one_retry("SELECT 1 AS id", "postgres_down") == ("failed", 2)
