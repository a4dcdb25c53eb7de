"""Mirror mode on local files: snapshot merges, checkpoint parts trusted only whole and unchanged (CRC), the
mass-removal guard to the row, and what a removal sends. The store is a local folder (``SnapshotStore``); the
end-to-end runs are in ``tests/test_mirror*.py``."""

from __future__ import annotations

import os
import shutil
import struct
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest

from airflow_provider_cio.sync.mirror.keys import describe_key, key_hash, removal_op, row_hashes
from airflow_provider_cio.sync.mirror.options import MirrorOptions
from airflow_provider_cio.sync.mirror.removal_guard import MassRemovalError, check_max_removed, removal_limit
from airflow_provider_cio.sync.mirror.run import MirrorRun
from airflow_provider_cio.sync.mirror.snapshot_files import (
    DIRTY,
    TOMBSTONE,
    U64,
    Changes,
    Snapshot,
    SnapshotError,
    aligned,
    merge,
    write_part,
)
from airflow_provider_cio.sync.records.kinds.kind import SEPARATOR

FINGERPRINTS = {"import_type": "people", "identify_by": "id", "key_fingerprint": "k", "value_fingerprint": "v"}
HEADER = {"version": 1, "import_type": "people", "key_fingerprint": "k", "value_fingerprint": "v"}


class FolderStore:
    """The ``SnapshotStore`` of the operators, over a local folder."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def download(self, name: str, local: str) -> bool:
        if not (self.root / name).exists():
            return False
        shutil.copyfile(self.root / name, local)
        return True

    def upload(self, local: str, name: str) -> None:
        (self.root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(local, self.root / name)

    def names(self, prefix: str) -> list[str]:
        folder = self.root / prefix
        return sorted(f"{prefix}/{path.name}" for path in folder.iterdir()) if folder.is_dir() else []

    def remove(self, name: str) -> None:
        shutil.rmtree(self.root / name, ignore_errors=True)


def hashes(keys: list[str]) -> np.ndarray:
    return np.array([key_hash(key) for key in keys], U64)


def changes_of(rows: dict[str, int], directory: Path) -> Changes:
    changes = Changes(str(directory))
    changes.add(hashes(list(rows)), np.array(list(rows.values()), U64), list(rows))
    return changes


def contents(snapshot: Snapshot) -> dict[str, int]:
    return dict(zip(snapshot.keys(), snapshot.value_hashes.tolist(), strict=True))


PEOPLE = [str(n) for n in range(1, 31)]
VALUES = dict.fromkeys(PEOPLE, 11)
"""The last snapshot: 30 people, each row's value hash 11."""


def mirror_run(tmp_path: Path, max_removed: int | str = "10%") -> tuple[MirrorRun, FolderStore]:
    """A run whose last snapshot holds :data:`PEOPLE`, loaded with any checkpoint parts already in the store."""
    store = FolderStore(tmp_path / "store")
    (tmp_path / "store" / "snapshots").mkdir(parents=True, exist_ok=True)
    snapshot = tmp_path / "store" / "snapshots" / "base.snap"
    if not snapshot.exists():
        merge(None, changes_of(VALUES, tmp_path), str(snapshot), HEADER, str(tmp_path))
    pointer = {"name": "snapshots/base.snap", "key_fingerprint": "k"}
    options = MirrorOptions(on_removed="delete", max_removed=max_removed, store=store, pointer=pointer)
    run = MirrorRun(options, workdir=str(tmp_path), **FINGERPRINTS)
    run.load()
    return run, store


def read_rows(run: MirrorRun, keys: list[str], value: int) -> np.ndarray:
    """This run reads rows for ``keys`` (each with value hash ``value``): which are unchanged, not sent again."""
    unchanged, _ = run.change_filter.lookup(hashes(keys), np.full(len(keys), value, U64))
    return unchanged


# --- the mass-removal guard ------------------------------------------------------------------------------------


def test_ten_percent_of_thirty_rows_lets_exactly_three_leave(tmp_path: Path) -> None:
    assert removal_limit("10%", 30) == 3
    run, _ = mirror_run(tmp_path, "10%")
    run.check_guard(3)
    with pytest.raises(MassRemovalError, match=r"remove 4 of the 30 people .* allows \(3\); nothing was removed"):
        run.check_guard(4)
    run.close()


