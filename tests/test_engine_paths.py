"""The engine's two less travelled paths give what the main path gives.

- Attributes: a block of plain values (integers, short strings, NULL) is read with one ``dict(zip())``
  per row; any other block value by value. Both must give the same attributes.
- Duplicates: the Bloom filter may raise a false alarm; the row is then held back, on disk, and sent at
  the end. Forcing every row down that path must still deliver every row once, and refuse real
  duplicates only.
- Blocks of simple rows travel as ``OpBlock`` parts of batches, without an op object per row: rows held
  back leave their block, and a refused op fails its own row wherever its block sits in the batch.
"""

from __future__ import annotations

import orjson
import pytest
from sync_helpers import run_job

from airflow_provider_cio.hooks.customerio import CustomerIOHook
from airflow_provider_cio.sync.convert.columns import AttributeColumn
from airflow_provider_cio.sync.convert.values import ValueRules
from airflow_provider_cio.sync.duplicates.identifiers import IdentifierRegistry
from airflow_provider_cio.sync.records.ops import AttributeReader
from airflow_provider_cio.testing import WorkspaceEmulator

NAMES = ("email", "plan", "seats", "note")
ROWS = [
    ("a@example.com", "pro", 3, "x"),
    ("b@example.com", None, 0, ""),
    (None, "", None, None),
    ("", "team", -7, "ü" * 250),
]


def reader(delete_empty: bool) -> AttributeReader:
    convert = ValueRules().by_python_type
    columns = [AttributeColumn(name, index, convert) for index, name in enumerate(NAMES)]
    return AttributeReader(columns, delete_empty, never_null=["email"])


@pytest.mark.parametrize("delete_empty", [False, True])
def test_plain_blocks_are_read_as_value_by_value_reading_reads_them(delete_empty: bool) -> None:
    attributes = reader(delete_empty)
    assert attributes.block_kind(ROWS) == "plain"
    assert attributes.block_kind(ROWS[:1]) == "full"
    assert attributes.full(ROWS[0]) == attributes.plain(ROWS[0]) == attributes.checked(ROWS[0])
    assert [attributes.plain(row) for row in ROWS] == [attributes.checked(row) for row in ROWS]
    expected_third = {"plan": None, "seats": None, "note": None} if delete_empty else {}
    assert attributes.plain(ROWS[2]) == expected_third


@pytest.mark.parametrize(
    "odd_row",
    [
        ("c@example.com", "pro", 1, "x" * 251),
        ("c@example.com", "pro", 1.5, "x"),
        ("c@example.com", "pro", "1", "x"),
        ("c@example.com", b"pro", 1, "x"),
    ],
    ids=["long string", "float", "mixed int and text", "binary"],
)
def test_a_block_with_any_other_value_is_read_value_by_value(odd_row: tuple) -> None:
    assert reader(False).block_kind([*ROWS, odd_row]) == "checked"


def test_rows_held_back_by_a_false_alarm_are_all_sent_once_and_only_real_duplicates_fail(
    mysql_db, workspace: WorkspaceEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    mysql_db.execute("CREATE TABLE people (id INT, plan VARCHAR(10))")
    mysql_db.insert("people", [{"id": i, "plan": f"p{i}"} for i in range(1, 301)] + [{"id": 7, "plan": "again"}])
    every_row_maybe_seen = lambda self, keys, row_numbers: list(range(len(keys)))  # noqa: E731
    monkeypatch.setattr(IdentifierRegistry, "claim", every_row_maybe_seen)

    run = run_job("SELECT id, plan FROM people ORDER BY id, plan = 'again'")

    assert run.report.rows_read == 301
    assert run.report.rows_sent == 300
    assert [(e.row_number, e.error_type) for e in run.errors] == [(8, "duplicate_identifier")]
    people = {p["id"]: p["attributes"]["plan"] for p in workspace.people()}
    assert people == {str(i): f"p{i}" for i in range(1, 301)}


def test_a_false_alarm_on_some_rows_of_a_block_holds_back_only_those(
    mysql_db, workspace: WorkspaceEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Blocks of simple rows become ops a column at a time (an ``OpBlock``); the rows the filter takes for
    "maybe seen" leave the block and wait until the end, the others are sent at once, each row once."""
    mysql_db.execute("CREATE TABLE people (id INT, plan VARCHAR(10))")
    mysql_db.insert("people", [{"id": i, "plan": f"p{i}"} for i in range(1, 1201)] + [{"id": 7, "plan": "again"}])
    claim = IdentifierRegistry.claim

    def every_third_row_maybe_seen(self, keys, row_numbers):  # what a filter with more false alarms answers
        alarms = [position for position in range(len(keys)) if row_numbers[position] % 3 == 0]
        others = [position for position in range(len(keys)) if row_numbers[position] % 3]
        maybe = claim(self, [keys[p] for p in others], [row_numbers[p] for p in others])
        return sorted(alarms + [others[p] for p in maybe])

    monkeypatch.setattr(IdentifierRegistry, "claim", every_third_row_maybe_seen)

    run = run_job("SELECT id, plan FROM people ORDER BY id, plan = 'again'", fetch_size=250)

    assert (run.report.rows_read, run.report.rows_sent) == (1201, 1200)
    assert [(e.row_number, e.error_type) for e in run.errors] == [(8, "duplicate_identifier")]
    people = {p["id"]: p["attributes"]["plan"] for p in workspace.people()}
    assert people == {str(i): f"p{i}" for i in range(1, 1201)}


def test_ops_the_workspace_refuses_in_a_batch_of_several_blocks_fail_their_own_rows(
    mysql_db, workspace: WorkspaceEmulator
) -> None:
    """A batch holds parts of several blocks; the workspace's answer names ops by their place in the batch, and
    each refused op fails its own row. Here the workspace refuses a new attribute for three people who
    already have the most attributes a person may have (300)."""
    full = [150, 420, 777]
    crowded = {f"a{n}": n for n in range(300)}
    person = {"type": "person", "action": "identify", "attributes": crowded}
    assert CustomerIOHook().send_batch([orjson.dumps({**person, "identifiers": {"id": str(i)}}) for i in full]) == []
    mysql_db.execute("CREATE TABLE people (id INT, plan VARCHAR(10))")
    mysql_db.insert("people", [{"id": i, "plan": f"p{i}"} for i in range(1, 901)])

    run = run_job("SELECT id, plan FROM people ORDER BY id", fetch_size=200, concurrency=1)

    assert (run.report.rows_read, run.report.rows_sent, run.report.batches_sent) == (900, 897, 1)
    assert [(e.row_number, e.identifier, e.error_type) for e in run.errors] == [(i, str(i), "too_large") for i in full]
    plans = {p["id"]: p["attributes"].get("plan") for p in workspace.people()}
    assert plans == {str(i): None if i in full else f"p{i}" for i in range(1, 901)}
