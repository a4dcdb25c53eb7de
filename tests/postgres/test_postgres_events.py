"""Events from a real PostgreSQL through real DagRuns into the emulator: the query of docs/events.md, run twice."""

from __future__ import annotations

import time

import pytest

from airflow_provider_cio.operators.postgres import PostgresReverseETLOperator
from airflow_provider_cio.sync.records.ulid import event_ulid

from .helpers import PostgresSyncDag

pytestmark = pytest.mark.usefixtures("airflow_db")

PURCHASES = """SELECT user_id AS id, id AS event_id, created_at AS "timestamp", total, sku
FROM orders
WHERE created_at >= to_timestamp(GREATEST({{ last_sync_time }} - 3600, 0))
ORDER BY id"""


def test_purchases_sent_again_by_the_look_back_are_stored_once(postgres_db, workspace) -> None:
    created = int(time.time()) - 600
    postgres_db.execute(
        "CREATE TABLE orders (id int PRIMARY KEY, user_id int NOT NULL, total numeric(10, 2), sku text, "
        "created_at timestamptz NOT NULL)",
        f"INSERT INTO orders VALUES (1001, 1, 19.90, 'mug', to_timestamp({created}))",
    )
    dag = PostgresSyncDag(PostgresReverseETLOperator, sql=PURCHASES, import_type="events", event_name="purchase")
    assert dag.run().state == "success"
    postgres_db.execute(f"INSERT INTO orders VALUES (1002, 2, 5.00, NULL, to_timestamp({created + 60}))")
    second = dag.run()

    assert second.state == "success", second.report
    assert second.report["rows_sent"] == 2
    events = sorted((e["id"], e["person"], e["timestamp"], e["attributes"]) for e in workspace.events())
    assert events == sorted(
        [
            (event_ulid("purchase", "1001", created), {"id": "1"}, created, {"total": "19.90", "sku": "mug"}),
            (event_ulid("purchase", "1002", created + 60), {"id": "2"}, created + 60, {"total": "5.00"}),
        ]
    )
