"""Every hour, add or update the people whose row in a PostgreSQL `accounts` table changed since the last sync.

**What it syncs.** One person per row of `accounts`, identified by `id`; `email`, `plan`, `balance`
(`numeric`: every digit, as a string), `signed_up_at` (`timestamptz`: Unix seconds), `preferences`
(`jsonb`: sent nested) and `tags` (`text[]`: sent as a list) become attributes of the same names.

**Incremental.** The query selects `updated_at >= to_timestamp({{ last_sync_time }})`:
`last_sync_time` is the start of the last run in which this task succeeded (Unix seconds, 0 before the
first), and `to_timestamp` turns it into a `timestamptz`. Keep `updated_at` current with a trigger and
index it. `lookback_seconds=60` also reads the minute before, for transactions that committed late.

**Read-only, bounded.** The query runs as a server-side cursor in a `READ ONLY` transaction;
`statement_timeout=600` makes PostgreSQL cancel any statement of the sync (declaring the query, each
fetch of rows) that runs longer than ten minutes.

**One sync at a time.** `max_active_runs=1`, `catchup=False` and the workspace's one-slot pool
`customerio_customerio_default`. **Create the pool before the first run** (`cio-retl create-pool`).

Connections: `postgres_default` (the database holding `accounts`), `customerio_default` (the workspace).
Needs `pip install 'airflow-provider-cio[postgres]'`.
"""

from __future__ import annotations

from datetime import datetime, timezone

from airflow.sdk import DAG

from airflow_provider_cio.operators.postgres import PostgresReverseETLOperator
from airflow_provider_cio.pools import workspace_pool

with DAG(
    dag_id="cio_postgres_people",
    schedule="@hourly",
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["customerio", "reverse-etl", "postgres"],
):
    PostgresReverseETLOperator(
        task_id="sync_accounts",
        sql=(
            "SELECT id, email, plan, balance, signed_up_at, preferences, tags FROM accounts "
            "WHERE updated_at >= to_timestamp({{ last_sync_time }}) ORDER BY id"
        ),
        import_type="people",
        identify_by="id",
        postgres_conn_id="postgres_default",
        lookback_seconds=60,
        statement_timeout=600,
        pool=workspace_pool("customerio_default"),
    )
