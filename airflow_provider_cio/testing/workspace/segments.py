"""Manual segments and their members (the App API's segment calls)."""

from __future__ import annotations

from typing import Any

from airflow_provider_cio.testing.workspace.records import Segment, SegmentNotFound
from airflow_provider_cio.testing.workspace.state import WorkspaceState
from airflow_provider_cio.testing.workspace.values import MAX_SEGMENT_IDS, PERSON_IDENTIFIER_KINDS


class SegmentsMixin(WorkspaceState):
    """Manual segments: create them, add and remove members, list them."""

    def create_segment(self, name: Any, description: Any = "") -> Segment:
        """Create a manual segment (App API ``POST /v1/segments``); ids count up from 1."""
        if type(name) is not str or not name.strip():
            raise ValueError("segment.name is required")
        if type(description) is not str:
            raise ValueError("segment.description must be a string")
        segment = Segment(next(self._segment_ids), name, description)
        self._segments[segment.id] = segment
        return segment

    def segments(self) -> list[Segment]:
        """All manual segments, oldest first."""
        return list(self._segments.values())

    def change_segment_members(self, segment_id: str, ids: Any, id_type: str, *, add: bool) -> None:
        """Add (or remove) people to a manual segment: ``ids`` are 1 to 1000 values of ``id_type``
        (``id``, ``email`` or ``cio_id``); values that match nobody are ignored.

        Raises :class:`SegmentNotFound` for an unknown segment, ``ValueError`` for a bad request.
        """
        segment = self._segments.get(int(segment_id)) if segment_id.isdecimal() else None
        if segment is None:
            raise SegmentNotFound(f"segment {segment_id} not found")
        if id_type not in PERSON_IDENTIFIER_KINDS:
            raise ValueError(f"id_type must be one of id, email, cio_id, not {id_type!r}")
        if type(ids) is not list or not 1 <= len(ids) <= MAX_SEGMENT_IDS:
            raise ValueError(f"ids must be a list of 1 to {MAX_SEGMENT_IDS} identifiers")
        for value in ids:
            key = str(value) if type(value) is int else value
            person = self._find_person(id_type, key) if type(key) is str and key else None
            if person is None:
                continue
            if add:
                segment.members[person.cio_id] = None
            else:
                segment.members.pop(person.cio_id, None)

    def segment_members(self) -> list[dict[str, Any]]:
        """Every manual segment with its members (cio_ids in the order they were added)."""
        return [
            {
                "id": s.id,
                "name": s.name,
                "description": s.description,
                "type": "manual",
                "members": list(s.members),
            }
            for s in self._segments.values()
        ]
