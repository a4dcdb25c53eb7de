"""The column path against the row path, for any block of rows: what a block becomes a column at a time (the
raw dates and decimals converted per column by ``RawColumns``, the ops encoded per column by ``ColumnarPeople``,
the fast attribute readers of ``AttributeReader``) is byte for byte what the row path makes of the same rows,
value by value: the same ops, the same row errors, in the same order.

The row path is ``PeopleOps.row_by_row`` with the ``checked`` reader (every value through its converter), fed
the values the MySQL driver would have made itself (``ValueRules.text_converters``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_cio.sources.mysql.column_types import (
    MYSQL_DATE,
    MYSQL_DATETIME,
    MYSQL_NEWDECIMAL,
    MYSQL_TIME,
    MYSQL_TIMESTAMP,
    MYSQL_YEAR,
    driver_converters,
    mysql_columns,
)
from airflow_provider_cio.sync.account.outcomes import RowError
from airflow_provider_cio.sync.convert.columns import IdentifyBy
from airflow_provider_cio.sync.convert.server_text import (
    WHOLE_COLUMN_ROWS,
    ConvertingBuilder,
    RawColumns,
    one_by_one,
    utc_seconds,
)
from airflow_provider_cio.sync.convert.values import (
    InvalidDate,
    ValueRules,
    utc_text_seconds,
)
from airflow_provider_cio.sync.records.encoded import Op, OpBlock
from airflow_provider_cio.sync.records.kinds import plan_columns
from airflow_provider_cio.sync.records.ops import CHECKED, EmptyValues, ObjectOps, PeopleOps

LONGLONG, VAR_STRING = 8, 253


def shape(items: list[Op | RowError]) -> list[tuple[Any, ...]]:
    """What the engine sends and reports for each op or row error: bytes, rows and names."""
    return [
        (item.body, item.first_row, item.row_count, item.identifier, item.key)
        if isinstance(item, Op)
        else (item.row_number, item.identifier, item.error_type, item.message)
        for item in items
    ]


def row_path(builder: PeopleOps, rows: list[tuple[Any, ...]], first_row: int) -> list[Op | RowError]:
    return list(builder.row_by_row(rows, first_row, CHECKED))


# --- strategies: blocks of rows of mixed types -----------------------------------------------------------------

AWKWARD = st.sampled_from(['"', "\\", '","', "%", "%b", "\n", "\t", "\x00", "\x7f", "\u2028", "é", "漢", "\U0001f600"])
short_texts = st.one_of(
    st.text(min_size=1, max_size=12),
    st.lists(st.one_of(AWKWARD, st.text(max_size=3)), min_size=1, max_size=8).map("".join).filter(bool),
)
long_texts = st.sampled_from(
    [
        "x" * 251,
        "x" * 1000,
        "x" * 1001,
        "€" * 333,  # 999 bytes
        "€" * 334,  # 1002 bytes
        "\U0001f600" * 250,  # 1000 bytes
        "\U0001f600" * 251,
        '"' * 600,  # 600 bytes, 1200 of JSON: within the limit
        "\x01" * 300,  # 300 bytes, 1800 of JSON
    ]
)
texts = st.one_of(short_texts, long_texts)
emails = st.builds(
    lambda user, n: f"{user}.{n}@Example.com", st.sampled_from(["ada", "Bob", "o'hara", "é"]), st.integers(0, 99)
)
phones = st.one_of(
    st.integers(1, 10**14 - 1).map(lambda n: f"+{n}"),
    st.sampled_from(["+1", "+12", "+999999999999999", "+1 415 555 0123", "14155550123", "+0123", "+1234567890123456"]),
)
odd_values = st.one_of(
    st.none(),
    st.just(""),
    st.integers(2**64, 2**70),
    st.just("a lone surrogate \ud800"),
    st.decimals(allow_nan=True, places=2, min_value=-(10**20), max_value=10**20),
    st.datetimes(min_value=dt.datetime(1000, 1, 1), max_value=dt.datetime(9999, 12, 31)),
    st.dictionaries(st.text(max_size=4), st.integers() | st.text(max_size=4), max_size=3),
    st.floats(),
    st.booleans(),
    st.binary(max_size=4),
)
COLUMN_KINDS = {
    "integers": st.integers(-(2**63), 2**64 - 1),
    "booleans": st.booleans(),
    "short texts": short_texts,
    "texts": texts,
    "emails": emails,
    "phones": phones,
    "mixed": st.one_of(st.integers(-5, 5), texts, odd_values),
}


@st.composite
def blocks(draw: st.DrawFn) -> tuple[IdentifyBy, list[str], list[tuple[Any, ...]]]:
    """A people query (``id``, ``email`` or ``phone`` and 1 to 4 attribute columns) and a block of its rows: each
    column of one kind, as columns of a table are, with odd values here and there."""
    identify_by: IdentifyBy = draw(st.sampled_from(["id", "email", "phone"]))
    kinds = draw(st.lists(st.sampled_from(sorted(COLUMN_KINDS)), min_size=1, max_size=4))
    suffixes = st.sampled_from(["", "%", "%b", "%%s", '"q"', "\\", "\u00e9", " "])
    names = [identify_by, *(f"{kind.replace(' ', '_')}_{n}{draw(suffixes)}" for n, kind in enumerate(kinds))]
    if identify_by != "email" and draw(st.booleans()):
        names.append("email")
        kinds.append("emails")
    if identify_by != "phone" and draw(st.booleans()):
        names.append("phone")
        kinds.append("phones")
    count = draw(st.integers(1, 16))
    identifiers = {"id": st.integers(1, 10**12), "email": emails, "phone": phones}[identify_by]
    columns = [draw(st.lists(identifiers, min_size=count, max_size=count))]
    columns += [draw(st.lists(COLUMN_KINDS[kind], min_size=count, max_size=count)) for kind in kinds]
    odd = draw(
        st.dictionaries(
            st.tuples(st.integers(0, count - 1), st.integers(0, len(kinds))),
            st.one_of(st.sampled_from([None, ""]), odd_values),
            max_size=3,
        )
    )
    for (row, column), value in odd.items():
        columns[column][row] = value
    return identify_by, names, list(zip(*columns, strict=True))


def people_ops(
    names: list[str], identify_by: IdentifyBy, empty_values: EmptyValues, update_only: bool = False
) -> PeopleOps:
    description = [(name, LONGLONG if name == "id" else VAR_STRING) for name in names]
    return PeopleOps(plan_columns(description, "people", identify_by), empty_values, update_only)


@settings(max_examples=120)
@given(
    block=blocks(),
    empty_values=st.sampled_from(["ignore", "delete"]),
    first_row=st.integers(1, 10**6),
    update_only=st.booleans(),
)
def test_any_block_of_people_rows_gives_the_bytes_of_the_row_path(
    block: tuple[IdentifyBy, list[str], list[tuple[Any, ...]]],
    empty_values: EmptyValues,
    first_row: int,
    update_only: bool,
) -> None:
    identify_by, names, rows = block
    builder = people_ops(names, identify_by, empty_values, update_only)
    assert shape(list(builder.build(rows, first_row))) == shape(row_path(builder, rows, first_row))


@settings(max_examples=60)
@given(block=blocks(), empty_values=st.sampled_from(["ignore", "delete"]))
def test_any_block_of_object_rows_gives_what_its_rows_give_value_by_value(
    block: tuple[IdentifyBy, list[str], list[tuple[Any, ...]]], empty_values: EmptyValues
) -> None:
    """Objects have no column encoder, but their attribute reader has fast paths for plain blocks: a row with a
    decimal in every attribute column makes the block one read value by value, which must change nothing
    for the rows before it."""
    _, names, rows = block
    names = ["object_id", *names[1:]]
    description = [(name, VAR_STRING) for name in names]
    builder = ObjectOps(plan_columns(description, "objects"), "3", empty_values)
    checked_row = ("x", *[Decimal("1.5")] * (len(names) - 1))

    fast = list(builder.build(rows, 1))
    value_by_value = list(builder.build([*rows, checked_row], 1))

    assert builder.attributes.block_kind([*rows, checked_row]) == CHECKED
    assert shape(fast) == shape(value_by_value[:-1])


def test_a_simple_block_does_take_the_column_path() -> None:
    """The property tests above compare two paths only if simple blocks really take the column path."""
    builder = people_ops(["id", "note", "seats", "active"], "id", "ignore")
    rows = [(n, f"note {n}", n * 2, n % 2 == 0) for n in range(1, 50)]
    built = builder.build(rows, 1)
    assert isinstance(built, OpBlock) and len(built) == 49
    assert b'"active":true' in built.bodies[1] and b'"active":false' in built.bodies[0]


@pytest.mark.parametrize("update_only", [False, True], ids=["upsert", "update only"])
def test_a_simple_block_of_phones_takes_the_column_path_with_the_row_paths_bytes(update_only: bool) -> None:
    """Phone identifiers and ``_update`` on the column path: the same bytes as row by row, checked on blocks
    that do take it (the property above compares the paths whichever each block takes)."""
    builder = people_ops(["phone", "note", "seats"], "phone", "ignore", update_only)
    rows = [(f"+1415555{n:04d}", f"note {n}", n * 2) for n in range(1, 50)]
    built = builder.build(rows, 1)
    assert isinstance(built, OpBlock) and len(built) == 49
    assert shape(list(built)) == shape(row_path(builder, rows, 1))
    update = b',"_update":true' if update_only else b""
    assert next(iter(built)).body == (
        b'{"type":"person","identifiers":{"phone":"+14155550001"},"action":"identify",'
        b'"attributes":{"note":"note 1","seats":2' + update + b"}}"
    )


def test_update_only_without_attributes_is_the_same_on_both_paths() -> None:
    builder = people_ops(["id"], "id", "ignore", update_only=True)
    built = builder.build([(7,), (8,)], 1)
    assert isinstance(built, OpBlock)
    assert shape(list(built)) == shape(row_path(builder, [(7,), (8,)], 1))
    assert (
        next(iter(built)).body
        == b'{"type":"person","identifiers":{"id":"7"},"action":"identify","attributes":{"_update":true}}'
    )


# --- raw dates and decimals, a column at a time ---------------------------------------------------------------

moments = st.datetimes(min_value=dt.datetime(1000, 1, 1), max_value=dt.datetime(9999, 12, 31, 23, 59, 59))
DATETIME_TEXTS = {
    "seconds": moments.map(lambda m: f"{m:%Y-%m-%d %H:%M:%S}"),
    "fractions": moments.map(lambda m: f"{m:%Y-%m-%d %H:%M:%S}.{m.microsecond:06d}"),
    "dates": moments.map(lambda m: f"{m.year:04d}-{m.month:02d}-{m.day:02d}"),
    "zero": st.sampled_from(
        ["0000-00-00 00:00:00", "2024-00-10 00:00:00", "2023-02-29 10:00:00", "2024-13-01 00:00:00"]
    ),
}


def tiled(values: list[Any], size: int, odd: dict[int, Any]) -> list[Any]:
    """A column of ``size`` values repeating ``values``, with the ``odd`` ones put at their positions: long
    columns cost little to generate, and a few odd values still fall anywhere."""
    column = [values[position % len(values)] for position in range(size)]
    for position, value in odd.items():
        column[position % size] = value
    return column


@st.composite
def raw_datetime_columns(draw: st.DrawFn) -> list[Any]:
    """A column of ``DATETIME`` text as the driver leaves it raw: one format, now and then a NULL or a zero date."""
    size = draw(st.sampled_from([1, 5, WHOLE_COLUMN_ROWS - 1, WHOLE_COLUMN_ROWS, 200]))
    values = draw(st.lists(DATETIME_TEXTS[draw(st.sampled_from(sorted(DATETIME_TEXTS)))], min_size=1, max_size=6))
    odd = draw(st.dictionaries(st.integers(0, 199), st.none() | DATETIME_TEXTS["zero"], max_size=3))
    return [value.encode() if isinstance(value, str) else value for value in tiled(values, size, odd)]


def same_values(converted: list[Any], expected: list[Any]) -> bool:
    def comparable(value: Any) -> Any:
        return ("invalid", value.text) if isinstance(value, InvalidDate) else value

    return list(map(comparable, converted)) == list(map(comparable, expected))


@settings(max_examples=150)
@given(column=raw_datetime_columns())
def test_a_column_of_raw_dates_converts_to_the_drivers_values(column: list[Any]) -> None:
    whole = utc_seconds(column)
    by_driver = one_by_one(column, utc_text_seconds)
    if whole is not None:
        assert whole == by_driver, "a whole-column conversion gives exactly the driver's values"
        assert not any(isinstance(value, InvalidDate) for value in by_driver)
    rows = [(n, value) for n, value in enumerate(column)]
    converted = RawColumns({1: utc_text_seconds}).columns(rows)[1]
    assert same_values(list(converted), by_driver)


@pytest.mark.parametrize(
    "values",
    [
        [b"2024-02-29 12:00:00"] * 200,
        [b"1970-01-01"] * 128,
        [b"9999-12-31 23:59:59.999999"] * 130,
        [None, b"2000-01-01 00:00:00", None] * 50,
    ],
    ids=["a leap day", "dates", "the last second, with fractions", "NULLs between"],
)
def test_whole_columns_are_converted_at_once(values: list[Any]) -> None:
    """The examples the property above leans on: these columns do take the whole-column conversion."""
    converted = utc_seconds(values)
    assert converted is not None and converted == one_by_one(values, utc_text_seconds)


@pytest.mark.parametrize(
    "values",
    [
        [b"2023-02-29 00:00:00"] * 128,
        [b"0000-00-00 00:00:00"] * 128,
        [b"2024-01-01 24:00:00"] * 128,
        [b"2024-01-01T00:00:00"] * 128,
        [b"0000-01-01"] * 128,
        [b"2024-01-01 00:00:00", b"2024-01-01"] * 64,
        ["2024-01-01 00:00:00"] * 128,
    ],
    ids=["no Feb 29", "zero date", "hour 24", "a T", "year 0", "two lengths", "already text"],
)
def test_what_is_not_a_calendar_date_is_left_to_the_driver_converter(values: list[Any]) -> None:
    assert utc_seconds(values) is None


DESCRIPTION = [
    ("id", LONGLONG),
    ("joined", MYSQL_DATETIME),
    ("seen", MYSQL_TIMESTAMP),
    ("born", MYSQL_DATE),
    ("price", MYSQL_NEWDECIMAL),
    ("shift", MYSQL_TIME),
    ("year", MYSQL_YEAR),
    ("note", VAR_STRING),
]
decimals_text = st.decimals(places=2, min_value=-(10**12), max_value=10**12, allow_nan=False).map(lambda d: f"{d:f}")
times_text = st.timedeltas(min_value=dt.timedelta(hours=-838), max_value=dt.timedelta(hours=838)).map(
    lambda t: f"{'-' if t < dt.timedelta(0) else ''}{abs(t) // dt.timedelta(hours=1):02d}:00:00"
)


@st.composite
def raw_rows(draw: st.DrawFn) -> list[tuple[Any, ...]]:
    """Rows as the driver hands them when asked to leave dates, decimals, times and years raw (bytes): a few
    distinct rows repeated into a block, a NULL or a zero date here and there."""
    count = draw(st.sampled_from([3, WHOLE_COLUMN_ROWS, 150]))
    datetimes = DATETIME_TEXTS[draw(st.sampled_from(["seconds", "fractions"]))]
    distinct = draw(
        st.lists(
            st.tuples(
                datetimes,
                DATETIME_TEXTS["seconds"],
                DATETIME_TEXTS["dates"],
                decimals_text,
                times_text,
                st.integers(1901, 2155).map(str),
                texts,
            ),
            min_size=1,
            max_size=5,
        )
    )
    odd = draw(
        st.dictionaries(
            st.integers(0, 149), st.tuples(st.integers(0, 5), st.none() | DATETIME_TEXTS["zero"]), max_size=4
        )
    )
    rows = [
        [n + 1, *(value.encode() for value in distinct[n % len(distinct)][:6]), distinct[n % len(distinct)][6]]
        for n in range(count)
    ]
    for position, (column, value) in odd.items():
        rows[position % count][1 + column] = value.encode() if isinstance(value, str) and column < 2 else None
    return [tuple(row) for row in rows]


@settings(max_examples=40)
@given(rows=raw_rows(), empty_values=st.sampled_from(["ignore", "delete"]))
def test_raw_dates_and_decimals_give_the_bytes_the_driver_converted_values_give(
    rows: list[tuple[Any, ...]], empty_values: EmptyValues
) -> None:
    """The whole chain: a block of raw driver values, converted a column at a time and encoded a column at a
    time, sends the bytes the row path sends for the values the driver would have converted itself."""
    rules = ValueRules()
    columns = mysql_columns(DESCRIPTION, rules.text_converters())
    plan = plan_columns(columns, "people", values=rules)
    raw = RawColumns.for_columns(columns, rules)
    assert raw is not None
    converters = driver_converters(rules.text_converters())
    driver_rows = [
        tuple(
            converters[kind](value) if kind in converters and value is not None else value
            for value, (_, kind) in zip(row, DESCRIPTION, strict=True)
        )
        for row in rows
    ]

    column_path = list(ConvertingBuilder(PeopleOps(plan, empty_values), raw).build(rows, 1))

    assert shape(column_path) == shape(row_path(PeopleOps(plan, empty_values), driver_rows, 1))
