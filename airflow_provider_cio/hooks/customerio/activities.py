"""The activity log of a workspace (App API): failed attribute changes, suppressed people, ..."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from airflow_provider_cio.hooks.customerio.http import WorkspaceSender

ACTIVITY_PAGE = 100
"""Activities per page."""


def iter_activities(sender: WorkspaceSender, activity_type: str, since: int) -> Iterator[dict[str, Any]]:
    """Activities of ``activity_type`` with a timestamp at or after ``since``, newest first, page by page.

    :param sender: sends the requests (the App API key is needed).
    """
    cursor = ""
    while True:
        path = f"/v1/activities?type={activity_type}&limit={ACTIVITY_PAGE}"
        if cursor:
            path += f"&start={cursor}"
        page = sender.request("GET", "app", path)
        for activity in page.get("activities") or []:
            if int(activity.get("timestamp") or 0) < since:
                return
            yield activity
        cursor = page.get("next") or ""
        if not cursor:
            return
