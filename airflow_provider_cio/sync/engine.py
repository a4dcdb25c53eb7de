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
flight. People and objects send each key once (a repeated key is refused), so their ops are batched in
row order by one builder and the lanes' senders take turns at one queue: whichever sender is free sends
the next batch. How many lanes send at once is the
:class:`~airflow_provider_cio.sync.concurrency.ConcurrencyWindow`'s call: fixed (``concurrency``), or
adapting to the workspace's answers up to ``max_concurrency``.

When the rows run out, every lane's queue drains in parallel, and the lanes' last, partly filled
batches are packed together into as few requests as fit (a lane's ops stay whole and in order in one
request; lanes share no keys), sent in parallel: a 100-row sync is one request, whatever the number
of lanes. Queues are bounded, so memory holds a few blocks of rows and about ``2 x lanes`` batches
(queued or open, and in flight), whatever the number of rows. A sender that fails for good (the
workspace refuses the credentials, or stays down past the retry budget) stops the sync: no more rows
are read, queued batches are not sent, and the error is kept in the result.

When the workspace refuses an op that carries several rows (a grouped relationship op), the builder may
``split`` it: the lane sends the parts, and the later ops of the same key from that batch, before its
next batch, so each row gets its own outcome and a key's ops still take effect in row order.
"""

from __future__ import annotations

import gc
import logging
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from airflow_provider_cio.sync.batches import Batch, BatchBuilder, Ops, pack
from airflow_provider_cio.sync.concurrency import ConcurrencyWindow
from airflow_provider_cio.sync.encoded import Op, OpBlock
from airflow_provider_cio.sync.errors import ErrorLog
from airflow_provider_cio.sync.identifiers import IdentifierRegistry
from airflow_provider_cio.sync.limits import MAX_BATCH_BYTES, MAX_ROWS
from airflow_provider_cio.sync.malloc import limit_malloc_arenas
from airflow_provider_cio.sync.ops import OpBuilder
from airflow_provider_cio.sync.outcomes import DUPLICATE_IDENTIFIER, OpError, RowError

log = logging.getLogger(__name__)

SENDER_SWITCH_INTERVAL = 0.001
"""Seconds the reading thread may hold the GIL while a sender waits (Python's default is 0.005)."""

DRAIN_POLL = 0.05
"""Shortest wait between two progress reports while the batches drain."""

SHARED_QUEUE_BATCHES = 2
"""Full batches waiting for a free sender when every lane's sender takes from one queue."""

YOUNG_GC_THRESHOLD = 50_000
"""Allocations between two collections of the youngest generation during a sync (Python's default is 700)."""


@contextmanager
def streaming_interpreter() -> Iterator[None]:
    """Interpreter settings for the duration of a sync, put back afterwards. Each gives 10 to 30% more rows/s.

    - A shorter GIL switch interval: the reading thread is busy all the time, and a sender whose answer
      has arrived waits for the GIL before it can hand the workspace the lane's next batch.
    - Fewer garbage collections: every block of rows allocates tens of thousands of objects, none of
      them in reference cycles; the objects that exist before the sync (Airflow's, the drivers') are
      frozen out of the collections, which then only look at what the sync allocates.
    """
    switch_interval = sys.getswitchinterval()
    thresholds = gc.get_threshold()
    freeze = gc.get_freeze_count() == 0
    sys.setswitchinterval(min(switch_interval, SENDER_SWITCH_INTERVAL))
    gc.set_threshold(max(thresholds[0], YOUNG_GC_THRESHOLD), *thresholds[1:])
    if freeze:
        gc.freeze()
    try:
        yield
    finally:
        if freeze:
            gc.unfreeze()
        gc.set_threshold(*thresholds)
        sys.setswitchinterval(switch_interval)


class Workspace(Protocol):
    """Where batches go: ``CustomerIOHook`` in production, :class:`DryRunWorkspace` for a dry run.

    A workspace may also be a :class:`CancellableWorkspace`.
    """

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


@runtime_checkable
class SplittingBuilder(OpBuilder, Protocol):
    """An op builder that can take back a refused op of several rows (``RelationshipOps``)."""

    def split(self, op: Op, refusal: OpError) -> list[Op]:
        """Ops to send instead of ``op``, refused for ``refusal`` (one per row, say); none to keep it failed."""
        ...


class DryRunWorkspace:
    """Accepts every batch without sending anything: a dry run reports what would have been sent."""

    def send_batch(self, ops: Sequence[bytes]) -> list[OpError]:
        """Accept all ops."""
        return []


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
    duration_seconds: float = 0.0
    counts_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


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
        settled: Callable[[list[Op], list[Op]], None] | None = None,
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
        self.errors = ErrorLog(workdir)
        self.identifiers = IdentifierRegistry(workdir)
        self.result = SyncResult()
        self._stop = threading.Event()
        self._lanes: list[Lane] = []
        self._held_rows = 0
        self._rows_in_flight = 0
        self._started = 0.0
        self.settled = settled

    def run(self, cursor: Any) -> SyncResult:
        """Read every row of an executed cursor and send it; return when every batch has an answer."""
        started = self._started = time.monotonic()
        limit_malloc_arenas()  # before the sender threads exist
        shared = queue.Queue[Batch | None](maxsize=SHARED_QUEUE_BATCHES) if self.builder.unique_keys else None
        self._lanes = [Lane(self, i, shared) for i in range(self.concurrency)]
        for lane in self._lanes:
            lane.senders = [other.thread for other in self._lanes] if shared is not None else [lane.thread]
        with streaming_interpreter():
            try:
                self._stream(cursor, started)
                if self._stop.is_set():
                    self.record_unsent(self._held_rows)
                else:
                    self._resolve_held()
                self._close_lanes()
            except BaseException as error:
                self.fail(error)
                if not isinstance(error, Exception):  # interrupted (a timeout, a kill): stop retrying at once
                    self._cancel_workspace()
                self._close_lanes()
                raise
            finally:
                self.identifiers.flush()
                self.result.duration_seconds = time.monotonic() - started
        return self.result

    def cancel(self) -> None:
        """Stop reading and sending as soon as possible (from another thread)."""
        self._stop.set()

    def _close_lanes(self) -> None:
        """Drain every lane at once, then send their last batches packed together, all in parallel.

        Progress keeps being reported while the batches drain. Also the way out of an interrupted sync
        (nothing more is sent once it has stopped): no request leaves after this returns.
        """
        for lane in self._lanes:
            lane.end()
            self._handed_over(lane.builder.rows)
        self._wait(lane.thread for lane in self._lanes)
        last = [lane.builder.flush() for lane in self._lanes]
        senders = []
        for batch in pack([batch for batch in last if batch is not None], MAX_BATCH_BYTES):
            sender = threading.Thread(target=self.deliver, args=(batch,), name="cio-sync-last", daemon=True)
            sender.start()
            senders.append(sender)
        self._wait(senders)

    def _wait(self, threads: Iterator[threading.Thread] | list[threading.Thread]) -> None:
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
            self.progress(SyncProgress(result.rows_read, result.rows_accepted, elapsed, self._rows_in_flight))

    def _handed_over(self, rows: int) -> None:
        """``rows`` more rows are queued for a sender (negative: answered or given up)."""
        with self.result.counts_lock:
            self._rows_in_flight += rows

    def _cancel_workspace(self) -> None:
        """Stop the workspace's retry waits, when it can (``CustomerIOHook.cancel``)."""
        if isinstance(self.workspace, CancellableWorkspace):
            self.workspace.cancel()

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

    def close(self) -> None:
        """Remove the temporary files."""
        self.errors.close()
        self.identifiers.close()

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

    def _dispatch(self, built: Any) -> None:
        """Route a block's ops to lanes (holding back possible duplicates) and record its row errors.

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
            if isinstance(ops, OpBlock):
                maybe = self.identifiers.claim(ops.keys, ops.row_numbers)
            else:
                maybe = self.identifiers.claim([op.key for op in ops], [op.first_row for op in ops])
            if maybe:
                ops = self._hold(ops, maybe)
        self._route(ops)

    def _route(self, ops: Ops) -> None:
        """Hand ops to the lanes: all to the first when keys are unique (its batches go to the queue every
        sender takes from), else each key's to the lane of its hash."""
        count = self.concurrency
        if count == 1 or self.builder.unique_keys:
            self._lanes[0].extend(ops)
            return
        routed: list[list[Op]] = [[] for _ in range(count)]
        for op in ops:
            routed[hash(op.key) % count].append(op)
        for lane, lane_ops in zip(self._lanes, routed, strict=True):
            if lane_ops:
                lane.extend(lane_ops)

    def _hold(self, ops: Ops, maybe: list[int]) -> Ops:
        """Keep the ops at positions ``maybe`` aside until the end of the sync; return the others."""
        for position in maybe:
            op = ops[position]
            self.identifiers.hold((op.body, op.first_row, op.row_count, op.identifier, op.key))
            self._held_rows += op.row_count
        if isinstance(ops, OpBlock):
            return ops.without(maybe)
        held = set(maybe)
        return [op for position, op in enumerate(ops) if position not in held]

    def _resolve_held(self) -> None:
        """Send the held-back ops whose key is new after all; refuse the real duplicates."""
        if not self._held_rows:
            return
        first_rows = self.identifiers.first_rows(item[-1] for item in self.identifiers.held())
        duplicates = []
        for item in self.identifiers.held():
            op = Op(*item)
            first = first_rows.get(op.key)
            if first is None:
                first_rows[op.key] = op.first_row
                self.identifiers.record(op.key, op.first_row)
                self._route([op])
            else:
                message = f"row {first} of this sync already has this identifier; each one may appear once"
                duplicates.append(RowError(op.first_row, op.identifier, DUPLICATE_IDENTIFIER, message))
        self.errors.add(duplicates)

    def record_outcome(self, batch: Batch, refused: list[OpError]) -> list[Op]:
        """Record a batch's answer; return the ops to send again before anything else of the lane.

        A refused op that carries several rows is offered to the builder's optional
        ``split(op, refusal) -> list[Op]``: when the builder gives ops back (one per row, say), those
        are sent instead and their rows get their own outcomes. The ops of the same key that follow a
        split op in the batch were applied before the split ones, so they are sent again after them:
        a key's ops take effect in row order (ops are idempotent, so applying one twice is harmless).
        The rows of ops sent again are counted by the batch that sends them.
        """
        refusals: dict[int, OpError] = {}
        for refusal in refused:
            if 0 <= refusal.index < batch.count:
                refusals.setdefault(refusal.index, refusal)
        ops = batch.ops if refusals or self.settled is not None else []
        again = self._send_again(ops, refusals)
        errors = []
        failed_rows = 0
        for index, refusal in refusals.items():
            if index in again:
                continue
            op = ops[index]
            message = f"the workspace refused the row ({refusal.reason}"
            message += f", {refusal.field}): " if refusal.field else "): "
            message += refusal.message
            for row_number in range(op.first_row, op.first_row + op.row_count):
                errors.append(RowError(row_number, op.identifier, refusal.reason or "refused", message))
            failed_rows += op.row_count
        if errors:
            self.errors.add(errors)
        result = self.result
        with result.counts_lock:
            result.batches_sent += 1
            result.ops_sent += batch.count
            result.rows_accepted += batch.rows - failed_rows - sum(ops[i].row_count for i in again)
            self._rows_in_flight -= batch.rows
        if self.settled is not None:  # mirror mode: which rows the workspace now has
            answered = [(i, op) for i, op in enumerate(ops) if i not in again]
            self.settled([op for i, op in answered if i not in refusals], [op for i, op in answered if i in refusals])
        return [op for instead in again.values() for op in instead]

    def _send_again(self, ops: list[Op], refusals: dict[int, OpError]) -> dict[int, list[Op]]:
        """``batch index -> ops to send in its place``: split refused ops, then the later ops of their keys.

        :param ops: the batch's ops.
        """
        builder = self.builder
        if not isinstance(builder, SplittingBuilder):
            return {}
        parts = {
            index: builder.split(ops[index], refusal)
            for index, refusal in sorted(refusals.items())
            if ops[index].row_count > 1
        }
        first = min((index for index, split in parts.items() if split), default=None)
        if first is None:
            return {}
        again: dict[int, list[Op]] = {}
        split_keys: set[str] = set()
        for index in range(first, len(ops)):
            op = ops[index]
            if parts.get(index):
                again[index] = parts[index]
                split_keys.add(op.key)
            elif op.key in split_keys:
                again[index] = [op]
        return again

    def record_unsent(self, rows: int) -> None:
        with self.result.counts_lock:
            self.result.rows_not_sent += rows

    def deliver(self, batch: Batch) -> None:
        """Send a batch, then the ops its answer asks to send again (see ``record_outcome``), in order."""
        pending = [batch]
        while pending:
            again = self._send(pending.pop(0))
            if again:
                more = batches_of(again)
                self._handed_over(sum(part.rows for part in more))
                pending[:0] = more

    def _send(self, batch: Batch) -> list[Op]:
        """Send one batch and record its outcome; return the ops to send again."""
        if self.stopped:
            self._given_up(batch.rows)
            return []
        throttled = getattr(self.workspace, "throttled_responses", 0)
        self.window.acquire()
        sent = time.monotonic()
        try:
            refused = self.workspace.send_batch(batch.bodies)
        except BaseException as error:
            self.window.release(time.monotonic() - sent, throttled=True, full=False)
            self._given_up(batch.rows)
            self.fail(error)
            return []
        throttled = getattr(self.workspace, "throttled_responses", 0) != throttled
        self.window.release(time.monotonic() - sent, throttled=throttled, full=batch.size > MAX_BATCH_BYTES // 2)
        return self.record_outcome(batch, refused)

    def _given_up(self, rows: int) -> None:
        with self.result.counts_lock:
            self.result.rows_not_sent += rows
            self._rows_in_flight -= rows


class Lane:
    """One sender thread with its own batch builder and a bounded queue of full batches.

    :param shared: a queue that the senders of every lane take batches from (keys that never repeat);
        None for a queue of its own, of one batch. The engine sets ``senders``: the threads that take from
        this lane's queue.
    """

    def __init__(self, engine: SyncEngine, number: int, shared: queue.Queue[Batch | None] | None = None) -> None:
        self.engine = engine
        self.builder = BatchBuilder()
        self.queue: queue.Queue[Batch | None] = shared if shared is not None else queue.Queue(maxsize=1)
        self.thread = threading.Thread(target=self._send_loop, name=f"cio-sync-lane-{number}", daemon=True)
        self.senders = [self.thread]
        self.thread.start()

    def extend(self, ops: Ops) -> None:
        """Add ops; the batches they complete go to the sender (waiting while the queue is full)."""
        for full in self.builder.extend(ops):
            self.engine._handed_over(full.rows)
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
            self.engine.deliver(batch)


def batches_of(ops: Sequence[Op]) -> list[Batch]:
    """Ops packed into batches, in order."""
    builder = BatchBuilder()
    batches = [full for full in map(builder.add, ops) if full is not None]
    last = builder.flush()
    return [*batches, last] if last is not None else batches
