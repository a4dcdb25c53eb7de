"""Mirror snapshots and checkpoint parts as files: merges keep keys and hashes aligned, a part cut short at
any byte is refused (so a process that dies while writing one leaves nothing the next run would trust),
and the operators refuse mirror settings that cannot work, at DAG parse time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from airflow_provider_cio.operators.relationships import RelationshipOperator
from airflow_provider_cio.operators.reverse_etl import MySQLReverseETLOperator
from airflow_provider_cio.storage import ObjectStore
from airflow_provider_cio.sync.mirror.keys import key_hash
from airflow_provider_cio.sync.mirror.options import MirrorOptions
from airflow_provider_cio.sync.mirror.removal_guard import removal_limit
from airflow_provider_cio.sync.mirror.run import MirrorRun
from airflow_provider_cio.sync.mirror.snapshot_files import (
    DIRTY,
    TOMBSTONE,
    U64,
    Changes,
    Snapshot,
    SnapshotError,
    merge,
    write_part,
)


def changes_of(rows: dict[str, int], directory: Path) -> Changes:
    changes = Changes(str(directory))
    keys = list(rows)
    changes.add(np.array([key_hash(k) for k in keys], U64), np.array(list(rows.values()), U64), keys)
    return changes


def contents(snapshot: Snapshot) -> dict[str, int]:
    keys = list(snapshot.keys())
    assert [key_hash(key) for key in keys] == snapshot.key_hashes.tolist()
    assert snapshot.key_hashes.tolist() == sorted(snapshot.key_hashes.tolist())
    return dict(zip(keys, snapshot.value_hashes.tolist(), strict=True))


def test_a_merge_applies_changes_and_tombstones(tmp_path: Path) -> None:
    first = {f"person-{n}": 2 * n + 1 for n in range(1000)}
    merge(None, changes_of(first, tmp_path), str(tmp_path / "a.snap"), {}, str(tmp_path))
    base = Snapshot.verified(str(tmp_path / "a.snap"))
    assert contents(base) == first

    update = {"person-1": 99, "person-2": TOMBSTONE, "person-3": TOMBSTONE, "new": 7, "person-4": DIRTY}
    rows = merge(base, changes_of(update, tmp_path), str(tmp_path / "b.snap"), {}, str(tmp_path))
    expected = {**first, "person-1": 99, "new": 7, "person-4": DIRTY}
    del expected["person-2"], expected["person-3"]
    assert rows == len(expected) and contents(Snapshot.verified(str(tmp_path / "b.snap"))) == expected

    everything_gone = dict.fromkeys(first, TOMBSTONE)
    assert merge(base, changes_of(everything_gone, tmp_path), str(tmp_path / "c.snap"), {}, str(tmp_path)) == 0
    assert contents(Snapshot.verified(str(tmp_path / "c.snap"))) == {}


def test_a_checkpoint_part_cut_short_anywhere_is_refused(tmp_path: Path) -> None:
    part = tmp_path / "part"
    write_part(str(part), {"run": "x"}, np.array([5, 7, 9], U64), ["a", "b", "c"])
    data = part.read_bytes()
    Snapshot.verified(str(part))
    cut = tmp_path / "cut"
    for length in range(len(data)):
        cut.write_bytes(data[:length])
        with pytest.raises(SnapshotError):
            Snapshot.verified(str(cut))


def test_a_run_resumes_from_complete_parts_and_ignores_a_torn_one(tmp_path: Path) -> None:
    store = ObjectStore(f"file://{tmp_path / 'store'}")
    options = MirrorOptions(on_removed="ignore", max_removed="10%", store=store)
    fingerprints = {"import_type": "people", "identify_by": "id", "key_fingerprint": "k", "value_fingerprint": "v"}

    stopped = MirrorRun(options, workdir=str(tmp_path), **fingerprints)
    stopped.load()
    stopped.checkpoints._accepted = [(key_hash("1"), 11, "1"), (key_hash("2"), 13, "2")]
    stopped.checkpoint()
    stopped.checkpoints._accepted = [(key_hash("3"), 15, "3")]
    stopped.checkpoint()
    stopped.close()
    (name,) = [n for n in store.names("checkpoints/none") if n.endswith("000002.part")]
    torn = Path(store.uri(name).removeprefix("file://"))
    torn.write_bytes(torn.read_bytes()[:-3])  # the process died while writing the second part

    resumed = MirrorRun(options, workdir=str(tmp_path), **fingerprints)
    resumed.load()
    assert resumed.base is not None and contents(resumed.base) == {"1": 11, "2": 13}
    resumed.close()


def test_max_removed_is_a_count_or_a_percentage() -> None:
    assert removal_limit("10%", 31) == 3
    assert removal_limit(" 2.5 % ", 1000) == 25
    assert removal_limit(0, 1000) == 0
    with pytest.raises(ValueError, match="max_removed must be a count"):
        removal_limit("ten", 10)


def test_mirror_settings_that_cannot_work_fail_at_parse_time() -> None:
    with pytest.raises(ValueError, match=r"remove the .*last_sync_time"):
        MySQLReverseETLOperator(task_id="t", sql="SELECT id FROM p WHERE u >= {{ last_sync_time }}", sync_mode="mirror")
    with pytest.raises(ValueError, match="on_removed must be one of 'ignore', 'delete'"):
        MySQLReverseETLOperator(task_id="t", sql="SELECT 1", import_type="objects", on_removed="suppress")
    with pytest.raises(ValueError, match="max_removed"):
        RelationshipOperator(task_id="t", sql="SELECT 1", sync_mode="mirror", max_removed="lots")
    assert RelationshipOperator(task_id="t", sql="SELECT 1", sync_mode="mirror").on_removed == "delete"
    people = MySQLReverseETLOperator(task_id="t", sql="SELECT 1", sync_mode="mirror", on_removed="suppress")
    assert (people.on_removed, people.empty_values) == ("suppress", "delete")
    assert MySQLReverseETLOperator(task_id="t", sql="SELECT 1").empty_values == "ignore"
