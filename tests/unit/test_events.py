"""Events on in-memory rows: the deterministic ULID (``sync/records/ulid.py``), the event op a row becomes
(``sync/records/events.py``), its row limits, and the settings and queries refused before anything is sent."""

from __future__ import annotations

import datetime as dt
from typing import Any, get_args

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_cio.cli import main
from airflow_provider_cio.operators.reverse_etl import MySQLReverseETLOperator
from airflow_provider_cio.preview import describe_import
from airflow_provider_cio.sync.account.outcomes import INVALID_PHONE, INVALID_VALUE, TOO_LARGE, RowError
from airflow_provider_cio.sync.convert.column_types import SourceColumn
from airflow_provider_cio.sync.convert.columns import ImportType, QueryError
from airflow_provider_cio.sync.planning import SyncPlanner, builder_for
from airflow_provider_cio.sync.records.encoded import Op
from airflow_provider_cio.sync.records.events import EventOps
from airflow_provider_cio.sync.records.kinds import KINDS
from airflow_provider_cio.sync.records.ulid import CROCKFORD, event_ulid
from airflow_provider_cio.sync.settings import SyncSettings

ULID_CHARACTERS = set(CROCKFORD)


def decoded(ulid: str) -> int:
    value = 0
    for character in ulid:
        value = value * 32 + CROCKFORD.index(character)
    return value


def events(columns: list[SourceColumn], **settings: Any) -> EventOps:
    sync = SyncSettings(import_type="events", **settings)
    planner = SyncPlanner(sync)
    builder = builder_for(planner.columns(columns), sync)
    assert isinstance(builder, EventOps)
    return builder


def sent(builder: EventOps, rows: list[tuple[Any, ...]]) -> list[Any]:
    """Each op as its JSON, each row error as its row, type and message."""
    return [
        orjson.loads(item.body) if isinstance(item, Op) else (item.row_number, item.error_type, item.message)
        for item in builder.build(rows, 1)
    ]


PURCHASES = [
    SourceColumn("id", "integer"),
    SourceColumn("event_id", "integer"),
    SourceColumn("timestamp", "datetime"),
    SourceColumn("total", "decimal"),
    SourceColumn("sku"),
]


# --- the ULID ----------------------------------------------------------------------------------------------------


def test_the_ulid_is_the_time_then_the_hash_of_name_and_event_id() -> None:
    ulid = event_ulid("purchase", "1001", 1_704_164_645)
    assert len(ulid) == 26 and set(ulid) <= ULID_CHARACTERS and ulid[0] in "01234567"
    assert decoded(ulid) >> 80 == 1_704_164_645_000
    assert event_ulid("purchase", "1001", 1_704_164_645) == ulid
    assert event_ulid("purchase", "1002", 1_704_164_645) != ulid
    assert event_ulid("refund", "1001", 1_704_164_645) != ulid
    assert event_ulid("purchase", "1001", None)[:10] == "0000000000"  # no time: the time part is 0
    assert event_ulid("purchase", "1001", None)[10:] == ulid[10:]


