"""Manual segments of a workspace: people added or removed (Track API), segments found or created (App API)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from airflow_provider_cio.hooks.customerio.http import WorkspaceSender

SEGMENT_CHUNK = 1000
"""Identifiers per add or remove call."""


class ManualSegments:
    """The manual segments of the workspace ``sender`` speaks to.

    :param sender: sends the requests (finding or creating a segment needs the App API key).
    """

    def __init__(self, sender: WorkspaceSender) -> None:
        self.sender = sender

    def add(self, segment_id: int | str, ids: Iterable[str], id_type: str = "id") -> int:
        """Add people to a manual segment, 1000 identifiers a call; return how many were sent.

        :param id_type: what ``ids`` hold: ``id``, ``email`` or ``cio_id``.
        """
        return self._send_ids(f"/api/v1/segments/{segment_id}/add_customers?id_type={id_type}", ids)

    def remove(self, segment_id: int | str, ids: Iterable[str], id_type: str = "id") -> int:
        """Remove people from a manual segment, 1000 identifiers a call; return how many were sent."""
        return self._send_ids(f"/api/v1/segments/{segment_id}/remove_customers?id_type={id_type}", ids)

    def all_segments(self) -> list[dict[str, Any]]:
        """All segments of the workspace (App API)."""
        return self.sender.request("GET", "app", "/v1/segments").get("segments") or []

    def find_manual(self, name: str) -> dict[str, Any] | None:
        """The manual segment called ``name``, or None (App API)."""
        for segment in self.all_segments():
            if segment.get("name") == name and segment.get("type", "manual") == "manual":
                return segment
        return None

    def create(self, name: str, description: str = "") -> dict[str, Any]:
        """Create a manual segment (App API) and return it."""
        body = orjson.dumps({"segment": {"name": name, "description": description}})
        return self.sender.request("POST", "app", "/v1/segments", body)["segment"]

    def ensure_manual(self, name: str, description: str = "") -> int:
        """The id of the manual segment called ``name``, created when it does not exist yet."""
        segment = self.find_manual(name) or self.create(name, description)
        return int(segment["id"])

    def _send_ids(self, path: str, ids: Iterable[str]) -> int:
        sent = 0
        for chunk in chunked(ids, SEGMENT_CHUNK):
            self.sender.request("POST", "track", path, orjson.dumps({"ids": chunk}))
            sent += len(chunk)
        return sent


def chunked(items: Iterable[str], size: int) -> Iterator[list[str]]:
    """Lists of at most ``size`` items, in order."""
    chunk: list[str] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
