"""Mirror mode's checkpoints: which rows the workspace has accepted, written down as the run goes.

The change filter notes each changed row it hands on (:meth:`Checkpoints.expect`); the engine says which
ops the workspace accepted (:meth:`Checkpoints.settled`, from the sender threads). Every
``checkpoint_interval`` seconds, the accepted rows go into the run's changes and a checkpoint part
(``checkpoints/<base>/<run>-<n>.part``), so that a stopped run resumes.

A part is uploaded whole (a new object; on ``file://`` a rename) and carries a checksum, so a process
that dies at any instant leaves either a complete part or one that the next run ignores. A part only
holds rows whose batch the workspace had answered before the part was written: the next run resends
at most the rows not confirmed when the last part was written.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence

import numpy as np

from airflow_provider_cio.sync.mirror.keys import key_hash
from airflow_provider_cio.sync.mirror.snapshot_files import DIRTY, TOMBSTONE, U64, Changes, write_part
from airflow_provider_cio.sync.mirror.snapshots import MirrorSnapshots
from airflow_provider_cio.sync.records.encoded import Op

CHECKPOINT_ROWS = 50_000
"""Accepted rows that make a checkpoint part before its interval has passed (memory stays small)."""

Delivered = tuple[int, int, str]
"""A row the workspace has: its key hash, value hash (or a tombstone or dirty mark) and key."""


class Checkpoints:
    """The rows of one mirror run that the workspace accepted, and the checkpoint parts they go to.

    :param snapshots: the run's snapshots (its store, base name and local files).
    :param interval: seconds between checkpoint parts (0: after every answered batch).
    :param dry_run: record the changes only; write no part.
    """

    def __init__(self, snapshots: MirrorSnapshots, *, interval: float, dry_run: bool = False) -> None:
        self.snapshots = snapshots
        self.interval = interval
        self.dry_run = dry_run
        self.changes = Changes(snapshots.directory)
        """Every row recorded so far: what the new snapshot changes of the base."""
        self._candidates: dict[int, Delivered] = {}
        self._lock = threading.Lock()
        self._accepted: list[Delivered] = []
        self._parts_written = 0
        self._next_checkpoint = time.monotonic() + interval

    def expect(self, row_number: int, key_hash: int, value_hash: int, key: str) -> None:
        """Note a changed row handed to the builder: recorded when the workspace accepts its op."""
        self._candidates[row_number] = (key_hash, value_hash, key)

    def forget(self, row_number: int) -> None:
        """A row that will not be accepted (the builder refused it)."""
        self._candidates.pop(row_number, None)

    def settled(self, accepted: Sequence[Op], refused: Sequence[Op]) -> None:
        """The engine's callback (sender threads): the ops of a batch the workspace accepted and refused."""
        candidates = self._candidates
        delivered = []
        for op in accepted:
            for row_number in range(op.first_row, op.first_row + op.row_count):
                record = candidates.pop(row_number, None)
                if record is not None:
                    delivered.append(record)
        for op in refused:
            for row_number in range(op.first_row, op.first_row + op.row_count):
                candidates.pop(row_number, None)
        if delivered:
            with self._lock:
                self._accepted.extend(delivered)
        if self.interval <= 0:
            self.checkpoint()

    def mark_dirty(self, keys: Sequence[str]) -> None:
        """Rows accepted by their batch but refused later (activity log): sent again by the next run."""
        with self._lock:
            self._accepted.extend((key_hash(key), DIRTY, key) for key in keys)

    def forget_removed(self, keys: Sequence[str]) -> None:
        """Leave keys out of the next snapshot (removed, or ignored under ``on_removed="ignore"``)."""
        if keys:
            with self._lock:
                self._accepted.extend((key_hash(key), TOMBSTONE, key) for key in keys)

    def maybe_checkpoint(self) -> None:
        """Write a checkpoint part when the interval has passed, or when many rows wait for one (called by
        the reading thread): the accepted rows wait in memory only until then."""
        if time.monotonic() >= self._next_checkpoint or len(self._accepted) >= CHECKPOINT_ROWS:
            self.checkpoint()

    def checkpoint(self) -> None:
        """Record the rows accepted so far: in the changes, and (unless a dry run) in a checkpoint part."""
        with self._lock:
            delivered, self._accepted = self._accepted, []
            self._next_checkpoint = time.monotonic() + self.interval
            if not delivered:
                return
            key_hashes = np.fromiter((r[0] for r in delivered), U64, len(delivered))
            value_hashes = np.fromiter((r[1] for r in delivered), U64, len(delivered))
            keys = [r[2] for r in delivered]
            self.changes.add(key_hashes, value_hashes, keys)
            if self.dry_run:
                return
            snapshots = self.snapshots
            local = snapshots.local("part")
            write_part(local, snapshots.header(), value_hashes, keys)
            self._parts_written += 1
            name = f"checkpoints/{snapshots.base_name}/{snapshots.token}-{self._parts_written:06d}.part"
            snapshots.store.upload(local, name)
            os.unlink(local)

    def close(self) -> None:
        """Delete the changes' local files."""
        self.changes.close()
