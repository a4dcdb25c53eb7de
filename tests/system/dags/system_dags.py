"""DAGs of the system tests (tests/system/), parsed by a real DAG processor and run by a real scheduler.

Every sync reads its own table of the ``mysql_default`` database into the ``customerio_default``
workspace (the emulator), one person per row. All DAGs start paused; a test unpauses what it runs.
Error reports go under ``[customerio] storage_base`` (the Celery tests set it to storage shared by the
workers and the API server).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from airflow.sdk import DAG

from airflow_provider_cio.operators.reverse_etl import MySQLReverseETLOperator
from airflow_provider_cio.pools import workspace_pool

START = datetime(2026, 1, 1, tzinfo=timezone.utc)
TICK = timedelta(seconds=4)
POOL = workspace_pool("customerio_default")


def people_sql(table: str) -> str:
    """People of ``table`` changed since the last successful sync."""
    since = "FROM_UNIXTIME({{ last_sync_time }})"
    return f"SELECT id, email, plan, note FROM {table} WHERE updated_at >= {since} ORDER BY id"


def sync_dag(dag_id: str, table: str, *, schedule: object = None, retries: int = 0, **operator_kwargs: object) -> DAG:
    """A DAG with one people sync (task ``sync``) of ``table`` in the workspace's pool."""
    with DAG(dag_id, schedule=schedule, start_date=START, catchup=False, max_active_runs=1 if schedule else 16) as dag:
        MySQLReverseETLOperator(
            task_id="sync",
            sql=people_sql(table),
            pool=POOL,
            concurrency=1,
            activity_settle_seconds=0,
            retries=retries,
            retry_delay=timedelta(seconds=1),
            **operator_kwargs,
        )
    return dag


pool_a = sync_dag("cio_sys_pool_a", "people_pool")
pool_b = sync_dag("cio_sys_pool_b", "people_pool")
ticks = sync_dag("cio_sys_ticks", "people_ticks", schedule=TICK)
killed = sync_dag("cio_sys_killed", "people_killed")
bad_rows = sync_dag("cio_sys_bad_rows", "people_bad")
celery_retry = sync_dag("cio_sys_celery_retry", "people_celery", retries=1)
celery_bad_rows = sync_dag("cio_sys_celery_bad_rows", "people_bad")