@pytest.mark.parametrize(("still_there", "fails"), [(27, False), (26, True)])
def test_the_guard_counts_the_rows_that_left_the_query(tmp_path: Path, still_there: int, fails: bool) -> None:
    run, _ = mirror_run(tmp_path, "10%")
    assert read_rows(run, PEOPLE[:still_there], 11).all()
    assert run.removed_count() == 30 - still_there
    if fails:
        with pytest.raises(MassRemovalError, match="set max_removed=4"):
            run.check_guard(run.removed_count())
    else:
        run.check_guard(run.removed_count())
        assert [key for chunk in run.removed_keys() for key in chunk] == sorted(PEOPLE[27:], key=key_hash)
    run.close()


def test_a_count_allows_that_many_removals(tmp_path: Path) -> None:
    run, _ = mirror_run(tmp_path, 3)
    run.check_guard(3)
    with pytest.raises(MassRemovalError):
        run.check_guard(4)
    run.close()


@pytest.mark.parametrize(
    ("max_removed", "rows", "limit"),
    [("10%", 31, 3), ("10%", 39, 3), ("10%", 40, 4), (" 2.5 % ", 1000, 25), ("0%", 500, 0), ("100%", 7, 7), (0, 9, 0)],
)
def test_a_percentage_of_the_last_snapshot_is_rounded_down(max_removed: int | str, rows: int, limit: int) -> None:
    assert removal_limit(max_removed, rows) == limit


@pytest.mark.parametrize("max_removed", ["ten", "10", "%", -1, "10 %%"])
def test_a_max_removed_that_is_neither_a_count_nor_a_percentage_fails_at_parse_time(max_removed: Any) -> None:
    with pytest.raises(ValueError, match="max_removed"):
        check_max_removed(max_removed)


# --- checkpoint parts ------------------------------------------------------------------------------------------


def value_hashes_at(path: Path) -> int:
    """Where a snapshot file's value hashes start (after its header, aligned to 8 bytes)."""
    data = path.read_bytes()
    (length,) = struct.unpack("<I", data[8:12])
    return aligned(12 + length)


def test_a_part_with_one_byte_changed_is_left_out_of_the_resumed_run(tmp_path: Path) -> None:
    """A stopped run delivered people 1-5, then 6-10 (new values, hash 13), a part each; one byte of the second
    part changed on the way (its length kept). The resumed run trusts the first part and sends 6-10 again."""
    run, _ = mirror_run(tmp_path)
    run.close()
    parts = tmp_path / "store" / "checkpoints" / "base"
    parts.mkdir(parents=True)
    write_part(str(parts / "run-000001.part"), HEADER, np.full(5, 13, U64), PEOPLE[:5])
    write_part(str(parts / "run-000002.part"), HEADER, np.full(5, 13, U64), PEOPLE[5:10])
    damaged = parts / "run-000002.part"
    data = bytearray(damaged.read_bytes())
    data[value_hashes_at(damaged) + 7] ^= 0x40  # the high byte of person 6's value hash
    damaged.write_bytes(bytes(data))

    resumed, _ = mirror_run(tmp_path)

    assert read_rows(resumed, PEOPLE[:5], 13).all(), "the complete part: people 1-5 are not sent again"
    assert not read_rows(resumed, PEOPLE[5:10], 13).any(), "the damaged part: people 6-10 are sent again"
    assert read_rows(resumed, PEOPLE[10:], 11).all()
    resumed.close()


def test_any_single_byte_changed_in_a_part_is_refused(tmp_path: Path) -> None:
    part = tmp_path / "part"
    write_part(str(part), HEADER, np.array([5, 7, 9], U64), ["a", "b", "c"])
    data = part.read_bytes()
    Snapshot.verified(str(part)).close()
    changed = tmp_path / "changed"
    for position in range(len(data)):
        flipped = bytearray(data)
        flipped[position] ^= 0x01
        changed.write_bytes(bytes(flipped))
        with pytest.raises(SnapshotError):
            Snapshot.verified(str(changed))


# --- snapshot merges --------------------------------------------------------------------------------------------


def test_a_merge_keeps_the_last_change_of_a_key_and_drops_tombstones(tmp_path: Path) -> None:
    merge(None, changes_of({"a": 1, "b": 3, "c": 5}, tmp_path), str(tmp_path / "1.snap"), {}, str(tmp_path))
    base = Snapshot.verified(str(tmp_path / "1.snap"), str(tmp_path))
    changes = Changes(str(tmp_path))
    changes.add(hashes(["b", "d", "b"]), np.array([7, 9, 15], U64), ["b", "d", "b"])
    changes.add(hashes(["c", "e"]), np.array([TOMBSTONE, 17], U64), ["c", "e"])

    rows = merge(base, changes, str(tmp_path / "2.snap"), {"run": "2"}, str(tmp_path))

    merged = Snapshot.verified(str(tmp_path / "2.snap"), str(tmp_path))
    assert rows == merged.rows == 4
    assert contents(merged) == {"a": 1, "b": 15, "d": 9, "e": 17}
    assert merged.key_hashes.tolist() == sorted(merged.key_hashes.tolist()), "in the order of the key hashes"
    assert merged.header["run"] == "2"
    for snapshot in (base, merged):
        snapshot.close()
    changes.close()


