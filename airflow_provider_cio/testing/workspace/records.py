"""The records the workspace keeps: people, manual segments, and the key of an object."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


class SegmentNotFound(LookupError):
    """A manual segment id that the workspace does not have."""


@dataclass(slots=True)
class Person:
    """A profile. ``id``, ``email`` and ``phone`` are the identifiers; ``attributes`` holds every other
    attribute."""

    cio_id: str
    id: str | None
    email: str | None
    attributes: dict[str, Any] = dataclasses.field(default_factory=dict)
    phone: str | None = None

    def identifiers(self) -> dict[str, str | None]:
        """``{"id", "email", "cio_id"}`` as the activity log and the admin endpoints show them."""
        return {"id": self.id, "email": self.email, "cio_id": self.cio_id}


@dataclass(slots=True)
class Segment:
    """A manual segment; ``members`` holds cio_ids in the order they were added (a dict as ordered set)."""

    id: int
    name: str
    description: str
    members: dict[str, None] = dataclasses.field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """The segment as the App API returns it."""
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "type": "manual",
            "state": "finished",
            "progress": None,
        }


ObjectKey = tuple[str, str]  # (object_type_id, object_id)


@dataclass(slots=True)
class PersonLinks:
    """The people named by an object op's ``cio_relationships``; ``None`` for a skipped person."""

    people: list[tuple[Person | None, dict[str, Any]]] = dataclasses.field(default_factory=list)
    suppressed: list[tuple[str, str]] = dataclasses.field(default_factory=list)  # (identifier kind, value)
