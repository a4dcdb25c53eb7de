"""Events on the column path (``sync/records/event_columns.py``): a block of simple event rows is encoded a
column at a time, and its ops must be byte for byte those of the row path (``EventOps.row_by_row``): the
deterministic ULID, the timestamp, the name from its column or from ``event_name``, the event data, keys
and identifiers. A block the column path cannot take whole goes row by row, each row with its own outcome
(the name and data limits among them)."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_cio.sync.account.outcomes import INVALID_VALUE, TOO_LARGE, RowError
from airflow_provider_cio.sync.convert.column_types import SourceColumn
from airflow_provider_cio.sync.convert.columns import IdentifyBy
from airflow_provider_cio.sync.planning import SyncPlanner, builder_for
from airflow_provider_cio.sync.records.encoded import Op, OpBlock
from airflow_provider_cio.sync.records.events import EventOps
from airflow_provider_cio.sync.records.ulid import CROCKFORD, MAX_TIME_MS, event_ulid
from airflow_provider_cio.sync.settings import SyncSettings

AWKWARD_TEXT = [
    'say "hi"',
    "back\\slash\\",
    '","',
    "50% off %b %s %%",
    "tab\tline\nbreak\r\x01\x1f\x7f",
    "ünïcödé ✓ 漢字 \U0001f600",
    "\u2028\u2029</script>",
    "x" * 250,
    " ",
]
PLAIN_NAMES = ["purchase", "plan_changed", "50%_off", "ünïcödé ✓ 漢字", "x" * 100, "é" * 50]


def events(names: list[str], identify_by: IdentifyBy = "id", **options: Any) -> EventOps:
    """The builder of an events query selecting ``names`` (``id``, ``event_id``, ``timestamp`` integers)."""
    integers = {"id", "event_id", "timestamp", "seats"}
    columns = [SourceColumn(name, "integer" if name in integers else "string") for name in names]
    sync = SyncSettings(import_type="events", identify_by=identify_by, **options)
    builder = builder_for(SyncPlanner(sync).columns(columns), sync)
    assert isinstance(builder, EventOps)
    return builder


def columns_of(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return list(zip(*rows, strict=True))


def shape(items: list[Op | RowError]) -> list[tuple]:
    return [
        (item.body, item.first_row, item.row_count, item.identifier, item.key)
        if isinstance(item, Op)
        else (item.row_number, item.identifier, item.error_type, item.message)
        for item in items
    ]


def both_ways(builder: EventOps, rows: list[tuple[Any, ...]], first_row: int = 1) -> tuple[list, list]:
    """The block's outcomes as the builder gives them, and as the row path gives them."""
    return list(builder.build(rows, first_row)), list(builder.row_by_row(rows, first_row))


def column_path(builder: EventOps, rows: list[tuple[Any, ...]], first_row: int = 1) -> OpBlock:
    block = builder.build(rows, first_row)
    assert isinstance(block, OpBlock), "the block is simple: the column path takes it"
    return block


def test_purchases_with_event_name_give_the_row_path_bytes() -> None:
    builder = events(["id", "event_id", "timestamp", "total", "seats"], event_name="purchase")
    rows = [(n % 7, 1000 + n, 1_704_164_645 + n, f"{n}.90", -(n**3)) for n in range(300)]
    block = column_path(builder, rows, 11)
    fast, slow = list(block), list(builder.row_by_row(rows, 11))
    assert shape(fast) == shape(slow)
    assert fast[1].body == (
        b'{"type":"person","identifiers":{"id":"1"},"action":"event","name":"purchase","id":"'
        + event_ulid("purchase", "1001", 1_704_164_646).encode()
        + b'","timestamp":1704164646,"attributes":{"total":"1.90","seats":-1}}'
    )
    assert (fast[1].identifier, fast[1].key, fast[1].first_row) == ("1: event 1001", "1", 12)
    assert shape(list(block.part(2, 5))) == shape(slow[2:5])  # as the engine cuts a block into batches
    assert shape(list(block.without([0, 3]))) == shape([op for n, op in enumerate(slow) if n not in (0, 3)])
    assert block[7].identifier == slow[7].identifier == "0: event 1007"


@pytest.mark.parametrize("identify_by", ["id", "email", "phone"])
def test_awkward_data_and_a_name_column_give_the_same_bytes(identify_by: IdentifyBy) -> None:
    person = {"id": "id", "email": "email", "phone": "phone"}[identify_by]
    builder = events([person, "event_id", "name", "note", '50%_of "it"', "plän"], identify_by, event_name="x")
    people = {
        "id": lambda n: 2**63 - 1 - n,
        "email": lambda n: f"User.{n}+Tag@Example.COM",
        "phone": lambda n: f"+1415555{n:04d}",
    }[identify_by]
    rows = [
        (people(n), f"order-{n}", PLAIN_NAMES[n % len(PLAIN_NAMES)], text, text[::-1], f"{n}%")
        for n, text in enumerate(AWKWARD_TEXT * 3)
    ]
    fast, slow = list(column_path(builder, rows, 3)), list(builder.row_by_row(rows, 3))
    assert shape(fast) == shape(slow)
    if identify_by == "email":
        assert fast[3].key == "user.3+tag@example.com" and fast[3].identifier == "User.3+Tag@Example.COM: event order-3"


