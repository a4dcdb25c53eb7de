"""A block of simple people rows is encoded a column at a time; the ops must be byte for byte those of the
row-by-row path, whatever the text holds (quotes, backslashes, ``","``, ``%``, control characters, any
script), and a block the column path cannot take whole goes row by row, each row with its own outcome.
"""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_cio.sync.account.outcomes import RowError
from airflow_provider_cio.sync.convert.columns import IdentifyBy
from airflow_provider_cio.sync.records.encoded import Op, OpBlock
from airflow_provider_cio.sync.records.kinds import plan_columns
from airflow_provider_cio.sync.records.ops import EmptyValues, PeopleOps

LONGLONG, VAR_STRING = 8, 253
AWKWARD_TEXT = [
    'say "hi"',
    "back\\slash\\",
    '","',
    '\\",\\"',
    '"',
    "\\",
    "50% off %b %s %%",
    "tab\tline\nbreak\r\x01\x1f\x7f",
    "ünïcödé ✓ 漢字 \U0001f600",
    "\u2028\u2029</script>",
    "x" * 250,
    "é" * 250,
    " ",
]


def people_ops(names: list[str], identify_by: IdentifyBy = "id", empty_values: EmptyValues = "ignore") -> PeopleOps:
    """The op builder for a query selecting ``names`` (``id`` is a BIGINT, every other column text)."""
    description = [(name, LONGLONG if name == "id" else VAR_STRING) for name in names]
    return PeopleOps(plan_columns(description, "people", identify_by), empty_values)


def both_ways(builder: PeopleOps, rows: list[tuple[Any, ...]], first_row: int = 1) -> tuple[list, list]:
    """The block's ops and errors as the builder gives them, and as the row-by-row path gives them."""
    kind = builder.attributes.block_kind(rows)
    return list(builder.build(rows, first_row)), list(builder.row_by_row(rows, first_row, kind))


