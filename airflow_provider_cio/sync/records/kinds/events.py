"""Events: one person ``event`` op per row, its id made from ``event_id``; never mirrored."""

from __future__ import annotations

from airflow_provider_cio.sync.convert.columns import ColumnPlan, IdentifyBy, QueryColumns, QueryError
from airflow_provider_cio.sync.records.events import EventOps
from airflow_provider_cio.sync.records.kinds.kind import KindSettings, RecordKind

EVENT_ID_WHY = (
    "event_id is each row's stable key (e.g. the order id): it makes the event's id, which the workspace "
    "deduplicates by, so a row sent again by a look-back, a retry or a failed run never makes a second event"
)


def columns(query: QueryColumns, identify_by: IdentifyBy) -> None:
    """Events need the person identifier chosen by ``identify_by`` and ``event_id``; an optional ``name``
    column names each event, an optional ``timestamp`` column gives its time; the others are event data."""
    query.require("identifier", identify_by, f"events of people identified by {identify_by}")
    query.require("event_id", "event_id", "events", why=EVENT_ID_WHY)
    query.optional("name", "name")
    query.optional("timestamp", "timestamp")


def check_plan(plan: ColumnPlan, settings: KindSettings) -> None:
    """Each event has a name: from the ``name`` column or ``event_name``.

    :raises QueryError: neither is given.
    """
    if plan.name_index is None and settings.event_name is None:
        raise QueryError(
            "an events sync needs each event's name: select a column named 'name', or give the operator "
            "event_name='purchase' (the name of every event of the sync)"
        )


def describe(settings: KindSettings) -> str:
    """``events of people identified by id``, and the sync's event name."""
    named = f", named {settings.event_name!r} unless the name column says" if settings.event_name else ""
    return f"events of people identified by {settings.identify_by}{named}"


EVENTS = RecordKind(
    "events",
    columns=columns,
    build=lambda plan, settings: EventOps(plan, settings.event_name, settings.empty_values),
    describe=describe,
    mirror=None,
    check_plan=check_plan,
    activities=True,
    event_name=True,
    mirror_refused=(
        "events cannot be mirrored: an event happened and cannot be removed when its row leaves the query. "
        "Use sync_mode='upsert' with an incremental query (docs/events.md)"
    ),
)
