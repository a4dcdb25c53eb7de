"""Failures the workspace reports only after the fact, traced back to rows through the activity log.

The workspace answers 200 to an op that tries to take an identifier another person has (a *failed
attribute change*) and to an op about a suppressed person, then records a ``failed_attribute_change``
activity. Reading those activities (App API) after the sync tells which rows did not land.

The real workspace applies writes asynchronously, so activities may appear seconds later: the log is
read again until it stops changing (``settle_seconds`` without news), within ``timeout`` seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from airflow_provider_cio.sync.account.failed_rows import ErrorLog
from airflow_provider_cio.sync.account.outcomes import FAILED_ATTRIBUTE_CHANGE, SUPPRESSED, RowError
from airflow_provider_cio.sync.duplicates.identifiers import IdentifierRegistry
from airflow_provider_cio.sync.records.emails import person_key

SUPPRESSED_REASON = "person is suppressed"


class ActivityLog(Protocol):
    """Reads the workspace's activity log (``CustomerIOHook`` is one)."""

    def iter_activities(self, activity_type: str, since: int) -> Iterator[dict[str, Any]]:
        """Activities of a type with a timestamp at or after ``since``."""
        ...


@dataclass
class LateFailures:
    """Rows the workspace accepted over HTTP and then did not apply."""

    failed: list[RowError]
    suppressed: list[RowError]


def settled_activities(
    log: ActivityLog,
    since: int,
    *,
    settle_seconds: float = 5.0,
    timeout: float = 60.0,
    sleep: Callable[[float], None] = time.sleep,
) -> list[dict[str, Any]]:
    """The ``failed_attribute_change`` activities since ``since``, once the log has stopped changing.

    :param settle_seconds: the log counts as settled when a read this long after the previous one
        finds nothing new. ``0`` reads it once.
    :param timeout: the longest time to wait for the log to settle.
    """
    deadline = time.monotonic() + timeout
    activities = list(log.iter_activities("failed_attribute_change", since))
    while settle_seconds > 0 and time.monotonic() + settle_seconds <= deadline:
        sleep(settle_seconds)
        again = list(log.iter_activities("failed_attribute_change", since))
        if {a.get("id") for a in again} <= {a.get("id") for a in activities}:
            break
        activities = again
    return activities


def trace_to_rows(
    activities: Iterable[dict[str, Any]],
    identify_by: str,
    identifiers: IdentifierRegistry,
    errors: ErrorLog,
    *,
    failed_changes: bool = True,
) -> LateFailures:
    """Which accepted rows each activity is about, as row errors (failed changes and suppressed people).

    A person is found by the identifier the sync used (``identify_by``); every row the sync sent about
    them is concerned (one for people, whose keys are unique; each of a person's events). Activities about
    people the sync did not touch, or about rows that already failed, are ignored.

    :param failed_changes: whether failed attribute changes can be about the sync's rows (people); else
        only suppressed people are (events).
    """
    by_key: dict[str, list[dict[str, Any]]] = {}
    for activity in activities:
        value = (activity.get("customer_identifiers") or {}).get(identify_by)
        if value not in (None, ""):
            key = person_key(identify_by, str(value))
            by_key.setdefault(key, []).append(activity)
    late = LateFailures(failed=[], suppressed=[])
    rows = [(row_number, key) for key, row_numbers in identifiers.rows_of(by_key).items() for row_number in row_numbers]
    for row_number, key in sorted(rows):
        if errors.has(row_number):
            continue
        data = by_key[key][0].get("data") or {}
        reason = str(data.get("reason") or "")
        if reason == SUPPRESSED_REASON:
            late.suppressed.append(RowError(row_number, key, SUPPRESSED, SUPPRESSED_REASON))
        elif failed_changes:
            attribute = data.get("attribute") or "an identifier"
            message = f"failed attribute change: the workspace did not set {attribute!r}: {reason}"
            late.failed.append(RowError(row_number, key, FAILED_ATTRIBUTE_CHANGE, message))
    return late
