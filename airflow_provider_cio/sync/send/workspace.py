"""Where batches go: the workspace seams of the engine, and the workspace of a dry run.

``CustomerIOHook`` fills them in production; a test double needs only the members listed here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol, runtime_checkable

from airflow_provider_cio.sync.account.outcomes import OpError
from airflow_provider_cio.sync.account.reconcile import ActivityLog


class Workspace(Protocol):
    """Where batches go: ``CustomerIOHook`` in production, :class:`DryRunWorkspace` for a dry run.

    A workspace may also be a :class:`CancellableWorkspace`.
    """

    @property
    def throttled_responses(self) -> int:
        """Answers so far that asked to slow down (429, 503): the engine sends fewer batches at once when it grows."""
        ...

    def send_batch(self, ops: Sequence[bytes]) -> list[OpError]:
        """Send encoded ops in one request; return the refused ones."""
        ...


@runtime_checkable
class CancellableWorkspace(Workspace, Protocol):
    """A workspace whose retry waits can be stopped (``CustomerIOHook``).

    ``cancel()`` is called when the sync is interrupted (the task's timeout, a kill), so that no
    request waits out its retries.
    """

    def cancel(self) -> None:
        """Stop waiting to retry; requests in flight end with an error."""
        ...


class DryRunWorkspace:
    """Accepts every batch without sending anything: a dry run reports what would have been sent."""

    throttled_responses = 0
    """A dry run is never asked to slow down."""

    def send_batch(self, ops: Sequence[bytes]) -> list[OpError]:
        """Accept all ops."""
        return []


class SyncWorkspace(CancellableWorkspace, ActivityLog, Protocol):
    """The workspace a :class:`~airflow_provider_cio.sync.job.SyncJob` syncs into: ``CustomerIOHook``, or a
    test double with the same methods."""

    requests_sent: int
    """HTTP requests made so far (for the report)."""

    @property
    def can_read_activities(self) -> bool:
        """Whether the activity log can be read (the connection has an App API key)."""
        ...

    def ensure_manual_segment(self, name: str, description: str = "") -> int:
        """The id of the manual segment of this name, created when missing."""
        ...

    def add_to_segment(self, segment_id: int | str, ids: Iterable[str], id_type: str = "id") -> int:
        """Add people to a manual segment; return how many were sent."""
        ...

    def remove_from_segment(self, segment_id: int | str, ids: Iterable[str], id_type: str = "id") -> int:
        """Remove people from a manual segment (mirror mode); return how many were sent."""
        ...
