"""Batches on their way to the workspace: lanes of sender threads, paced by the concurrency window.

A :class:`Senders` is one sending phase of a sync: the query's rows, then (mirror mode) the removals.
Every batch goes through :meth:`Senders.deliver`, which waits for the
:class:`~airflow_provider_cio.sync.send.concurrency.ConcurrencyWindow`, sends it, counts the batch and its
ops, and hands the answer to the phase's :class:`BatchAnswers`.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Protocol

from airflow_provider_cio.sync.account.outcomes import OpError
from airflow_provider_cio.sync.account.result import SyncResult
from airflow_provider_cio.sync.limits import MAX_BATCH_BYTES
from airflow_provider_cio.sync.records.encoded import Op
from airflow_provider_cio.sync.send.batches import Batch, BatchBuilder, Ops, batches_of, pack
from airflow_provider_cio.sync.send.concurrency import ConcurrencyWindow
from airflow_provider_cio.sync.send.workspace import Workspace

SHARED_QUEUE_BATCHES = 2
"""Full batches waiting for a free sender when every lane's sender takes from one queue."""

Waiting = Callable[[list[threading.Thread]], None]
"""Joins threads (the engine reports progress meanwhile)."""


class BatchAnswers(Protocol):
    """What a phase makes of the workspace's answers (the rows' outcomes, or the removals')."""

    def answered(self, batch: Batch, refused: list[OpError]) -> list[Op]:
        """Record a batch's answer; return the ops to send again before anything else of the lane."""
        ...

    def given_up(self, batch: Batch) -> None:
        """Record a batch that will not be sent (the sync stopped)."""
        ...


class BatchSink(Protocol):
    """Where a lane's full batches go."""

    def handed_over(self, rows: int) -> None:
        """``rows`` more rows wait for a sender (negative: answered or given up)."""
        ...

    def deliver(self, batch: Batch) -> None:
        """Send a batch (on the calling sender thread)."""
        ...


class Lane:
    """One sender thread with its own batch builder and a bounded queue of full batches.

    :param sink: where the sender thread delivers the batches.
    :param shared: a queue that the senders of every lane take batches from (keys that never repeat);
        None for a queue of its own, of one batch. ``senders`` are the threads that take from this
        lane's queue.
    """

    def __init__(self, sink: BatchSink, number: int, shared: queue.Queue[Batch | None] | None = None) -> None:
        self.sink = sink
        self.builder = BatchBuilder()
        self.queue: queue.Queue[Batch | None] = shared if shared is not None else queue.Queue(maxsize=1)
        self.thread = threading.Thread(target=self._send_loop, name=f"cio-sync-lane-{number}", daemon=True)
        self.senders = [self.thread]
        self.thread.start()

    def extend(self, ops: Ops) -> None:
        """Add ops; the batches they complete go to the sender (waiting while the queue is full)."""
        for full in self.builder.extend(ops):
            self.sink.handed_over(full.rows)
            self._put(full)

    def end(self) -> None:
        """Let the sender finish the queued batches and end; the open batch stays in ``builder``."""
        self._put(None)

    def _put(self, item: Batch | None) -> None:
        while True:
            try:
                self.queue.put(item, timeout=0.5)
                return
            except queue.Full:
                if not any(sender.is_alive() for sender in self.senders):
                    return

    def _send_loop(self) -> None:
        while True:
            batch = self.queue.get()
            if batch is None:
                return
            self.sink.deliver(batch)


class Senders:
    """The lanes of one sending phase, and how each batch is sent, counted and answered.

    :param workspace: where batches go.
    :param window: how many batches may be in flight at once (shared by the phases of a sync).
    :param result: the sync's counts (batches and ops sent).
    :param answers: what the phase makes of the answers.
    :param stopped: set when the sync stops: batches not sent yet are given up.
    :param fail: stops the sync because of an error (a request that failed for good).
    """

    def __init__(
        self,
        workspace: Workspace,
        window: ConcurrencyWindow,
        result: SyncResult,
        answers: BatchAnswers,
        *,
        stopped: threading.Event,
        fail: Callable[[BaseException], None],
    ) -> None:
        self.workspace = workspace
        self.window = window
        self.result = result
        self.answers = answers
        self.stopped = stopped
        self.fail = fail
        self.lanes: list[Lane] = []
        self.rows_in_flight = 0
        """Rows handed to the senders and not answered yet (queued or in a request)."""

    def open(self, count: int, *, shared: bool) -> None:
        """Start ``count`` lanes; ``shared``: their senders take turns at one queue (keys never repeat)."""
        common = queue.Queue[Batch | None](maxsize=SHARED_QUEUE_BATCHES) if shared else None
        self.lanes = [Lane(self, number, common) for number in range(count)]
        for lane in self.lanes:
            lane.senders = [other.thread for other in self.lanes] if common is not None else [lane.thread]

    def route(self, ops: Ops, *, by_key: bool) -> None:
        """Hand ops to the lanes: each key's to the lane of its hash (``by_key``), else all to the first
        (whose batches go to the queue every sender takes from, when shared)."""
        count = len(self.lanes)
        if count == 1 or not by_key:
            self.lanes[0].extend(ops)
            return
        routed: list[list[Op]] = [[] for _ in range(count)]
        for op in ops:
            routed[hash(op.key) % count].append(op)
        for lane, lane_ops in zip(self.lanes, routed, strict=True):
            if lane_ops:
                lane.extend(lane_ops)

    def close(self, wait: Waiting) -> None:
        """Drain every lane at once, then send their last batches packed together, all in parallel.

        Also the way out of a stopped sync (nothing more is sent once it has stopped): no request
        leaves after this returns.
        """
        for lane in self.lanes:
            lane.end()
            self.handed_over(lane.builder.rows)
        wait([lane.thread for lane in self.lanes])
        last = [lane.builder.flush() for lane in self.lanes]
        senders = []
        for batch in pack([batch for batch in last if batch is not None], MAX_BATCH_BYTES):
            sender = threading.Thread(target=self.deliver, args=(batch,), name="cio-sync-last", daemon=True)
            sender.start()
            senders.append(sender)
        wait(senders)

    def handed_over(self, rows: int) -> None:
        """``rows`` more rows wait for a sender (negative: answered or given up)."""
        with self.result.counts_lock:
            self.rows_in_flight += rows

    def deliver(self, batch: Batch) -> None:
        """Send a batch, then the ops its answer asks to send again, in order."""
        pending = [batch]
        while pending:
            again = self._send(pending.pop(0))
            if again:
                more = batches_of(again)
                self.handed_over(sum(part.rows for part in more))
                pending[:0] = more

    def _send(self, batch: Batch) -> list[Op]:
        """Send one batch and record its outcome; return the ops to send again."""
        if self.stopped.is_set():
            self._given_up(batch)
            return []
        workspace = self.workspace
        throttled = workspace.throttled_responses
        self.window.acquire()
        sent = time.monotonic()
        try:
            refused = workspace.send_batch(batch.bodies)
        except BaseException as error:
            self.window.release(time.monotonic() - sent, throttled=True, full=False)
            self._given_up(batch)
            self.fail(error)
            return []
        throttled = workspace.throttled_responses != throttled
        self.window.release(time.monotonic() - sent, throttled=throttled, full=batch.size > MAX_BATCH_BYTES // 2)
        result = self.result
        with result.counts_lock:
            result.batches_sent += 1
            result.ops_sent += batch.count
            self.rows_in_flight -= batch.rows
        return self.answers.answered(batch, refused)

    def _given_up(self, batch: Batch) -> None:
        self.answers.given_up(batch)
        self.handed_over(-batch.rows)
