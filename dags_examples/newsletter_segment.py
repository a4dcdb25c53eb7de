"""Every 15 minutes, add or update newsletter signups by email and put them in a manual segment.

**What it syncs.** One person per changed row of `newsletter_signups` (`sql/newsletter_signups.sql`),
identified by `email`. A signup whose email belongs to a known person updates that person, and any
other signup creates a person known only by email. Every person this sync applies is added to the
manual segment "Newsletter signups", which the sync creates the first time (this needs the
connection's `app_api_key`). A campaign triggered by joining that segment welcomes each new subscriber
once.

**Ignore empty values.** `empty_values="ignore"` (the default): a NULL `first_name` leaves the name the
people sync set, because two syncs feed the same people here.

**Suppressed people.** `on_suppressed="succeed"`: a signup of a suppressed person is left out and
counted, and the sync still succeeds and advances `last_sync_time`. With `"fail"` the sync fails, and
the next run sends those rows again.

**One sync at a time.** `max_active_runs=1`, `catchup=False`, and the workspace's one-slot pool
(`cio-retl create-pool` before the first run, or the task waits in `scheduled` forever).

Tables: `sql/schema.sql`. Connections: `mysql_default`, `customerio_default`.
"""

from __future__ import annotations

from datetime import datetime, timezone

from airflow.sdk import DAG

from airflow_provider_cio.operators.reverse_etl import MySQLReverseETLOperator
from airflow_provider_cio.pools import workspace_pool

with DAG(
    dag_id="cio_newsletter_segment",
    schedule="*/15 * * * *",
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["customerio", "reverse-etl"],
):
    MySQLReverseETLOperator(
        task_id="sync_signups",
        sql="sql/newsletter_signups.sql",
        import_type="people",
        identify_by="email",
        segment_name="Newsletter signups",
        on_suppressed="succeed",
        pool=workspace_pool("customerio_default"),
    )
