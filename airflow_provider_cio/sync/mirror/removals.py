"""Mirror mode's removals: rows of the last snapshot that left the query, handled as ``on_removed`` says.

:class:`MirrorRemovals` is the step after a mirror sync. Past the mass-removal guard, it takes the people
out of the segment, then sends the removal ops through the engine, like every op: on its lanes, within
its concurrency window, with the workspace's retries, counted in the report's ops and batches. A key
the workspace refuses stays in the snapshot (removed again by the next run) and is reported.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from airflow_provider_cio.sync.account.outcomes import OpError, RowError, RowRefused
from airflow_provider_cio.sync.after_sync import SyncContext
from airflow_provider_cio.sync.mirror.keys import describe_key, removal_op
from airflow_provider_cio.sync.mirror.run import MirrorRun
from airflow_provider_cio.sync.records.encoded import Op
from airflow_provider_cio.sync.send.batches import Batch

NOT_FOUND = "not_found"
"""The workspace's reason for refusing to remove what it does not hold: removed already."""
REMOVAL_FAILED = "removal_failed"


class RemovalAnswers:
    """What the workspace's answers mean for removal ops: removed (or already gone), or refused.

    :param import_type: ``people``, ``objects`` or ``relationships`` (to name a key in the report).
    """

    def __init__(self, import_type: str) -> None:
        self.import_type = import_type
        self.removed: list[str] = []
        """The keys removed from the workspace, or already gone."""
        self.refused: list[RowError] = []
        """The removals the workspace refused."""
        self._lock = threading.Lock()

    def answered(self, batch: Batch, refused: list[OpError]) -> list[Op]:
        """Record which keys the batch removed; nothing is sent again."""
        answers = {error.index: error for error in refused}
        removed, failed = [], []
        for index, op in enumerate(batch.ops):
            error = answers.get(index)
            if error is None or error.reason == NOT_FOUND:
                removed.append(op.key)
            else:
                message = f"the workspace refused to remove it ({error.reason}): {error.message}"
                failed.append(self.failure(op.key, message))
        with self._lock:
            self.removed += removed
            self.refused += failed
        return []

    def given_up(self, batch: Batch) -> None:
        """A removal batch not sent (the sync stopped): its keys stay in the snapshot."""

    def failure(self, key: str, message: str) -> RowError:
        """A refused removal as the report lists it."""
        return RowError(0, describe_key(self.import_type, key), REMOVAL_FAILED, message)


class MirrorRemovals:
    """The step after a mirror sync: remove the rows that left the query (see the module).

    Nothing is removed when the sync did not read every row (stopped, or over ``max_rows``).

    :param mirror: the mirror side of the sync.
    """

    def __init__(self, mirror: MirrorRun) -> None:
        self.mirror = mirror

    def run(self, sync: SyncContext) -> None:
        """Handle the removed rows; the report gets how many were removed and refused.

        :raises MassRemovalError: more rows left the query than ``max_removed`` allows.
        """
        mirror, engine, report = self.mirror, sync.engine, sync.report
        if engine.stopped or engine.result.row_limit_reached:  # rows not read are not removed
            return
        removed = mirror.removed_count()
        if not removed:
            return
        if not mirror.acts_on_removals:
            for chunk in mirror.removed_keys():
                mirror.forget_removed(chunk)
            return
        mirror.check_guard(removed)
        if sync.settings.dry_run:
            report.would_remove = removed
            return
        keys = [key for chunk in mirror.removed_keys() for key in chunk]  # at most max_removed
        if report.segment_id is not None:
            report.people_removed_from_segment = sync.workspace.remove_from_segment(
                report.segment_id, keys, id_type=sync.settings.identify_by
            )
            sync.logger.info("Removed %d people from segment %s", report.people_removed_from_segment, report.segment_id)
        if mirror.options.on_removed == "ignore":
            mirror.forget_removed(keys)
            return
        answers = self.remove(sync, keys)
        report.rows_removed = len(answers.removed)
        report.removals_failed = len(answers.refused)
        for refused in answers.refused[:20]:
            sync.logger.warning("Not removed: %s (%s)", refused.identifier, refused.message)
        sync.logger.info(
            "Removed (%s) %d %s that left the query", mirror.options.on_removed, report.rows_removed, mirror.import_type
        )

    def remove(self, sync: SyncContext, keys: Sequence[str]) -> RemovalAnswers:
        """Send the removal ops of ``keys`` through the engine; the keys removed leave the next snapshot.

        :raises Exception: the error that stopped the sending (a request that failed for good).
        """
        mirror = self.mirror
        answers = RemovalAnswers(mirror.import_type)
        ops = []
        for number, key in enumerate(keys, start=1):
            try:
                body = removal_op(mirror.import_type, mirror.identify_by, mirror.options.on_removed, key)
            except RowRefused as refused:
                answers.refused.append(answers.failure(key, refused.message))
                continue
            ops.append(Op(body, number, 1, key, key))
        sync.engine.send(ops, answers)
        mirror.forget_removed(answers.removed)
        if sync.engine.result.error is not None:
            raise sync.engine.result.error
        return answers
