"""Every hour, add or update the people whose row in `users` changed since the last successful sync.

**What it syncs.** One person per row of `users`, identified by `id`; the columns `email`,
`first_name`, `plan`, `created_at` and `deleted_at` become attributes of the same names (dates as Unix
seconds). The query is `sql/people_hourly.sql`; the tables are in `sql/schema.sql`.

**Incremental.** The query selects `updated_at >= FROM_UNIXTIME({{ last_sync_time }})`.
`last_sync_time` is the start of the last run in which this task succeeded (Unix seconds, rounded
down; 0 before the first). `updated_at` is indexed and MySQL keeps it current
(`ON UPDATE CURRENT_TIMESTAMP`). `>=` rather than `>` means a row that changed in the same second as
the last sync started is sent again, not lost.

**Look-back.** `lookback_seconds=60` reads from one minute before `last_sync_time`. That catches a
transaction that stamped `updated_at` before the last sync started but committed after the sync read
the table, and a MySQL clock up to a minute behind the Airflow host. The cost is that rows changed in
that minute are sent twice. None are lost.

**Mirror, with soft deletes.** `empty_values="delete"`: a NULL column removes the attribute, so each
person shows what their row holds now. A row deleted from `users` cannot be seen by an incremental
query, so the person stays in the workspace as last synced. Customer.io's own sync also never deletes
people. To carry a deletion, set `deleted_at` instead of deleting the row. The person then gets a
`deleted_at` attribute that segments and campaigns can exclude, and it goes away if the row is restored.

**One sync at a time.** `max_active_runs=1` and `catchup=False`: a tick that falls while a sync is still
running is skipped, and the next run catches up through `last_sync_time`. The pool
`customerio_customerio_default` (one slot) keeps syncs into the same workspace from running at the
same time. **Create the pool before the first run** (`cio-retl create-pool`). Otherwise the task stays
`scheduled` forever, and only the scheduler's log says why.

**People synced.** The task's outlet is the asset `customerio_people`
(`customerio://us/<site_id>/people`): each successful sync announces an asset event whose extra holds
its counts, and `cio_after_people_synced` (`after_people_synced.py`) runs on it. Set
`CUSTOMERIO_SITE_ID` to the workspace's Site ID; a sync whose outlet names another workspace fails before
sending anything.

Connections: `mysql_default` (the database holding `users`), `customerio_default` (the workspace).
"""

from __future__ import annotations

# [START people_hourly]
import os
from datetime import datetime, timezone

from airflow.sdk import DAG

from airflow_provider_cio.assets import customerio_asset
from airflow_provider_cio.operators.reverse_etl import MySQLReverseETLOperator
from airflow_provider_cio.pools import workspace_pool

# The workspace's Site ID (the customerio connection's login), for the asset its people are.
SITE_ID = os.environ.get("CUSTOMERIO_SITE_ID", "emulator-site")

with DAG(
    dag_id="cio_people_hourly",
    schedule="@hourly",
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["customerio", "reverse-etl"],
):
    # [START sync_people]
    MySQLReverseETLOperator(
        task_id="sync_people",
        sql="sql/people_hourly.sql",
        import_type="people",
        identify_by="id",
        empty_values="delete",
        lookback_seconds=60,
        pool=workspace_pool("customerio_default"),
        # Each successful sync announces "people synced", with its counts (after_people_synced.py).
        outlets=[customerio_asset(SITE_ID, "people", name="customerio_people")],
    )
    # [END sync_people]
# [END people_hourly]
