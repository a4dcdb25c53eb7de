"""Mirror mode: send only the rows that changed since the last successful sync, remove the rows that left.

Each row's key (person, object, or person-object pair) and values are hashed as the row is read. A row
whose hashes are in the previous snapshot is unchanged: it is counted and not sent. The others go on to
the op builder and the engine as in an upsert sync; the engine reports back which ops the workspace
accepted (``settled``), and only those rows enter the next snapshot, so a refused row is sent again by
the next run. Rows of the snapshot that no row of this run matched have left the query; they are
removed as ``on_removed`` says, after every row was sent, unless there are more than ``max_removed``;
their removal ops go through the engine like every op (:mod:`~airflow_provider_cio.sync.mirror.removals`).

A run writes:

- while it runs, every ``checkpoint_interval`` seconds, a checkpoint part with the rows the workspace
  accepted since the last part, so that a stopped run resumes (:mod:`~airflow_provider_cio.sync.mirror.checkpoints`);
- when it succeeds, a new snapshot (``snapshots/<run>.snap``): the base with this run's changes. The
  operator then records it as the task's snapshot pointer (an XCom, like ``last_sync_time``)
  (:mod:`~airflow_provider_cio.sync.mirror.snapshots`).

:class:`MirrorRun` puts these parts together for one sync.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any

from airflow_provider_cio.sync.convert.columns import ColumnPlan
from airflow_provider_cio.sync.convert.server_text import RawColumns
from airflow_provider_cio.sync.mirror.change_filter import ChangeFilter, MirrorBuilder
from airflow_provider_cio.sync.mirror.checkpoints import Checkpoints
from airflow_provider_cio.sync.mirror.options import MirrorOptions
from airflow_provider_cio.sync.mirror.removal_guard import check_removals
from airflow_provider_cio.sync.mirror.snapshot_files import Snapshot
from airflow_provider_cio.sync.mirror.snapshots import MirrorSnapshots
from airflow_provider_cio.sync.records.encoded import Op
from airflow_provider_cio.sync.records.ops import OpBuilder

log = logging.getLogger(__name__)


class MirrorRun:
    """The mirror side of one sync: the base snapshot, the change filter, checkpoints, the removal guard.

    :param options: the mirror options of the task.
    :param import_type: ``people``, ``objects`` or ``relationships``.
    :param identify_by: how people are identified.
    :param key_fingerprint: what makes keys comparable (import type, identifiers, object type, segment);
        a snapshot with another one is not used (a fresh snapshot starts).
    :param value_fingerprint: what makes values comparable (columns, value settings); with another one
        every row is sent again, and removals still work.
    :param workdir: where local files go.
    :param dry_run: compare and count only; write nothing.
    """

    def __init__(
        self,
        options: MirrorOptions,
        *,
        import_type: str,
        identify_by: str,
        key_fingerprint: str,
        value_fingerprint: str,
        workdir: str | None = None,
        dry_run: bool = False,
        logger: logging.Logger | Any = log,
    ) -> None:
        self.options = options
        self.import_type = import_type
        self.identify_by = identify_by
        self.dry_run = dry_run
        self.snapshots = MirrorSnapshots(
            options,
            import_type=import_type,
            key_fingerprint=key_fingerprint,
            value_fingerprint=value_fingerprint,
            workdir=workdir,
            logger=logger,
        )
        self.checkpoints = Checkpoints(self.snapshots, interval=options.checkpoint_interval, dry_run=dry_run)
        self.change_filter = ChangeFilter(None)

    def load(self) -> None:
        """Load the task's last snapshot, with what stopped runs delivered since."""
        snapshots = self.snapshots
        snapshots.load()
        self.change_filter = ChangeFilter(snapshots.base, compare_values=snapshots.compare_values)

    @property
    def base(self) -> Snapshot | None:
        """The snapshot this run compares against (None: every row is new)."""
        return self.snapshots.base

    @property
    def new_pointer(self) -> dict[str, Any] | None:
        """After a successful run, the snapshot pointer the operator records."""
        return self.snapshots.new_pointer

    @property
    def rows_unchanged(self) -> int:
        """Rows read that the workspace already has as they are."""
        return self.change_filter.rows_unchanged

    def wrap(
        self, builder: OpBuilder, plan: ColumnPlan, object_type_id: str, raw: RawColumns | None = None
    ) -> MirrorBuilder:
        """The op builder that leaves unchanged rows out (see :meth:`MirrorBuilder.wrapping`)."""
        return MirrorBuilder.wrapping(builder, self.change_filter, self.checkpoints, plan, object_type_id, raw)

    def settled(self, accepted: Sequence[Op], refused: Sequence[Op]) -> None:
        """The engine's callback (sender threads): the ops of a batch the workspace accepted and refused."""
        self.checkpoints.settled(accepted, refused)

    def checkpoint(self) -> None:
        """Record the rows accepted so far (and, unless a dry run, write them as a checkpoint part)."""
        self.checkpoints.checkpoint()

    def mark_dirty(self, keys: Sequence[str]) -> None:
        """Rows accepted by their batch but refused later (activity log): sent again by the next run."""
        self.checkpoints.mark_dirty(keys)

    def removed_count(self) -> int:
        """How many keys of the base no row of this run matched (call once every row was read)."""
        return self.change_filter.removed_count()

    def removed_keys(self) -> Iterator[list[str]]:
        """The keys of the base that no row of this run matched, a chunk at a time."""
        return self.change_filter.removed_keys()

    def forget_removed(self, keys: Sequence[str]) -> None:
        """Leave keys out of the next snapshot (removed, or ignored under ``on_removed="ignore"``)."""
        self.checkpoints.forget_removed(keys)

    @property
    def acts_on_removals(self) -> bool:
        """Whether rows that left the query change the workspace (``on_removed`` or the segment)."""
        return self.options.on_removed != "ignore" or self.options.segment

    def check_guard(self, removed: int) -> None:
        """Fail before removing anything when the run would remove more rows than ``max_removed`` allows."""
        snapshot_rows = self.base.rows if self.base is not None else 0
        check_removals(
            removed, max_removed=self.options.max_removed, snapshot_rows=snapshot_rows, import_type=self.import_type
        )

    def write_snapshot(self) -> dict[str, Any]:
        """Store the base with this run's changes as a new snapshot; return the pointer to record."""
        self.checkpoints.checkpoint()
        return self.snapshots.write(self.checkpoints.changes)

    def clean_up(self, previous: dict[str, Any] | None) -> None:
        """After the new pointer is recorded: delete checkpoints and the snapshots older than the last two."""
        self.snapshots.clean_up(previous)

    def close(self) -> None:
        """Unmap the base and delete the local files."""
        self.snapshots.close()
        self.checkpoints.close()
