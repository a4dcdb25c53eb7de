"""People: one ``identify`` op per row, keyed by the identifier column ``identify_by`` names."""

from __future__ import annotations

import orjson

from airflow_provider_cio.sync.convert.columns import ColumnPlan, IdentifyBy, QueryColumns
from airflow_provider_cio.sync.records.emails import email_key
from airflow_provider_cio.sync.records.kinds.kind import KeyReader, KindSettings, MirrorRule, RecordKind
from airflow_provider_cio.sync.records.ops import PeopleOps


def columns(query: QueryColumns, identify_by: IdentifyBy) -> None:
    """People need the identifier column chosen by ``identify_by``; every other column is an attribute."""
    query.require("identifier", identify_by, f"people identified by {identify_by}")


def key_reader(plan: ColumnPlan, object_type_id: str) -> KeyReader:
    """A person's key: the identifier as sent (an email in lower case)."""
    person = plan.identifier_index
    if plan.identify_by == "email":
        return lambda rows: [email_key(v) if type(v := row[person]) is str else "" for row in rows]
    return lambda rows: [v if type(v := row[person]) is str else str(v) for row in rows]


def removal_op(identify_by: str, on_removed: str, key: str) -> bytes:
    """A person who left the query is deleted or suppressed, as ``on_removed`` says."""
    return orjson.dumps({"type": "person", "identifiers": {identify_by: key}, "action": on_removed})


def describe(settings: KindSettings) -> str:
    """``people identified by email``, and whether the sync creates nobody."""
    update_only = ", update only (creates nobody)" if settings.update_only else ""
    return f"people identified by {settings.identify_by}{update_only}"


PEOPLE = RecordKind(
    "people",
    columns=columns,
    build=lambda plan, settings: PeopleOps(plan, settings.empty_values, settings.update_only),
    describe=describe,
    mirror=MirrorRule(
        key_columns=lambda plan: (plan.identifier_index,),
        key_reader=key_reader,
        removal_op=removal_op,
        describe_key=lambda key: key,
        on_removed=("ignore", "delete", "suppress"),
    ),
    update_only=True,
    segments=True,
    activities=True,
    failed_changes=True,
)