def columns_of(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return list(zip(*rows, strict=True))


def shape(items: list[Op | RowError]) -> list[tuple]:
    return [
        (item.body, item.first_row, item.row_count, item.identifier, item.key)
        if isinstance(item, Op)
        else (item.row_number, item.identifier, item.error_type, item.message)
        for item in items
    ]


@pytest.mark.parametrize("empty_values", ["ignore", "delete"])
def test_awkward_text_gives_the_same_bytes_a_column_at_a_time(empty_values: EmptyValues) -> None:
    builder = people_ops(["id", "email", "note", '50%_of "it"', "plän"], empty_values=empty_values)
    rows = [
        (n, f"user{n}@example.com", text, text[::-1], f"{n}%")
        for n, text in enumerate(AWKWARD_TEXT * 3, start=2**63 - 100)
    ]
    assert builder.columnar.ops(columns_of(rows), 7) is not None, "the block is simple: the column path takes it"
    fast, slow = both_ways(builder, rows, 7)
    assert shape(fast) == shape(slow)
    assert all(isinstance(op, Op) for op in fast) and len(fast) == len(rows)


def test_integer_attributes_and_people_by_email_give_the_same_bytes() -> None:
    builder = people_ops(["email", "id", "seats", "note"], identify_by="email")
    rows = [(f"User.{n}+Tag@Example.COM", n, -(n**3), AWKWARD_TEXT[n % len(AWKWARD_TEXT)]) for n in range(40)]
    assert builder.columnar.ops(columns_of(rows), 1) is not None
    fast, slow = both_ways(builder, rows)
    assert shape(fast) == shape(slow)
    assert fast[3].key == "user.3+tag@example.com" and fast[3].identifier == "User.3+Tag@Example.COM"


def test_strings_up_to_the_value_limit_go_a_column_at_a_time_and_one_over_it_row_by_row() -> None:
    builder = people_ops(["id", "note", "bio"])
    long_values = ["y" * 1000, "ü" * 500, '"' * 600, "\\" * 999, "x"]  # JSON escapes make the last two longer
    rows = [(n, value, value[:10]) for n, value in enumerate(long_values * 2, start=1)]
    assert builder.columnar.ops(columns_of(rows[:2]), 1) is not None, "long but within the limit: the column path"
    fast, slow = both_ways(builder, rows)
    assert shape(fast) == shape(slow)
    assert all(isinstance(item, Op) for item in fast)
    over = [*rows[:2], (99, "ü" * 500 + "x", "short")]  # 1001 bytes
    assert builder.columnar.ops(columns_of(over), 1) is None
    fast, slow = both_ways(builder, over)
    assert shape(fast) == shape(slow)
    assert [(e.row_number, e.error_type) for e in fast if isinstance(e, RowError)] == [(3, "too_large")]


def test_a_block_of_one_row_and_a_query_of_only_ids() -> None:
    for names, row in ((["id", "note"], (1, '","')), (["id"], (5,))):
        builder = people_ops(names)
        assert builder.columnar.ops(columns_of([row]), 3) is not None
        fast, slow = both_ways(builder, [row], 3)
        assert shape(fast) == shape(slow)


WIDE = [f"c{n}" for n in range(30)]


@pytest.mark.parametrize(
    ("names", "good_values", "odd_values", "error_type"),
    [
        (["id", "email"], ("a@example.com",), ("not an email",), "invalid_email"),
        (["id", "email"], ("a@example.com",), ("a@example.com\nb@example.com",), "invalid_email"),
        (["id", "seats"], (5,), (2**64,), "invalid_value"),
        (["id", "note"], ("fine",), ("\ud800 lone surrogate",), "invalid_value"),
        (["id", *WIDE], ("x",) * 30, ("\x01" * 250,) * 30, "too_large"),
    ],
    ids=[
        "invalid email",
        "two addresses on two lines",
        "integer over 64 bits",
        "lone surrogate",
        "op over 32,000 bytes",
    ],
)
def test_a_block_with_a_row_the_workspace_would_refuse_goes_row_by_row(
    names: list[str], good_values: tuple, odd_values: tuple, error_type: str
) -> None:
    builder = people_ops(names)
    rows = [(1, *good_values), (2, *good_values), (3, *good_values), (4, *odd_values)]
    assert builder.attributes.block_kind(rows) == "full", "simple to the attribute reader: only the column path checks"
    assert builder.columnar.ops(columns_of(rows), 1) is None
    fast, slow = both_ways(builder, rows)
    assert shape(fast) == shape(slow)
    errors = [item for item in fast if isinstance(item, RowError)]
    assert [(error.row_number, error.error_type) for error in errors] == [(4, error_type)]


@pytest.mark.parametrize(
    "rows",
    [
        [(1, "a"), ("2", "b")],
        [(1, "a"), (True, "b")],
        [(1, "a"), (2, None)],
        [(1, "a"), (2, "")],
        [(1, "a"), (2, 3)],
    ],
    ids=["a text id", "a boolean id", "a NULL", "an empty string", "text and numbers in one column"],
)
def test_a_block_that_is_not_simple_goes_row_by_row(rows: list[tuple]) -> None:
    builder = people_ops(["id", "note"])
    fast, slow = both_ways(builder, rows)
    assert shape(fast) == shape(slow)


def test_float_and_mixed_number_columns_give_the_same_bytes_a_column_at_a_time() -> None:
    builder = people_ops(["id", "score", "ratio"])  # SQLite hands a NUMERIC column's 2.0 as the integer 2
    numbers = [0.01, 2, -0.0, 1e16, 123456.789, 5e-324, 1.7976931348623157e308, -7, 2**63 - 1, 0.1 + 0.2]
    rows = [(n, value, float(n) / 3) for n, value in enumerate(numbers * 3, start=1)]
    assert isinstance(builder.build(rows, 1), OpBlock), "finite numbers: the column path takes the block"
    fast, slow = both_ways(builder, rows)
    assert shape(fast) == shape(slow)


@pytest.mark.parametrize(
    "odd", [float("nan"), float("inf"), -float("inf"), 10**400], ids=["NaN", "inf", "-inf", "over 64 bits"]
)
def test_a_number_column_with_a_value_json_cannot_hold_goes_row_by_row(odd: Any) -> None:
    builder = people_ops(["id", "score"])
    rows = [(1, 0.5), (2, 3), (3, odd)]
    fast, slow = both_ways(builder, rows)
    assert shape(fast) == shape(slow)
    assert [(e.row_number, e.error_type) for e in fast if isinstance(e, RowError)] == [(3, "invalid_value")]
