"""Every hour, send a `purchase` event to Customer.io for each new order in `orders`.

**What it syncs.** One event per row of `orders` (`sql/purchase_events.sql`; the table is in
`sql/schema.sql`): the person is `user_id` (as `id`), the event's time is `created_at` (as `timestamp`),
and `total` and `sku` are the event's data, for the campaigns the event triggers. Every event is named
`purchase` (`event_name`); a query can name each row's event with a `name` column instead.

**Exactly once.** `id AS event_id` is the order's own key. The sync makes each event's id from it
(a ULID of the event name, the `event_id` and the time), so an order sent twice carries the same id
both times, and the workspace keeps the event once.

**Incremental, with a look-back.** `orders` is append-only: an order is inserted once, and `created_at`
is when it happened. The query selects the orders created since one hour before `{{ last_sync_time }}`
(the start of the last successful run, 0 before the first). An order committed late, or stamped by a
MySQL clock behind Airflow's, is still inside the hour at the next run. The orders of that hour are sent
again, which costs requests but never makes a second event. Events cannot be mirrored: an event that
happened cannot be "removed" when its row leaves the query (docs/events.md).

**One sync at a time.** `max_active_runs=1`, `catchup=False`, and the workspace's one-slot pool
(`cio-retl create-pool` before the first run).

Connections: `mysql_default` (the database holding `orders`), `customerio_default` (the workspace).
"""

from __future__ import annotations

from datetime import datetime, timezone

from airflow.sdk import DAG

from airflow_provider_cio.operators.reverse_etl import MySQLReverseETLOperator
from airflow_provider_cio.pools import workspace_pool

with DAG(
    dag_id="cio_purchase_events",
    schedule="@hourly",
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["customerio", "reverse-etl", "events"],
):
    MySQLReverseETLOperator(
        task_id="sync_purchases",
        sql="sql/purchase_events.sql",
        import_type="events",
        event_name="purchase",
        identify_by="id",
        pool=workspace_pool("customerio_default"),
    )
