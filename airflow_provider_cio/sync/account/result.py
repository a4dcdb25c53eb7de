"""What a sync did, and how far a running one is: the engine's counts."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field


@dataclass
class SyncProgress:
    """How far a running sync is (handed to the progress callback)."""

    rows_read: int
    rows_accepted: int
    elapsed_seconds: float
    rows_in_flight: int = 0
    """Rows handed to the senders and not answered yet (queued or in a request)."""

    @property
    def rows_per_second(self) -> float:
        """Rows read per second so far."""
        return self.rows_read / self.elapsed_seconds if self.elapsed_seconds > 0 else 0.0


@dataclass
class SyncResult:
    """What a sync did. Row errors are in :attr:`SyncEngine.errors`.

    :param rows_read: rows read from the query (at most the row limit).
    :param rows_accepted: rows in ops the workspace accepted.
    :param rows_not_sent: rows left unsent because the sync stopped early.
    :param ops_sent: ops the workspace answered, mirror removals included.
    :param batches_sent: batch requests the workspace answered, mirror removals included.
    :param row_limit_reached: the query had more rows than the limit; the rows beyond it were not read.
    :param error: what stopped the sync early, if anything.
    """

    rows_read: int = 0
    rows_accepted: int = 0
    rows_not_sent: int = 0
    ops_sent: int = 0
    batches_sent: int = 0
    row_limit_reached: bool = False
    error: BaseException | None = None
    counts_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
