"""Where batches go: the workspace seams of the engine, and the workspace of a dry run.

``CustomerIOHook`` fills them in production; a test double needs only the members listed here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from airflow_provider_cio.sync.outcomes import OpError


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
