"""What the workspace's answer to a batch of the query's rows means for each row.

The senders (:mod:`~airflow_provider_cio.sync.send.lanes`) count the batch and its ops; a
:class:`RowAnswers` counts its rows, records a row error for each refused row, and says which ops to
send again. Mirror removals have answers of their own
(:class:`~airflow_provider_cio.sync.mirror.removals.RemovalAnswers`).
"""

from __future__ import annotations

from collections.abc import Callable

from airflow_provider_cio.sync.account.failed_rows import ErrorLog
from airflow_provider_cio.sync.account.outcomes import OpError, RowError
from airflow_provider_cio.sync.account.result import SyncResult
from airflow_provider_cio.sync.records.encoded import Op
from airflow_provider_cio.sync.records.ops import OpBuilder
from airflow_provider_cio.sync.records.wrapping import SplittingBuilder
from airflow_provider_cio.sync.send.batches import Batch

Settled = Callable[[list[Op], list[Op]], None]
"""Called with the ops of an answered batch the workspace accepted, and those it refused for good."""


class RowAnswers:
    """Records the answers to the batches of the query's rows.

    :param builder: the op builder, asked to split a refused op of several rows when it can.
    :param errors: where refused rows go.
    :param result: the counts of the sync.
    :param settled: called (from the sender threads) with each answered batch's accepted and refused
        ops (mirror mode records the accepted rows).
    """

    def __init__(self, builder: OpBuilder, errors: ErrorLog, result: SyncResult, settled: Settled | None) -> None:
        self.builder = builder
        self.errors = errors
        self.result = result
        self.settled = settled

    def answered(self, batch: Batch, refused: list[OpError]) -> list[Op]:
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
            result.rows_accepted += batch.rows - failed_rows - sum(ops[i].row_count for i in again)
        if self.settled is not None:  # mirror mode: which rows the workspace now has
            answered = [(i, op) for i, op in enumerate(ops) if i not in again]
            self.settled([op for i, op in answered if i not in refusals], [op for i, op in answered if i in refusals])
        return [op for instead in again.values() for op in instead]

    def given_up(self, batch: Batch) -> None:
        """A batch not sent (the sync stopped): its rows are counted as not sent."""
        self.not_sent(batch.rows)

    def not_sent(self, rows: int) -> None:
        """Count ``rows`` that the stopped sync will not send."""
        with self.result.counts_lock:
            self.result.rows_not_sent += rows

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
