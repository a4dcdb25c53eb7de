"""Ops -> batches: as many ops as fit in one ``/api/v2/batch`` request of at most 500,000 bytes."""

from __future__ import annotations

from collections.abc import Sequence
from operator import attrgetter

import numpy as np

from airflow_provider_cio.sync.limits import MAX_BATCH_BYTES
from airflow_provider_cio.sync.records.encoded import Op, OpBlock

ENVELOPE_BYTES = len(b'{"batch":[]}')
ROW_COUNT, BODY = attrgetter("row_count"), attrgetter("body")
Ops = list[Op] | OpBlock


class Batch:
    """Ops sent in one request, in order. ``size`` is the request body's length in bytes.

    The ops are held as they came: runs of :class:`Op` and parts of :class:`OpBlock` (no object per op).
    """

    __slots__ = ("count", "parts", "rows", "size")

    def __init__(self) -> None:
        self.parts: list[Ops] = []
        self.count = 0
        self.size = ENVELOPE_BYTES
        self.rows = 0

    @property
    def ops(self) -> list[Op]:
        """The ops, in order (made anew from the parts at each read)."""
        return [op for part in self.parts for op in part]

    @property
    def bodies(self) -> list[bytes]:
        """Each op's JSON, in order: the request's contents."""
        bodies: list[bytes] = []
        for part in self.parts:
            bodies.extend(part.bodies if isinstance(part, OpBlock) else map(BODY, part))
        return bodies

    def append(self, op: Op, size: int) -> None:
        """Add an op that takes ``size`` more bytes of the request."""
        last = self.parts[-1] if self.parts else None
        if type(last) is list:
            last.append(op)
        else:
            self.parts.append([op])
        self.count += 1
        self.size += size
        self.rows += op.row_count


class BatchBuilder:
    """Fills batches in op order; hands each one out when the next op no longer fits."""

    def __init__(self) -> None:
        self._open = Batch()

    def add(self, op: Op) -> Batch | None:
        """Add an op; return the batch it closed, if any (a comma separates an op from the one before)."""
        batch = self._open
        full = None
        size = len(op.body)
        if batch.count:
            if batch.size + size + 1 > MAX_BATCH_BYTES:
                full, batch = batch, Batch()
                self._open = batch
            else:
                size += 1
        batch.append(op, size)
        return full

    def extend(self, ops: Ops) -> list[Batch]:
        """Add ops in order; return the batches they closed (the same as :meth:`add` one by one).

        The cut points are found per block, on running sums of the ops' sizes, rather than op by op. An
        :class:`OpBlock` is cut into parts, its ops never made.
        """
        closed: list[Batch] = []
        batch = self._open
        sizes = map(len, ops.bodies if isinstance(ops, OpBlock) else map(BODY, ops))
        ends = np.cumsum(np.fromiter(sizes, dtype=np.int64, count=len(ops)) + 1)
        start, total, before = 0, len(ops), 0  # before: the bytes of ops[:start], each with the comma before it
        while start < total:
            room = MAX_BATCH_BYTES - batch.size + (0 if batch.count else 1)  # the first op has no comma
            end = int(np.searchsorted(ends, before + room, side="right"))
            if end == start:  # the next op does not fit: the batch is full (any op fits an empty one)
                closed.append(batch)
                batch = Batch()
                continue
            if isinstance(ops, OpBlock):
                batch.parts.append(ops.part(start, end))
                batch.rows += end - start
            else:
                taken = ops[start:end]
                batch.parts.append(taken)
                batch.rows += sum(map(ROW_COUNT, taken))
            batch.size += int(ends[end - 1]) - before - (0 if batch.count else 1)
            batch.count += end - start
            start, before = end, int(ends[end - 1])
        self._open = batch
        return closed

    @property
    def rows(self) -> int:
        """Rows in the open batch."""
        return self._open.rows

    def flush(self) -> Batch | None:
        """The open batch, if it has ops."""
        batch, self._open = self._open, Batch()
        return batch if batch.count else None


def pack(batches: list[Batch], limit: int) -> list[Batch]:
    """Whole batches combined into as few requests of at most ``limit`` bytes as fit (first fit, largest first).

    Each batch's ops stay together and in order: batches from different lanes share no keys, so
    sending the combined requests in parallel keeps every key's ops in row order.
    """
    packed: list[Batch] = []
    for batch in sorted(batches, key=lambda batch: batch.size, reverse=True):
        joined = batch.size - ENVELOPE_BYTES + 1
        into = next((open_ for open_ in packed if open_.size + joined <= limit), None)
        if into is None:
            packed.append(batch)
            continue
        into.parts.extend(batch.parts)
        into.count += batch.count
        into.size += joined
        into.rows += batch.rows
    return packed


def batches_of(ops: Sequence[Op]) -> list[Batch]:
    """Ops packed into batches, in order."""
    builder = BatchBuilder()
    batches = [full for full in map(builder.add, ops) if full is not None]
    last = builder.flush()
    return [*batches, last] if last is not None else batches
