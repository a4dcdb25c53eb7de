"""Events: the person ``event`` op, its limits, deduplication by ULID, and the events stored per person."""

from __future__ import annotations

import itertools
import re
import time
from typing import Any

import orjson

from airflow_provider_cio.testing.workspace.state import WorkspaceState
from airflow_provider_cio.testing.workspace.values import ABSENT, ItemError

MAX_EVENT_NAME_BYTES = 100
MAX_EVENT_DATA_BYTES = 100_000

# 26 Crockford base-32 characters (no I, L, O, U; either case); the first one is 0-7, as 48 bits of
# milliseconds leave only 3 bits for it.
_ULID = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}", re.IGNORECASE)


def check_event_data(attributes: Any) -> None:
    """Refuse event data (an event op's ``attributes``) over 100,000 bytes of compact JSON."""
    size = len(orjson.dumps(attributes))
    if size > MAX_EVENT_DATA_BYTES:
        raise ItemError(
            "too_large",
            "attributes",
            f"event data may be at most {MAX_EVENT_DATA_BYTES} bytes; this event has {size}",
        )


class EventsMixin(WorkspaceState):
    """The events of each person, in the order they were received, deduplicated by their ``id``."""

    def __init__(self) -> None:
        super().__init__()
        self._events_of_person: dict[str, list[dict[str, Any]]] = {}  # by cio_id
        self._event_ids: set[str] = set()  # upper-cased ULIDs of every event stored, for ever
        self._event_order = itertools.count()

    def _person_event(self, op: dict[str, Any], op_bytes: int | None) -> None:
        """Store an event of a person.

        - ``name`` is required: a non-empty string of at most 100 bytes.
        - ``id``, optional, must be a ULID; an event whose ``id`` the workspace already has is accepted
          and not stored again (ULIDs compare case-insensitively). Events without ``id`` are all stored.
        - ``timestamp``, optional, is Unix seconds; without it the event gets the time it was received.
        - ``attributes`` (the event data), optional, is a JSON object of at most 100,000 bytes, stored
          as sent.
        - A person found by ``id``, ``email`` or ``phone`` who does not exist is created by the event
          (without attributes); one named by ``cio_id`` must exist (item error ``not_found``).
        - An event naming a suppressed identifier is ignored, with a ``person is suppressed`` activity.
        """
        by, key = self._person_identifiers(op.get("identifiers"), "identifiers")
        name = _event_name(op.get("name"))
        event_id = _event_id(op.get("id", ABSENT))
        timestamp = _event_timestamp(op.get("timestamp", ABSENT))
        attributes = op.get("attributes", {})
        if type(attributes) is not dict:
            raise ItemError("invalid", "attributes", "attributes must be a JSON object")
        if op_bytes is None or op_bytes > MAX_EVENT_DATA_BYTES:
            check_event_data(attributes)
        if self._ignore_suppressed(by, key, ABSENT, ABSENT):
            return
        person = self._find_person(by, key)
        if person is None and by == "cio_id":
            raise ItemError("not_found", "identifiers.cio_id", f"no person has cio_id {key}")
        if event_id is not None and event_id.upper() in self._event_ids:
            return
        if person is None:
            person = self._create_person(by, key)
        if event_id is not None:
            self._event_ids.add(event_id.upper())
        self._events_of_person.setdefault(person.cio_id, []).append(
            {
                "order": next(self._event_order),
                "person": {by: key},
                "name": name,
                "id": event_id,
                "timestamp": int(time.time()) if timestamp is None else timestamp,
                "attributes": attributes,
            }
        )

    def _forget_events(self, cio_id: str) -> None:
        """Drop the events of a deleted person (their ids still deduplicate)."""
        self._events_of_person.pop(cio_id, None)

    def events(self) -> list[dict[str, Any]]:
        """Every stored event, in the order received: ``{"person", "name", "id", "timestamp", "attributes"}``;
        ``person`` holds the identifiers the op was sent with."""
        stored = sorted(
            (event for events in self._events_of_person.values() for event in events), key=lambda e: e["order"]
        )
        return [{name: value for name, value in event.items() if name != "order"} for event in stored]


def _event_name(value: Any) -> str:
    if value is None:
        raise ItemError("required", "name", "an event needs a name")
    if type(value) is not str or not value:
        raise ItemError("invalid", "name", "name must be a non-empty string")
    size = len(value.encode())
    if size > MAX_EVENT_NAME_BYTES:
        raise ItemError(
            "too_large", "name", f"an event name may be at most {MAX_EVENT_NAME_BYTES} bytes; this one is {size}"
        )
    return value


def _event_id(value: Any) -> str | None:
    if value is ABSENT or value is None:
        return None
    if type(value) is not str or not _ULID.fullmatch(value):
        raise ItemError(
            "invalid",
            "id",
            f"id must be a ULID (26 Crockford base-32 characters, the first one 0-7), not {value!r}",
        )
    return value


def _event_timestamp(value: Any) -> int | None:
    if value is ABSENT or value is None:
        return None
    if type(value) is not int or value < 0:
        raise ItemError("invalid", "timestamp", "timestamp must be Unix seconds (a non-negative integer)")
    return value
