"""Events end to end: the example's purchases query on a real MariaDB ``orders`` table, through real DagRuns,
into the emulator over HTTP. A look-back sends the same orders again; their events stay one each."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sync_helpers import sync_dag_fixture  # noqa: F401

from airflow_provider_cio.sync.records.ulid import event_ulid

EXAMPLE_SQL = Path(__file__).resolve().parents[1] / "dags_examples" / "sql"
ORDERS = next(part for part in (EXAMPLE_SQL / "schema.sql").read_text().split(";") if "CREATE TABLE orders" in part)


def add_orders(mysql_db, orders: list[tuple[int, int, str, str, int]]) -> None:
    """Orders ``(id, user_id, total, sku, created_at as Unix seconds)``."""
    mysql_db.execute(
        *(
            f"INSERT INTO orders (id, user_id, total, sku, created_at) "
            f"VALUES ({order}, {user}, {total}, '{sku}', FROM_UNIXTIME({created}))"
            for order, user, total, sku, created in orders
        )
    )


def stored(workspace) -> list[tuple[dict, str, str, int, dict]]:
    """Each stored event as ``(person, name, id, timestamp, attributes)``, by id."""
    events = [(e["person"], e["name"], e["id"], e["timestamp"], e["attributes"]) for e in workspace.events()]
    return sorted(events, key=lambda event: event[2])


def test_purchases_sent_again_by_the_look_back_are_stored_once(mysql_db, workspace, sync_dag) -> None:
    mysql_db.execute(ORDERS)
    ten_minutes_ago = int(time.time()) - 600
    add_orders(mysql_db, [(1001, 1, "19.90", "mug", ten_minutes_ago), (1002, 2, "5.00", "pen", ten_minutes_ago + 1)])
    dag = sync_dag(
        sql="purchase_events.sql",
        template_searchpath=str(EXAMPLE_SQL),
        import_type="events",
        event_name="purchase",
    )
    first = dag.run()
    assert first.state == "success", first.log[-3000:]
    assert first.report["rows_sent"] == 2
    assert first.report["settings"]["event_name"] == "purchase"

    add_orders(mysql_db, [(1003, 1, "42.00", "lamp", ten_minutes_ago + 300)])
    second = dag.run()  # the hour of look-back selects the first two orders again

    assert second.state == "success"
    assert second.report["rows_read"] == 3 and second.report["rows_sent"] == 3 and second.report["ops_sent"] == 3
    assert stored(workspace) == sorted(
        [
            ({"id": "1"}, "purchase", event_ulid("purchase", "1001", ten_minutes_ago), ten_minutes_ago,
             {"total": "19.90", "sku": "mug"}),
            ({"id": "2"}, "purchase", event_ulid("purchase", "1002", ten_minutes_ago + 1), ten_minutes_ago + 1,
             {"total": "5.00", "sku": "pen"}),
            ({"id": "1"}, "purchase", event_ulid("purchase", "1003", ten_minutes_ago + 300), ten_minutes_ago + 300,
             {"total": "42.00", "sku": "lamp"}),
        ],
        key=lambda event: event[2],
    )  # fmt: skip


def test_an_events_query_without_event_id_sends_nothing_and_says_why(mysql_db, workspace, sync_dag) -> None:
    mysql_db.execute(ORDERS)
    add_orders(mysql_db, [(1001, 1, "19.90", "mug", int(time.time()))])
    run = sync_dag(sql="SELECT user_id AS id, total FROM orders", import_type="events", event_name="purchase").run()

    assert run.state == "failed"
    assert "needs a column named 'event_id'" in run.log and "never makes a second event" in run.log
    assert workspace.events() == [] and workspace.requests_log() == []


@pytest.mark.parametrize("on_suppressed", ["succeed", "fail"])
def test_events_of_a_suppressed_person_are_counted_as_people_syncs_count_them(
    mysql_db, workspace, sync_dag, on_suppressed
) -> None:
    mysql_db.execute(ORDERS)
    now = int(time.time()) - 60
    add_orders(
        mysql_db,
        [
            (1001, 1, "1.00", "a", now),
            (1002, 2, "2.00", "b", now),
            (1003, 1, "3.00", "c", now),
            (1004, 2, "4.00", "d", now),
        ],
    )
    workspace.suppress(id="2")
    run = sync_dag(
        sql="purchase_events.sql",
        template_searchpath=str(EXAMPLE_SQL),
        import_type="events",
        event_name="purchase",
        on_suppressed=on_suppressed,
    ).run()

    assert run.report["rows_read"] == 4 and run.report["rows_sent"] == 2 and run.report["rows_suppressed"] == 2
    assert run.report["rows_failed"] == 0
    assert [(event["person"], event["attributes"]["sku"]) for event in workspace.events()] == [
        ({"id": "1"}, "a"),
        ({"id": "1"}, "c"),
    ]
    if on_suppressed == "succeed":
        assert run.state == "success" and run.report["error_report"] is None
    else:
        assert run.state == "failed" and run.report["status"] == "failed"
        assert [(line["row_number"], line["identifier"], line["error_type"]) for line in run.csv_rows] == [
            ("2", "2", "suppressed"),
            ("4", "2", "suppressed"),
        ]  # the example orders by time, then by order id: person 2's orders are rows 2 and 4
        assert "2 rows are about suppressed people (on_suppressed='fail')" in run.log
