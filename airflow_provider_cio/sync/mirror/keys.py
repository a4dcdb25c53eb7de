"""Mirror mode's keys and hashes: what identifies a row (its key), what tells it changed (its value hash),
and the op that removes a key from the workspace: each kind's rule (``RecordKind.mirror``) read by name."""

from __future__ import annotations

import marshal
from collections.abc import Sequence
from itertools import repeat
from typing import Any

import numpy as np
import orjson
from xxhash import xxh3_64_intdigest

from airflow_provider_cio.sync.convert.columns import ColumnPlan
from airflow_provider_cio.sync.mirror.snapshot_files import U64
from airflow_provider_cio.sync.records.kinds import KINDS, MirrorRule
from airflow_provider_cio.sync.records.kinds.kind import KeyReader


def rule(import_type: str) -> MirrorRule:
    """The mirror rule of a kind of record (its key and what removal means)."""
    mirror = KINDS[import_type].mirror
    if mirror is None:
        raise ValueError(KINDS[import_type].mirror_refused)
    return mirror


def key_reader(plan: ColumnPlan, object_type_id: str) -> KeyReader:
    """How to read the key of each row of a block: the person, the object or the person-object pair.

    The key is read as the op builder reads it (an email in lower case); a row it would refuse gets a key
    that is never in a snapshot, as such a row is never accepted.
    """
    return rule(plan.import_type).key_reader(plan, object_type_id)


def key_columns(plan: ColumnPlan) -> tuple[int, ...]:
    """The indexes of the columns a row's key is read from."""
    return rule(plan.import_type).key_columns(plan)


def removal_op(import_type: str, identify_by: str, on_removed: str, key: str) -> bytes:
    """The op that removes a row's key from the workspace."""
    return rule(import_type).removal_op(identify_by, on_removed, key)


def describe_key(import_type: str, key: str) -> str:
    """A key as the error report names it (``person -> type:object`` for relationships)."""
    return rule(import_type).describe_key(key)


def key_hash(key: str) -> int:
    """The 64-bit hash of a key, the same in every process (Python's ``hash`` of a str is not)."""
    return xxh3_64_intdigest(key.encode())


def row_hash(row: Any) -> int:
    """The value hash of a row holding values of any type (see :func:`row_hashes`)."""
    return xxh3_64_intdigest(orjson.dumps(row, default=str)) | 1


def row_hashes(rows: Sequence[Any]) -> np.ndarray:
    """The value hash of each row: odd, so that it is never a tombstone or dirty mark.

    Rows of ``bytes``, ``str``, ``int``, ``float`` and ``None`` (what mysqlclient gives) are hashed through
    ``marshal`` format 0 (no references, no interning: the same bytes for equal values in any process);
    a block holding other types (``Decimal``, ``datetime`` from another driver) through JSON.
    """
    try:
        blobs = list(map(marshal.dumps, rows, repeat(0)))
    except ValueError:
        return np.fromiter(map(row_hash, rows), U64, len(rows))
    return np.fromiter(map(xxh3_64_intdigest, blobs), U64, len(rows)) | np.uint64(1)
