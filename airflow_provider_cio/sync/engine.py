"""The streaming sync: read blocks of rows, build ops, fill batches, send them on several lanes at once.

::

    relationships:
    cursor.fetchmany ──> OpBuilder ──> lane = hash(key) % lanes
                                           │
                  lane 0: BatchBuilder ─> queue (1 batch) ─> sender thread ─┐
                  lane 1: ...                                                ├─ window ─> workspace.send_batch
                  ...                                                        ┘
    people, objects:
    cursor.fetchmany ──> OpBuilder ──> duplicate check ──> BatchBuilder ─> queue (2 batches)
                                                               ─> the sender threads of every lane ─> window ─> ...

When a key may have several ops (relationships), a key's ops always travel on the same lane, one batch
after the other, so a person's updates reach the workspace in row order even with several requests in
flight. People and objects send each key once (a repeated key is refused,
:mod:`~airflow_provider_cio.sync.duplicates.check`), so their ops are batched in row order by one builder
and the lanes' senders take turns at one queue: whichever sender is free sends the next batch. How
many lanes send at once is the :class:`~airflow_provider_cio.sync.send.concurrency.ConcurrencyWindow`'s
call: fixed (``concurrency``), or adapting to the workspace's answers up to ``max_concurrency``.

When the rows run out, every lane's queue drains in parallel, and the lanes' last, partly filled
batches are packed together into as few requests as fit (a lane's ops stay whole and in order in one
request; lanes share no keys), sent in parallel: a 100-row sync is one request, whatever the number
of lanes. Queues are bounded, so memory holds a few blocks of rows and about ``2 x lanes`` batches
(queued or open, and in flight), whatever the number of rows. A sender that fails for good (the
workspace refuses the credentials, or stays down past the retry budget) stops the sync: no more rows
are read, queued batches are not sent, and the error is kept in the result.

When the workspace refuses an op that carries several rows (a grouped relationship op), the builder may
``split`` it: the lane sends the parts, and the later ops of the same key from that batch, before its
next batch, so each row gets its own outcome and a key's ops still take effect in row order
(:mod:`~airflow_provider_cio.sync.send.answers`).

After the rows, :meth:`SyncEngine.send` sends ops that come from no row (mirror removals) the same way.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from airflow_provider_cio.sync.account.failed_rows import ErrorLog
from airflow_provider_cio.sync.account.result import SyncProgress, SyncResult
from airflow_provider_cio.sync.duplicates.check import DuplicateCheck
from airflow_provider_cio.sync.duplicates.identifiers import IdentifierRegistry
from airflow_provider_cio.sync.limits import MAX_ROWS
from airflow_provider_cio.sync.records.encoded import Op, OpBlock
from airflow_provider_cio.sync.records.ops import OpBuilder
from airflow_provider_cio.sync.send.answers import RowAnswers, Settled
from airflow_provider_cio.sync.send.batches import Ops
from airflow_provider_cio.sync.send.concurrency import ConcurrencyWindow
from airflow_provider_cio.sync.send.lanes import BatchAnswers, Senders
from airflow_provider_cio.sync.send.workspace import CancellableWorkspace, DryRunWorkspace, Workspace

log = logging.getLogger(__name__)

DRAIN_POLL = 0.05
"""Shortest wait between two progress reports while the batches drain."""


class SyncEngine:
    """Streams a query result into a workspace.

    :param builder: turns rows into ops (people, objects or relationships).
    :param workspace: where batches go.
    :param concurrency: batch requests in flight at once, fixed; None adapts it to the workspace's
        answers, between 1 and ``max_concurrency``.
    :param max_concurrency: the most batch requests in flight when ``concurrency`` is None.
    :param fetch_size: rows fetched from the cursor at a time.
    :param max_rows: rows one sync may send; a query with more fails after sending this many.
    :param progress: called with a :class:`SyncProgress` at most every ``progress_interval`` seconds.
    :param workdir: where temporary files go (identifier spill file, error database).
    :param settled: called (from the sender threads) with the ops of each answered batch that the
        workspace accepted and those it refused for good (mirror mode records the accepted rows).
    :param errors: where row errors go (a new error log in ``workdir`` when None); :meth:`close` closes it.
    """

    def __init__(
        self,
        builder: OpBuilder,
        workspace: Workspace,
        *,
        concurrency: int | None = None,
        max_concurrency: int = 16,
        fetch_size: int = 5000,
        max_rows: int = MAX_ROWS,
        progress: Callable[[SyncProgress], None] | None = None,
        progress_interval: float = 10.0,
        workdir: str | None = None,
        settled: Settled | None = None,
        errors: ErrorLog | None = None,
    ) -> None:
        if (concurrency is not None and concurrency < 1) or max_concurrency < 1:
            raise ValueError("concurrency and max_concurrency must be at least 1")
        self.builder = builder
        self.workspace = workspace
        if isinstance(workspace, DryRunWorkspace):
            concurrency = 1  # nothing waits for an answer: more lanes would only add threads
        self.concurrency = concurrency or max_concurrency
        self.window = ConcurrencyWindow(self.concurrency, fixed=concurrency is not None)
        self.fetch_size = fetch_size
        self.max_rows = max_rows
        self.progress = progress
        self.progress_interval = progress_interval
        self.errors = errors if errors is not None else ErrorLog(workdir)
        self.identifiers = IdentifierRegistry(workdir)
        self.duplicates = DuplicateCheck(self.identifiers)
        self.result = SyncResult()
        self.rows = RowAnswers(builder, self.errors, self.result, settled)
        self._stop = threading.Event()
        self._senders = self._senders_for(self.rows)
        self._started = 0.0

    def run(self, cursor: Any) -> SyncResult:
        """Read every row of an executed cursor and send it; return when every batch has an answer."""
        started = self._started = time.monotonic()
        senders = self._senders
        senders.open(self.concurrency, shared=self.builder.unique_keys)
        try:
            self._stream(cursor, started)
            if self._stop.is_set():
                self.rows.not_sent(self.duplicates.held_rows)
            else:
                self.errors.add(self.duplicates.settle(self._route))
            senders.close(self._wait)
        except BaseException as error:
            self._stopped_by(error, senders)
            raise
        finally:
            self.identifiers.flush()
        return self.result

    def send(self, ops: Sequence[Op], answers: BatchAnswers) -> None:
        """After :meth:`run`: send ops that come from no row of the query (mirror removals), as the rows were.

        They take the same lanes, concurrency window and workspace (with its retries and pacing), and
        count in the result's ops and batches; ``answers`` records what the workspace said of each. A
        request that fails for good stops the sync: the error is in ``result.error``.
        """
        senders = self._senders = self._senders_for(answers)
        senders.open(self.concurrency, shared=True)
        try:
            senders.route(list(ops), by_key=False)
            senders.close(self._wait)
        except BaseException as error:
            self._stopped_by(error, senders)
            raise

    def _senders_for(self, answers: BatchAnswers) -> Senders:
        return Senders(self.workspace, self.window, self.result, answers, stopped=self._stop, fail=self.fail)

    def _stopped_by(self, error: BaseException, senders: Senders) -> None:
        """Stop sending because of ``error`` raised on the reading thread; no request leaves afterwards."""
        self.fail(error)
        if not isinstance(error, Exception) and isinstance(self.workspace, CancellableWorkspace):
            self.workspace.cancel()  # interrupted (a timeout, a kill): stop retrying at once
        senders.close(self._wait)

    def cancel(self) -> None:
        """Stop reading and sending as soon as possible (from another thread)."""
        self._stop.set()

    def fail(self, error: BaseException) -> None:
        """Stop the sync because of ``error`` (the first error is the one kept)."""
        with self.result.counts_lock:
            if self.result.error is None:
                self.result.error = error
        self._stop.set()

    @property
    def stopped(self) -> bool:
        """Whether the sync was cancelled or failed."""
        return self._stop.is_set()

    @property
    def rows_in_flight(self) -> int:
        """Rows handed to the senders and not answered yet (queued or in a request)."""
        return self._senders.rows_in_flight

    def close(self) -> None:
        """Remove the temporary files."""
        self.errors.close()
        self.identifiers.close()

    def _wait(self, threads: Iterable[threading.Thread]) -> None:
        """Join ``threads``, reporting progress every ``progress_interval`` seconds meanwhile."""
        for thread in threads:
            while thread.is_alive():
                thread.join(max(self.progress_interval, DRAIN_POLL) if self.progress is not None else None)
                if thread.is_alive():
                    self._report_progress()

    def _report_progress(self) -> None:
        if self.progress is not None:
            result = self.result
            elapsed = time.monotonic() - self._started
            self.progress(SyncProgress(result.rows_read, result.rows_accepted, elapsed, self.rows_in_flight))

    def _stream(self, cursor: Any, started: float) -> None:
        result = self.result
        next_progress = started + self.progress_interval
        while not self._stop.is_set():
            room = self.max_rows - result.rows_read
            if room <= 0:
                result.row_limit_reached = bool(cursor.fetchmany(1))
                break
            rows = cursor.fetchmany(min(self.fetch_size, room))
            if not rows:
                break
            first_row = result.rows_read + 1
            result.rows_read += len(rows)
            self._dispatch(self.builder.build(rows, first_row))
            if self.progress is not None and time.monotonic() >= next_progress:
                next_progress = time.monotonic() + self.progress_interval
                self._report_progress()
        if not self._stop.is_set():
            self._dispatch(self.builder.finish())

    def _dispatch(self, built: Iterable[Any]) -> None:
        """Route a block's ops to lanes (holding back possible duplicates) and record its row errors and keys.

        An :class:`OpBlock` (every row of the block became an op) goes as it is: no op object per row.
        """
        ops: Ops
        if isinstance(built, OpBlock):
            ops = built
        else:
            items = list(built)
            ops = [item for item in items if type(item) is Op]
            if len(ops) < len(items):
                self.errors.add([item for item in items if type(item) is not Op])
        if ops and self.builder.unique_keys:
            ops = self.duplicates.screen(ops)
        elif ops:  # keys that repeat: recorded, so that the activity log can be traced back to each row
            if isinstance(ops, OpBlock):
                self.identifiers.record_all(ops.keys, ops.row_numbers)
            else:
                self.identifiers.record_all([op.key for op in ops], [op.first_row for op in ops])
        self._route(ops)

    def _route(self, ops: Ops) -> None:
        """Hand ops to the lanes: all to the first when keys are unique (its batches go to the queue every
        sender takes from), else each key's to the lane of its hash."""
        self._senders.route(ops, by_key=not self.builder.unique_keys)