def test_an_event_name_json_escapes_is_sent_escaped_and_hashed_as_text() -> None:
    builder = events(["id", "event_id"], event_name='say "hi" \\ 50%')
    rows = [(n, n) for n in range(5)]
    fast, slow = list(column_path(builder, rows)), list(builder.row_by_row(rows, 1))
    assert shape(fast) == shape(slow)
    assert b'"name":"say \\"hi\\" \\\\ 50%"' in fast[0].body
    assert event_ulid('say "hi" \\ 50%', "0", None).encode() in fast[0].body


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("event_id", 'a"quote'),  # JSON escapes it: not the text the ULID hashes
        ("event_id", "tab\there"),
        ("event_id", "   "),  # only spaces: refused by the row path
        ("event_id", "x" * 151),  # over the identifier limit
        ("event_id", 2**64),  # over 64 bits: JSON cannot hold it (the row path can: it is text)
        ("event_id", None),
        ("name", "x" * 101),  # over the name limit
        ("name", "é" * 51),  # 102 bytes
        ("name", None),  # the event_name then
        ("name", ""),
        ("name", 'a "quoted" name'),
        ("name", 7),
        ("timestamp", None),  # no timestamp for that row
        ("timestamp", -1),
        ("timestamp", MAX_TIME_MS // 1000 + 1),
        ("timestamp", "2024-01-02"),
        ("id", "42"),  # a text id: people's column path takes integers
        ("note", None),
        ("note", ""),
        ("note", "z" * 1001),  # over the attribute value limit
    ],
)
def test_a_block_the_column_path_cannot_take_gives_each_row_its_outcome(column: str, value: Any) -> None:
    names = ["id", "event_id", "name", "timestamp", "note"]
    builder = events(names, event_name="fallback")
    rows = [(n, f"e{n}", "purchase", 1_704_164_645 + n, f"note {n}") for n in range(20)]
    assert isinstance(builder.build(rows, 1), OpBlock)
    rows[7] = tuple(value if name == column else cell for name, cell in zip(names, rows[7], strict=True))
    built, slow = both_ways(builder, rows)
    assert not isinstance(builder.build(rows, 1), OpBlock)
    assert shape(built) == shape(slow)


def test_the_row_limits_hold_on_blocks_the_column_path_would_take() -> None:
    builder = events(["id", "event_id", "name", "note"])
    rows = [(n, n, "purchase", "ok") for n in range(10)]
    rows[3] = (3, 3, "x" * 101, "ok")
    outcomes = list(builder.build(rows, 1))
    assert shape(outcomes) == shape(list(builder.row_by_row(rows, 1)))
    assert isinstance(outcomes[3], RowError) and outcomes[3].error_type == TOO_LARGE
    assert "100 bytes" in outcomes[3].message and all(isinstance(item, Op) for item in outcomes[4:])
    wide = events(["id", "event_id", *[f"c{i}" for i in range(120)]], event_name="big")
    wide_rows = [(1, 1, *["z" * 900] * 120), (2, 2, *["z"] * 120)]
    big = list(wide.build(wide_rows, 1))
    assert shape(big) == shape(list(wide.row_by_row(wide_rows, 1)))
    assert isinstance(big[0], RowError) and big[0].error_type == TOO_LARGE and "event data" in big[0].message
    assert isinstance(big[1], Op)
    surrogate = list(builder.build([(1, "e\ud800", "purchase", "ok"), (2, 2, "n\ud800", "ok")], 1))
    assert [(item.row_number, item.error_type) for item in surrogate] == [(1, INVALID_VALUE), (2, INVALID_VALUE)]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(-(2**63), 2**63 - 1),
            st.integers(0, 2**63 - 1) | st.text(min_size=1, max_size=40),
            st.text(min_size=1, max_size=30),
            st.integers(0, MAX_TIME_MS // 1000),
            st.text(min_size=1, max_size=60),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_any_block_gives_the_row_path_outcomes(rows: list[tuple[Any, ...]]) -> None:
    builder = events(["id", "event_id", "name", "timestamp", "note"], event_name="fallback")
    built, slow = both_ways(builder, rows)
    assert shape(built) == shape(slow)


def reference_ulid(name: str, event_id: str, timestamp: int | None) -> str:
    """The ULID as ``docs/events.md`` describes it, written out a digit at a time."""
    value = (0 if timestamp is None else timestamp * 1000) << 80
    value |= int.from_bytes(hashlib.blake2b(f"{name}\0{event_id}".encode(), digest_size=10).digest(), "big")
    return "".join(CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


@given(st.text(max_size=100), st.text(max_size=150), st.none() | st.integers(0, MAX_TIME_MS // 1000))
def test_the_ulid_is_the_documented_one(name: str, event_id: str, timestamp: int | None) -> None:
    assert event_ulid(name, event_id, timestamp) == reference_ulid(name, event_id, timestamp)
