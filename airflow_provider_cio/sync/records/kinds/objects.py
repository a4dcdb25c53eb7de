"""Objects: one ``identify`` op per row of an object, keyed by its type and ``object_id``."""

from __future__ import annotations

import orjson

from airflow_provider_cio.sync.convert.columns import ColumnPlan, IdentifyBy, QueryColumns
from airflow_provider_cio.sync.records.kinds.kind import SEPARATOR, KeyReader, MirrorRule, RecordKind
from airflow_provider_cio.sync.records.ops import ObjectOps, object_type_of, object_type_text


def columns(query: QueryColumns, identify_by: IdentifyBy) -> None:
    """Objects need ``object_id``; an ``object_type_id`` column, when present, gives each row's type."""
    query.require(("identifier", "object_id"), "object_id", "objects")
    query.optional("object_type", "object_type_id")


def object_key(plan: ColumnPlan, object_type_id: str) -> KeyReader:
    """An object's key: its type (the row's, else the default) and its ``object_id``, as given."""
    types, object_id = plan.object_type_index, plan.identifier_index
    return lambda rows: [
        f"{object_type_of(row, types, object_type_id, str)}{SEPARATOR}{row[object_id]}" for row in rows
    ]


def key_columns(plan: ColumnPlan) -> tuple[int, ...]:
    """An object's key is read from ``object_id`` and the ``object_type_id`` column, if any."""
    return tuple(index for index in (plan.identifier_index, plan.object_type_index) if index is not None)


def removal_op(identify_by: str, on_removed: str, key: str) -> bytes:
    """An object that left the query is deleted."""
    kind, object_id = key.split(SEPARATOR, 1)
    identifiers = {"object_type_id": object_type_text(kind), "object_id": object_id}
    return orjson.dumps({"type": "object", "identifiers": identifiers, "action": "delete"})


def describe_key(key: str) -> str:
    """``type:object_id``."""
    kind, object_id = key.split(SEPARATOR, 1)
    return f"{kind}:{object_id}"


OBJECTS = RecordKind(
    "objects",
    columns=columns,
    build=lambda plan, settings: ObjectOps(plan, settings.object_type_id, settings.empty_values),
    describe=lambda settings: f"objects, default object type {settings.object_type_id}",
    mirror=MirrorRule(key_columns, object_key, removal_op, describe_key),
    records=lambda object_type_id: f"objects/{object_type_id}",
)