@given(st.text(max_size=100), st.text(max_size=150), st.none() | st.integers(0, 2**48 // 1000 - 1))
def test_the_ulid_is_always_valid_and_stable(name: str, event_id: str, timestamp: int | None) -> None:
    ulid = event_ulid(name, event_id, timestamp)
    assert len(ulid) == 26 and set(ulid) <= ULID_CHARACTERS and ulid[0] in "01234567"
    assert decoded(ulid) >> 80 == (timestamp or 0) * 1000
    assert event_ulid(name, event_id, timestamp) == ulid


# --- the op ------------------------------------------------------------------------------------------------------


def test_a_row_is_one_person_event_op() -> None:
    when = dt.datetime(2024, 1, 2, 3, 4, 5)
    ops = sent(events(PURCHASES, event_name="purchase"), [(42, 1001, when, "19.90", "")])
    assert ops == [
        {
            "type": "person",
            "identifiers": {"id": "42"},
            "action": "event",
            "name": "purchase",
            "id": event_ulid("purchase", "1001", 1_704_164_645),
            "timestamp": 1_704_164_645,
            "attributes": {"total": "19.90"},  # the empty sku is left out (empty_values="ignore")
        }
    ]


def test_the_name_column_wins_and_no_timestamp_column_sends_none() -> None:
    columns = [SourceColumn("email"), SourceColumn("event_id"), SourceColumn("name"), SourceColumn("plan")]
    builder = events(columns, identify_by="email", event_name="changed")
    rows = [("Ann@Example.com", "a1", "plan_changed", "pro"), ("ann@example.com", "a2", None, None)]
    ops = sent(builder, [*rows, ("ann@example.com", "a3", "", None)])
    assert [(op["name"], "timestamp" in op, op["identifiers"]) for op in ops] == [
        ("plan_changed", False, {"email": "Ann@Example.com"}),
        ("changed", False, {"email": "ann@example.com"}),
        ("changed", False, {"email": "ann@example.com"}),
    ]
    assert ops[0]["id"] == event_ulid("plan_changed", "a1", None)
    rows = [("Ann@Example.com", "a1", None, None), ("ann@example.com", "a2", None, None)]
    keys = [op.key for op in builder.build(rows, 1)]
    assert keys == ["ann@example.com"] * 2  # one person, one lane: the events keep row order
    assert builder.unique_keys is False  # many events per person


def test_unix_seconds_and_dates_are_event_times() -> None:
    columns = [SourceColumn("id"), SourceColumn("event_id"), SourceColumn("timestamp")]
    builder = events(columns, event_name="renewal")
    rows = [("1", "e1", 1_704_164_645), ("1", "e2", dt.date(2024, 1, 2)), ("1", "e3", "2024-01-02"), ("1", "e4", -5)]
    ops = sent(builder, rows)
    assert [op["timestamp"] for op in ops[:2]] == [1_704_164_645, 1_704_153_600]
    assert [(row, kind) for row, kind, _ in ops[2:]] == [(3, INVALID_VALUE), (4, INVALID_VALUE)]


def test_rows_over_the_event_limits_fail_before_sending() -> None:
    columns = [SourceColumn("phone"), SourceColumn("event_id"), SourceColumn("name"), SourceColumn("note")]
    builder = events(columns, identify_by="phone")
    rows = [
        ("+14155550123", "e1", "x" * 101, "ok"),
        ("+14155550123", "e2", "x" * 100, "ok"),
        ("4155550123", "e3", "purchase", "ok"),
    ]
    outcomes = sent(builder, rows)
    assert outcomes[0][:2] == (1, TOO_LARGE) and "100 bytes" in outcomes[0][2]
    assert outcomes[1]["name"] == "x" * 100
    assert outcomes[2][:2] == (3, INVALID_PHONE)
    wide = [SourceColumn("id"), SourceColumn("event_id"), *[SourceColumn(f"c{i}") for i in range(120)]]
    big = sent(events(wide, event_name="big"), [("1", "e", *["z" * 900] * 120)])
    assert big[0][:2] == (1, TOO_LARGE) and "event data" in big[0][2] and "100000" in big[0][2]
    over_op = sent(events(wide, event_name="big"), [("1", "e", *["z" * 900] * 40, *[None] * 80)])
    assert over_op[0][:2] == (1, TOO_LARGE) and "32000" in over_op[0][2]


# --- refused before anything is sent ----------------------------------------------------------------------------


def test_an_events_query_needs_event_id_and_a_name() -> None:
    never_twice = r"named 'event_id'.*Columns selected: id, name\. event_id is .*never makes a second event"
    with pytest.raises(QueryError, match=never_twice):
        events([SourceColumn("id"), SourceColumn("name")])
    with pytest.raises(QueryError, match="event_name="):
        events([SourceColumn("id"), SourceColumn("event_id")])


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"sync_mode": "mirror"}, "events cannot be mirrored"),
        ({"update_only": True}, "people only"),
        ({"segment_name": "buyers"}, "segments hold people"),
        ({"event_name": "x" * 101}, "100 bytes"),
        ({"event_name": ""}, "non-empty"),
    ],
)
def test_operator_settings_refused_at_parse_time(arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MySQLReverseETLOperator(task_id="t", sql="SELECT 1", import_type="events", **arguments)


def test_event_name_only_with_events() -> None:
    with pytest.raises(ValueError, match="event_name names events"):
        MySQLReverseETLOperator(task_id="t", sql="SELECT 1", import_type="people", event_name="purchase")
    task = MySQLReverseETLOperator(task_id="t", sql="SELECT 1", import_type="events", event_name="purchase")
    assert task.settings().event_name == "purchase"


def test_row_error_names_the_person() -> None:
    outcomes = list(events(PURCHASES, event_name="p").build([(None, 1, None, None, None)], 7))
    assert isinstance(outcomes[0], RowError) and outcomes[0].row_number == 7


def test_every_import_type_is_a_kind_and_only_events_refuse_mirror() -> None:
    assert set(KINDS) == set(get_args(ImportType))
    assert [name for name, kind in KINDS.items() if not kind.mirror] == ["events"]
    assert [name for name, kind in KINDS.items() if kind.segments] == ["people"]
    assert [name for name, kind in KINDS.items() if kind.update_only] == ["people"]


def test_the_preview_takes_events_and_refuses_them_as_a_sync_does(capsys) -> None:
    settings = SyncSettings(import_type="events", identify_by="email", event_name="purchase")
    assert (
        describe_import(settings)
        == "events of people identified by email, named 'purchase' unless the name column says"
    )
    status = main(["preview", "--sql", "SELECT 1", "--import-type", "people", "--event-name", "purchase"])
    assert status == 1
    assert "event_name names events; this sync imports people" in capsys.readouterr().out
