"""Mirror mode's keys and hashes: what identifies a row (its key), what tells it changed (its value hash),
and the op that removes a key from the workspace."""

from __future__ import annotations

import marshal
from collections.abc import Callable, Sequence
from itertools import repeat
from typing import Any

import numpy as np
import orjson
from xxhash import xxh3_64_intdigest

from airflow_provider_cio.sync.convert.columns import ColumnPlan
from airflow_provider_cio.sync.mirror.snapshot_files import U64
from airflow_provider_cio.sync.records.ops import object_type_text

SEPARATOR = "\x1f"


def key_reader(plan: ColumnPlan, object_type_id: str) -> Callable[[Sequence[Sequence[Any]]], list[str]]:
    """How to read the key of each row of a block: the person, the object or the person-object pair.

    The key is read as the op builder reads it (an email in lower case); a row it would refuse gets a key
    that is never in a snapshot, as such a row is never accepted.
    """
    person = plan.identifier_index
    by_email = plan.identify_by == "email"
    types = plan.object_type_index

    def person_key(value: Any) -> str:
        if type(value) is str:
            return value.lower() if by_email else value
        return "" if value is None else str(value)

    def object_key(row: Sequence[Any], object_id: Any) -> str:
        kind = object_type_id if types is None or row[types] in (None, "") else str(row[types])
        return f"{kind}{SEPARATOR}{object_id}"

    if plan.import_type == "people":
        if by_email:
            return lambda rows: [v.lower() if type(v := row[person]) is str else "" for row in rows]
        return lambda rows: [v if type(v := row[person]) is str else str(v) for row in rows]
    if plan.import_type == "objects":
        return lambda rows: [object_key(row, row[person]) for row in rows]
    assert plan.object_id_index is not None
    object_id = plan.object_id_index
    return lambda rows: [f"{person_key(row[person])}{SEPARATOR}{object_key(row, row[object_id])}" for row in rows]


def key_columns(plan: ColumnPlan) -> tuple[int, ...]:
    """The indexes of the columns a row's key is read from."""
    columns = [plan.identifier_index, plan.object_type_index]
    if plan.import_type == "relationships":
        columns.append(plan.object_id_index)
    return tuple(index for index in columns if index is not None)


def removal_op(import_type: str, identify_by: str, on_removed: str, key: str) -> bytes:
    """The op that removes a row's key from the workspace."""
    if import_type == "people":
        return orjson.dumps({"type": "person", "identifiers": {identify_by: key}, "action": on_removed})
    if import_type == "objects":
        kind, object_id = key.split(SEPARATOR, 1)
        identifiers = {"object_type_id": object_type_text(kind), "object_id": object_id}
        return orjson.dumps({"type": "object", "identifiers": identifiers, "action": "delete"})
    person, kind, object_id = key.split(SEPARATOR, 2)
    item = {"identifiers": {"object_type_id": object_type_text(kind), "object_id": object_id}}
    op = {"type": "person", "identifiers": {identify_by: person}, "action": "delete_relationships"}
    return orjson.dumps({**op, "cio_relationships": [item]})


def describe_key(import_type: str, key: str) -> str:
    """A key as the error report names it (``person -> type:object`` for relationships)."""
    if import_type == "people":
        return key
    parts = key.split(SEPARATOR)
    return f"{parts[0]} -> {parts[1]}:{parts[2]}" if import_type == "relationships" else f"{parts[0]}:{parts[1]}"


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
