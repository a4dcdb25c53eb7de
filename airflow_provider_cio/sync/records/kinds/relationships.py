"""Relationships: a person's consecutive rows in one op, keyed by the person and the object."""

from __future__ import annotations

from typing import Any

import orjson

from airflow_provider_cio.sync.convert.column_types import TEMPORAL_TYPES, SourceColumn
from airflow_provider_cio.sync.convert.columns import ColumnPlan, IdentifyBy, QueryColumns, QueryError
from airflow_provider_cio.sync.records.emails import email_key
from airflow_provider_cio.sync.records.kinds.kind import SEPARATOR, KeyReader, MirrorRule, RecordKind
from airflow_provider_cio.sync.records.ops import object_type_of, object_type_text
from airflow_provider_cio.sync.records.relationships import RelationshipOps


def columns(query: QueryColumns, identify_by: IdentifyBy) -> None:
    """Relationships need the person identifier chosen by ``identify_by`` and ``object_id``; an optional
    boolean ``deleted`` column removes relationships; the other person identifiers are never attributes."""
    query.require("identifier", identify_by, f"relationships to people identified by {identify_by}")
    query.require("object_id", "object_id", "relationships")
    deleted = query.optional("deleted", "deleted")
    if deleted is not None:
        check_deleted_type(deleted)
    for other in ("id", "email"):
        if other != identify_by:
            query.leave_out(
                other, f"{other} (people are identified by {identify_by}; identifiers are not relationship attributes)"
            )
    query.optional("object_type", "object_type_id")


def check_deleted_type(column: SourceColumn) -> None:
    """A relationship query's ``deleted`` column is a boolean; a date or time never is (every row would fail)."""
    if column.type in TEMPORAL_TYPES:
        raise QueryError(
            f"the deleted column is a {column.source_type or column.type}, and deleted must be a boolean (true removes "
            "the relationship); select whether it is set instead, e.g. (removed_at IS NOT NULL) AS deleted"
        )


def key_reader(plan: ColumnPlan, object_type_id: str) -> KeyReader:
    """A relationship's key: the person (an email in lower case), the object's type and its ``object_id``."""
    person, types = plan.identifier_index, plan.object_type_index
    assert plan.object_id_index is not None
    object_id = plan.object_id_index
    by_email = plan.identify_by == "email"

    def person_key(value: Any) -> str:
        if type(value) is str:
            return email_key(value) if by_email else value
        return "" if value is None else str(value)

    return lambda rows: [
        f"{person_key(row[person])}{SEPARATOR}{object_type_of(row, types, object_type_id, str)}{SEPARATOR}"
        f"{row[object_id]}"
        for row in rows
    ]


def key_columns(plan: ColumnPlan) -> tuple[int, ...]:
    """A relationship's key is read from the person, the ``object_type_id`` column (if any) and ``object_id``."""
    columns = (plan.identifier_index, plan.object_type_index, plan.object_id_index)
    return tuple(index for index in columns if index is not None)


def removal_op(identify_by: str, on_removed: str, key: str) -> bytes:
    """A relationship that left the query is deleted."""
    person, kind, object_id = key.split(SEPARATOR, 2)
    item = {"identifiers": {"object_type_id": object_type_text(kind), "object_id": object_id}}
    op = {"type": "person", "identifiers": {identify_by: person}, "action": "delete_relationships"}
    return orjson.dumps({**op, "cio_relationships": [item]})


def describe_key(key: str) -> str:
    """``person -> type:object_id``."""
    person, kind, object_id = key.split(SEPARATOR, 2)
    return f"{person} -> {kind}:{object_id}"


RELATIONSHIPS = RecordKind(
    "relationships",
    columns=columns,
    build=lambda plan, settings: RelationshipOps(plan, settings.object_type_id, settings.empty_values),
    describe=lambda settings: f"relationships to people identified by {settings.identify_by}",
    mirror=MirrorRule(key_columns, key_reader, removal_op, describe_key),
)
