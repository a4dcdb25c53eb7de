"""The activity log (``GET /v1/activities``) and the record of delete and suppress ops applied."""

from __future__ import annotations

import itertools
import time
from typing import Any

from airflow_provider_cio.testing.workspace.state import WorkspaceState

_activity_ids = itertools.count(1)  # unique for the life of the process, across resets


class ActivityLogMixin(WorkspaceState):
    """The activity log, newest first on its pages, and the removals applied."""

    def _record_activity(self, identifiers: dict[str, Any], attribute: str, value: Any, reason: str) -> None:
        self.activities.append(
            {
                "id": f"act{next(_activity_ids):010d}",
                "type": "failed_attribute_change",
                "timestamp": int(time.time()),
                "customer_identifiers": identifiers,
                "data": {"attribute": attribute, "value": value, "reason": reason},
            }
        )

    def activity_page(self, *, type: str | None, limit: int, start: str) -> dict[str, Any]:
        """One page of the activity log, newest first, as ``GET /v1/activities`` returns it.

        ``start`` is the ``next`` cursor of the previous page (``""`` for the first page); it is the
        position below which the page starts. Raises ``ValueError`` for a cursor it did not make.
        """
        if start and not (start.isdecimal() and int(start) <= len(self.activities)):
            raise ValueError(f"invalid start cursor {start!r}")
        position = int(start) if start else len(self.activities)
        page: list[dict[str, Any]] = []
        while position > 0:
            activity = self.activities[position - 1]
            if type is None or activity["type"] == type:
                if len(page) == limit:
                    return {"activities": page, "next": str(position)}
                page.append(activity)
            position -= 1
        return {"activities": page, "next": ""}

    def _record_removal(self, kind: str, identifiers: dict[str, str], action: str, *, found: bool) -> None:
        self.removals.append({"type": kind, "identifiers": identifiers, "action": action, "found": found})
