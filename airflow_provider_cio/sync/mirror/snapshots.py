"""Mirror mode's files: the base snapshot a run compares against, and the new one it leaves.

A run loads the snapshot the task's pointer names, with the checkpoint parts of stopped runs applied
(``checkpoints/<base>/<run>-<n>.part``, written by :mod:`~airflow_provider_cio.sync.mirror.checkpoints`); when
it succeeds, it stores the base with its changes as ``snapshots/<run>.snap``, and once the operator has
recorded the new pointer, deletes the checkpoints and the snapshots older than the last two.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from typing import Any

from airflow_provider_cio.sync.mirror.options import MirrorOptions
from airflow_provider_cio.sync.mirror.snapshot_files import (
    DIRTY,
    TOMBSTONE,
    Changes,
    Snapshot,
    SnapshotError,
    merge,
    read_part,
)

SNAPSHOT_VERSION = 1
log = logging.getLogger(__name__)


class MirrorSnapshots:
    """The snapshots of one mirror run: its base, its local files, the new snapshot and the clean-up.

    :param options: the mirror options of the task (its store and pointer).
    :param import_type: ``people``, ``objects`` or ``relationships``.
    :param key_fingerprint: what makes keys comparable; a snapshot with another one is not used.
    :param value_fingerprint: what makes values comparable; with another one every row is sent again.
    :param workdir: where local files go.
    """

    def __init__(
        self,
        options: MirrorOptions,
        *,
        import_type: str,
        key_fingerprint: str,
        value_fingerprint: str,
        workdir: str | None = None,
        logger: logging.Logger | Any = log,
    ) -> None:
        self.options = options
        self.store = options.store
        self.import_type = import_type
        self.key_fingerprint = key_fingerprint
        self.value_fingerprint = value_fingerprint
        self.directory = workdir
        self.log = logger
        self.token = f"{time.time_ns() // 1_000_000:013d}-{uuid.uuid4().hex[:8]}"
        self.base: Snapshot | None = None
        self.base_name = "none"
        self.base_stored = False
        """The base is the snapshot the pointer names, as stored (no checkpoint applied to it)."""
        self.compare_values = True
        """Whether the base's value hashes were made with this run's settings (else every row is sent)."""
        self.new_pointer: dict[str, Any] | None = None
        self._files: list[str] = []

    def header(self) -> dict[str, Any]:
        """What every snapshot and checkpoint part of this run says about itself."""
        return {
            "version": SNAPSHOT_VERSION,
            "import_type": self.import_type,
            "key_fingerprint": self.key_fingerprint,
            "value_fingerprint": self.value_fingerprint,
            "base": self.base_name,
            "run": self.token,
        }

    def load(self) -> None:
        """Download the snapshot the pointer names and apply the checkpoint parts of stopped runs."""
        base = self._stored_base()
        dirty_base = base is not None and base.header.get("value_fingerprint") != self.value_fingerprint
        if dirty_base:
            self.log.info("Mirror: the query's columns or value settings changed; every row is sent again")
        parts = self._checkpoint_parts()
        if parts.count:
            self.log.info("Mirror: resuming from %d rows a stopped run had delivered", parts.count)
            effective = self.local("effective.snap")
            merge(base, parts, effective, {**self.header(), "base": self.base_name}, self.directory, dirty_base)
            if base is not None:
                base.close()
            base = Snapshot(effective, self.directory)
            dirty_base = False
        else:
            self.base_stored = base is not None
        parts.close()
        self.compare_values = not dirty_base
        self.base = base

    def _stored_base(self) -> Snapshot | None:
        """The snapshot the pointer names, when it is there, whole, and made with the same keys."""
        pointer = self.options.pointer
        if pointer is None:
            return None
        if pointer.get("key_fingerprint") != self.key_fingerprint:
            self.log.warning(
                "Mirror: the import type, identifiers, object type or segment changed since the last snapshot; "
                "starting a fresh snapshot (every row is sent; rows that left the query are not removed this run)"
            )
            return None
        local = self.local("base.snap")
        name = str(pointer["name"])
        try:
            if not self.store.download(name, local):
                self.log.warning("Mirror: the snapshot %s is gone; starting a fresh snapshot", name)
                return None
            base = Snapshot.verified(local, self.directory)
        except SnapshotError as error:
            self.log.warning("Mirror: %s; starting a fresh snapshot", error)
            return None
        self.base_name = os.path.basename(name).removesuffix(".snap")
        return base

    def _checkpoint_parts(self) -> Changes:
        """The rows delivered by stopped runs since the base snapshot, in the order they were delivered."""
        changes = Changes(self.directory)
        store = self.store
        for name in store.names(f"checkpoints/{self.base_name}"):
            local = self.local("part")
            try:
                if not store.download(name, local):
                    continue
                part = Snapshot.verified(local, self.directory)
            except SnapshotError as error:
                self.log.info("Mirror: ignoring an incomplete checkpoint part (%s)", error)
                continue
            if part.header.get("key_fingerprint") != self.key_fingerprint:
                part.close()
                continue
            key_hashes, value_hashes, keys = read_part(part)
            if part.header.get("value_fingerprint") != self.value_fingerprint:
                value_hashes[value_hashes != TOMBSTONE] = DIRTY
            part.close()
            changes.add(key_hashes, value_hashes, keys)
        return changes

    def local(self, name: str) -> str:
        """A new local file path of this run (deleted by :meth:`close`)."""
        path = os.path.join(self.directory or "/tmp", f"cio-mirror-{self.token}-{len(self._files)}-{name}")
        self._files.append(path)
        return path

    def write(self, changes: Changes) -> dict[str, Any]:
        """Store the base with this run's ``changes`` as a new snapshot; return the pointer to record."""
        pointer = self.options.pointer
        if self.base_stored and not changes.count and pointer is not None:
            self.new_pointer = {**pointer, "run": self.token}
            return self.new_pointer
        local = self.local("new.snap")
        header = {**self.header(), "base": self.base_name}
        rows = merge(self.base, changes, local, header, self.directory)
        name = f"snapshots/{self.token}.snap"
        self.store.upload(local, name)
        os.unlink(local)
        self.new_pointer = {
            "name": name,
            "rows": rows,
            "key_fingerprint": self.key_fingerprint,
            "value_fingerprint": self.value_fingerprint,
            "run": self.token,
        }
        return self.new_pointer

    def clean_up(self, previous: dict[str, Any] | None) -> None:
        """After the new pointer is recorded: delete checkpoints and the snapshots older than the last two."""
        store = self.store
        store.remove("checkpoints")
        keep = {p["name"] for p in (previous, self.new_pointer) if p}
        for name in store.names("snapshots"):
            if name not in keep:
                store.remove(name)

    def close(self) -> None:
        """Unmap the base and delete the local files."""
        if self.base is not None:
            self.base.close()
        for path in self._files:
            if os.path.exists(path):
                os.unlink(path)
