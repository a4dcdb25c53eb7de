"""The duplicate check (``sync/duplicates/identifiers.py`` over ``sync/duplicates/bloom.py``): every identifier
sent is recorded exactly, with its row; a repeat is always flagged "maybe seen", in a later block or the same
one; rows held back come back in order; and the spill files go when the registry closes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from airflow_provider_cio.sync.duplicates import identifiers
from airflow_provider_cio.sync.duplicates.identifiers import IdentifierRegistry


def test_a_repeated_identifier_is_always_flagged_and_new_ones_recorded_with_their_rows(tmp_path: Path) -> None:
    registry = IdentifierRegistry(str(tmp_path))
    registry.claim([f"p{n}" for n in range(1000)], range(1, 1001))
    repeats = registry.claim(["new-1", "p5", "new-2", "p999", "new-1"], [1001, 1002, 1003, 1004, 1005])
    assert {1, 3, 4} <= set(repeats), "p5, p999 and the second new-1 are maybe seen"
    first = registry.first_rows(["p5", "p999", "new-1", "never"])
    assert first == {"p5": 6, "p999": 1000, "new-1": 1001}
    registry.close()


def test_every_identifier_recorded_comes_back_in_order_across_spills(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(identifiers, "SPILL_EVERY", 7)
    registry = IdentifierRegistry(str(tmp_path))
    expected = []
    for block in range(10):
        keys = [f"k{block}-{n}" for n in range(5)]
        rows = range(block * 5 + 1, block * 5 + 6)
        maybe = set(registry.claim(keys, rows))
        expected += [
            (row, key) for position, (row, key) in enumerate(zip(rows, keys, strict=True)) if position not in maybe
        ]
    registry.record("late", 99)
    assert list(registry) == [*expected, (99, "late")]
    assert registry.first_rows(["late"]) == {"late": 99}
    registry.close()


def test_rows_held_back_come_back_in_order_and_the_files_go_on_close(tmp_path: Path) -> None:
    registry = IdentifierRegistry(str(tmp_path))
    for n in range(3):
        registry.hold((n, f"op {n}".encode(), {"row": n}))
    assert list(registry.held()) == [(0, b"op 0", {"row": 0}), (1, b"op 1", {"row": 1}), (2, b"op 2", {"row": 2})]
    assert registry.held_count == 3
    assert os.path.exists(registry.path)
    registry.close()
    assert os.listdir(tmp_path) == []