def test_a_base_whose_values_no_longer_compare_keeps_its_keys_marked_dirty(tmp_path: Path) -> None:
    merge(None, changes_of({"a": 1, "b": 3}, tmp_path), str(tmp_path / "1.snap"), {}, str(tmp_path))
    base = Snapshot.verified(str(tmp_path / "1.snap"), str(tmp_path))
    merge(base, changes_of({"c": 5}, tmp_path), str(tmp_path / "2.snap"), {}, str(tmp_path), dirty_base=True)
    assert contents(Snapshot(str(tmp_path / "2.snap"))) == {"a": DIRTY, "b": DIRTY, "c": 5}
    base.close()


def test_a_snapshot_of_many_keys_reads_back_every_key_in_hash_order(tmp_path: Path) -> None:
    rows = {f"person-{n}\u00e9{SEPARATOR}{n}": 2 * n + 1 for n in range(20_000)}
    merge(None, changes_of(rows, tmp_path), str(tmp_path / "big.snap"), {}, str(tmp_path))
    snapshot = Snapshot.verified(str(tmp_path / "big.snap"), str(tmp_path))
    assert contents(snapshot) == rows
    keys = list(snapshot.keys())
    assert [key_hash(key) for key in keys] == snapshot.key_hashes.tolist()
    hashes_file = [name for name in os.listdir(tmp_path) if name.startswith("cio-key-hashes-")]
    snapshot.close()
    assert hashes_file and not [name for name in os.listdir(tmp_path) if name.startswith("cio-key-hashes-")]


def test_an_empty_snapshot_and_a_truncated_one(tmp_path: Path) -> None:
    assert merge(None, Changes(str(tmp_path)), str(tmp_path / "empty.snap"), {}, str(tmp_path)) == 0
    empty = Snapshot.verified(str(tmp_path / "empty.snap"))
    assert empty.rows == 0 and list(empty.keys()) == []
    (tmp_path / "short").write_bytes(b"CIOSNAP1")
    with pytest.raises(SnapshotError, match="truncated"):
        Snapshot.verified(str(tmp_path / "short"))
    (tmp_path / "other").write_bytes(b"NOTASNAP" + bytes(20))
    with pytest.raises(SnapshotError):
        Snapshot.verified(str(tmp_path / "other"))


# --- row hashes and removal ops ------------------------------------------------------------------------------------


def test_row_hashes_are_odd_equal_for_equal_rows_and_differ_for_others() -> None:
    from decimal import Decimal

    rows = [(1, "a", None, 1.5, b"x"), (1, "a", None, 1.5, b"x"), (1, "a", None, 1.5, b"y"), (1, "b", None, 1.5, b"x")]
    plain = row_hashes(rows).tolist()
    assert all(value % 2 == 1 for value in plain)
    assert plain[0] == plain[1] and len(set(plain)) == 3
    other_types = row_hashes([(1, Decimal("1.50")), (1, Decimal("1.50")), (1, Decimal("1.5"))]).tolist()
    assert all(value % 2 == 1 for value in other_types)
    assert other_types[0] == other_types[1] != other_types[2]


@pytest.mark.parametrize(
    ("import_type", "on_removed", "key", "op", "described"),
    [
        ("people", "delete", "42", {"type": "person", "identifiers": {"id": "42"}, "action": "delete"}, "42"),
        ("people", "suppress", "42", {"type": "person", "identifiers": {"id": "42"}, "action": "suppress"}, "42"),
        (
            "objects",
            "delete",
            f"03{SEPARATOR}acme",
            {"type": "object", "identifiers": {"object_type_id": "3", "object_id": "acme"}, "action": "delete"},
            "03:acme",
        ),
        (
            "relationships",
            "delete",
            f"42{SEPARATOR}1{SEPARATOR}acme",
            {
                "type": "person",
                "identifiers": {"id": "42"},
                "action": "delete_relationships",
                "cio_relationships": [{"identifiers": {"object_type_id": "1", "object_id": "acme"}}],
            },
            "42 -> 1:acme",
        ),
    ],
)
def test_a_row_that_left_the_query_becomes_the_op_that_removes_it(
    import_type: str, on_removed: str, key: str, op: dict[str, Any], described: str
) -> None:
    assert orjson.loads(removal_op(import_type, "id", on_removed, key)) == op
    assert describe_key(import_type, key) == described
