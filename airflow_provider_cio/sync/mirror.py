"""Mirror mode: send only the rows that changed since the last successful sync, remove the rows that left.

Each row's key (person, object, or person-object pair) and values are hashed as the row is read. A row
whose hashes are in the previous snapshot is unchanged: it is counted and not sent. The others go on to
the op builder and the engine as in an upsert sync; the engine reports back which ops the workspace
accepted (``settled``), and only those rows enter the next snapshot, so a refused row is sent again by
the next run. Rows of the snapshot that no row of this run matched have left the query; they are
removed as ``on_removed`` says, after every row was sent, unless there are more than ``max_removed``.

A run writes:

- while it runs, every ``checkpoint_interval`` seconds, a checkpoint part with the rows the workspace
  accepted since the last part (``checkpoints/<base>/<run>-<n>.part``), so that a stopped run resumes;
- when it succeeds, a new snapshot (``snapshots/<run>.snap``): the base with this run's changes. The
  operator then records it as the task's snapshot pointer (an XCom, like ``last_sync_time``).

A part is uploaded whole (a new object; on ``file://`` a rename) and carries a checksum, so a process
that dies at any instant leaves either a complete part or one that the next run ignores. A part only
holds rows whose batch the workspace had answered before the part was written: the next run resends
at most the rows not confirmed when the last part was written.
"""

from __future__ import annotations

import logging
import marshal
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any, Literal

import numpy as np
import orjson
from xxhash import xxh3_64_intdigest

from airflow_provider_cio.sync.columns import ColumnPlan
from airflow_provider_cio.sync.encoded import Op
from airflow_provider_cio.sync.engine import SplittingBuilder, Workspace
from airflow_provider_cio.sync.ops import OpBuilder, object_type_text
from airflow_provider_cio.sync.outcomes import DUPLICATE_IDENTIFIER, RowError, RowRefused
from airflow_provider_cio.sync.raw_columns import RAW_TYPES, RawColumns
from airflow_provider_cio.sync.snapshot import (
    DIRTY,
    TOMBSTONE,
    U64,
    Changes,
    Snapshot,
    SnapshotError,
    SnapshotStore,
    merge,
    read_part,
    write_part,
)

SyncMode = Literal["upsert", "mirror"]
OnRemoved = Literal["ignore", "delete", "suppress"]
SEPARATOR = "\x1f"
NOT_FOUND = "not_found"
REPEATED_KEY = "an earlier row of this sync already has this identifier; each one may appear once"
SNAPSHOT_VERSION = 1
CHECKPOINT_ROWS = 50_000
"""Accepted rows that make a checkpoint part before its interval has passed (memory stays small)."""
MAX_REMOVED = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")
log = logging.getLogger(__name__)


def removal_limit(max_removed: int | str, snapshot_rows: int) -> int:
    """How many rows a run may remove: a count, or ``"N%"`` of the previous snapshot's rows (rounded down)."""
    if isinstance(max_removed, int) and not isinstance(max_removed, bool):
        return max_removed
    match = MAX_REMOVED.match(str(max_removed))
    if match is None:
        raise ValueError(f"max_removed must be a count such as 500 or a percentage such as '10%', not {max_removed!r}")
    return int(snapshot_rows * float(match.group(1)) / 100)


def check_max_removed(max_removed: int | str) -> None:
    """A clear error at DAG parse time for a ``max_removed`` that is neither a count nor a percentage."""
    if isinstance(max_removed, int) and not isinstance(max_removed, bool) and max_removed < 0:
        raise ValueError(f"max_removed must be 0 or more, not {max_removed}")
    removal_limit(max_removed, 0)


class MassRemovalError(RuntimeError):
    """A run would remove more rows than ``max_removed`` allows; nothing was removed."""


@dataclass(frozen=True)
class MirrorOptions:
    """What a mirror sync does with rows that left the query, and where it keeps its snapshots.

    :param on_removed: ``ignore``, ``delete`` (people, objects, relationships) or ``suppress`` (people).
    :param max_removed: the most rows one run may remove: a count, or ``"N%"`` of the previous snapshot.
    :param store: the task's snapshot folder.
    :param pointer: the task's snapshot pointer recorded by its last successful run, or None.
    :param segment: people who leave the query also leave this manual segment (its id), whatever
        ``on_removed`` says.
    :param checkpoint_interval: seconds between checkpoint parts (0: after every answered batch).
    """

    on_removed: OnRemoved
    max_removed: int | str
    store: SnapshotStore
    pointer: dict[str, Any] | None = None
    segment: bool = False
    checkpoint_interval: float = 10.0


def key_reader(plan: ColumnPlan, object_type_id: str) -> Callable[[Sequence[Sequence[Any]]], list[str]]:
    """How to read the key of each row of a block: the person, the object or the person-object pair.

    The key is read as the op builder reads it (an email in lower case); a row it would refuse gets a key
    that is never in a snapshot, as such a row is never accepted.
    """
    person = plan.identifier_index
    by_email = plan.identify_by == "email"
    types = plan.object_type_index

    def person_key(value: Any) -> str:
        if type(value) is str:
            return value.lower() if by_email else value
        return "" if value is None else str(value)

    def object_key(row: Sequence[Any], object_id: Any) -> str:
        kind = object_type_id if types is None or row[types] in (None, "") else str(row[types])
        return f"{kind}{SEPARATOR}{object_id}"

    if plan.import_type == "people":
        if by_email:
            return lambda rows: [v.lower() if type(v := row[person]) is str else "" for row in rows]
        return lambda rows: [v if type(v := row[person]) is str else str(v) for row in rows]
    if plan.import_type == "objects":
        return lambda rows: [object_key(row, row[person]) for row in rows]
    assert plan.object_id_index is not None
    object_id = plan.object_id_index
    return lambda rows: [f"{person_key(row[person])}{SEPARATOR}{object_key(row, row[object_id])}" for row in rows]


def key_columns(plan: ColumnPlan) -> tuple[int, ...]:
    """The indexes of the columns a row's key is read from."""
    columns = [plan.identifier_index, plan.object_type_index]
    if plan.import_type == "relationships":
        columns.append(plan.object_id_index)
    return tuple(index for index in columns if index is not None)


def removal_op(import_type: str, identify_by: str, on_removed: str, key: str) -> bytes:
    """The op that removes a row's key from the workspace."""
    if import_type == "people":
        return orjson.dumps({"type": "person", "identifiers": {identify_by: key}, "action": on_removed})
    if import_type == "objects":
        kind, object_id = key.split(SEPARATOR, 1)
        identifiers = {"object_type_id": object_type_text(kind), "object_id": object_id}
        return orjson.dumps({"type": "object", "identifiers": identifiers, "action": "delete"})
    person, kind, object_id = key.split(SEPARATOR, 2)
    item = {"identifiers": {"object_type_id": object_type_text(kind), "object_id": object_id}}
    op = {"type": "person", "identifiers": {identify_by: person}, "action": "delete_relationships"}
    return orjson.dumps({**op, "cio_relationships": [item]})


def describe_key(import_type: str, key: str) -> str:
    """A key as the error report names it (``person -> type:object`` for relationships)."""
    if import_type == "people":
        return key
    parts = key.split(SEPARATOR)
    return f"{parts[0]} -> {parts[1]}:{parts[2]}" if import_type == "relationships" else f"{parts[0]}:{parts[1]}"


def key_hash(key: str) -> int:
    """The 64-bit hash of a key, the same in every process (Python's ``hash`` of a str is not)."""
    return xxh3_64_intdigest(key.encode())


def row_hash(row: Any) -> int:
    """The value hash of a row holding values of any type (see :func:`row_hashes`)."""
    return xxh3_64_intdigest(orjson.dumps(row, default=str)) | 1


def row_hashes(rows: Sequence[Any]) -> np.ndarray:
    """The value hash of each row: odd, so that it is never a tombstone or dirty mark.

    Rows of ``bytes``, ``str``, ``int``, ``float`` and ``None`` (what mysqlclient gives) are hashed through
    ``marshal`` format 0 (no references, no interning: the same bytes for equal values in any process);
    a block holding other types (``Decimal``, ``datetime`` from another driver) through JSON.
    """
    try:
        blobs = list(map(marshal.dumps, rows, repeat(0)))
    except ValueError:
        return np.fromiter(map(row_hash, rows), U64, len(rows))
    return np.fromiter(map(xxh3_64_intdigest, blobs), U64, len(rows)) | np.uint64(1)


class MirrorRun:
    """The mirror side of one sync: the base snapshot, the change filter, checkpoints, removals.

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
        self.key_fingerprint = key_fingerprint
        self.value_fingerprint = value_fingerprint
        self.dry_run = dry_run
        self.log = logger
        self.directory = workdir
        self.token = f"{time.time_ns() // 1_000_000:013d}-{uuid.uuid4().hex[:8]}"
        self.base: Snapshot | None = None
        self.base_name = "none"
        self.base_stored = False
        """The base is the snapshot the pointer names, as stored (no checkpoint applied to it)."""
        self.compare_values = True
        self.seen = np.zeros(0, bool)
        self._seen_count = 0
        self.changes = Changes(workdir)
        self.rows_unchanged = 0
        self.rows_removed = 0
        self.removals_refused: list[RowError] = []
        self.new_pointer: dict[str, Any] | None = None
        self._candidates: dict[int, tuple[int, int, str]] = {}
        self._lock = threading.Lock()
        self._accepted: list[tuple[int, int, str]] = []
        self._part: list[tuple[int, int, str]] = []
        self._parts_written = 0
        self._next_checkpoint = time.monotonic() + options.checkpoint_interval
        self._files: list[str] = []

    # base -------------------------------------------------------------------------------------------

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
        pointer = self.options.pointer
        store = self.options.store
        base: Snapshot | None = None
        if pointer is not None:
            if pointer.get("key_fingerprint") != self.key_fingerprint:
                self.log.warning(
                    "Mirror: the import type, identifiers, object type or segment changed since the last snapshot; "
                    "starting a fresh snapshot (every row is sent; rows that left the query are not removed this run)"
                )
            else:
                local = self._local("base.snap")
                name = str(pointer["name"])
                try:
                    if store.download(name, local):
                        base = Snapshot.verified(local, self.directory)
                        self.base_name = os.path.basename(name).removesuffix(".snap")
                    else:
                        self.log.warning("Mirror: the snapshot %s is gone; starting a fresh snapshot", name)
                except SnapshotError as error:
                    self.log.warning("Mirror: %s; starting a fresh snapshot", error)
        dirty_base = base is not None and base.header.get("value_fingerprint") != self.value_fingerprint
        if dirty_base:
            self.log.info("Mirror: the query's columns or value settings changed; every row is sent again")
        parts = self._checkpoint_parts()
        if parts.count:
            self.log.info("Mirror: resuming from %d rows a stopped run had delivered", parts.count)
            effective = self._local("effective.snap")
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
        self.seen = np.zeros(base.rows if base is not None else 0, bool)
        self._seen_count = 0

    def _checkpoint_parts(self) -> Changes:
        """The rows delivered by stopped runs since the base snapshot, in the order they were delivered."""
        changes = Changes(self.directory)
        store = self.options.store
        for name in store.names(f"checkpoints/{self.base_name}"):
            local = self._local("part")
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

    def _local(self, name: str) -> str:
        path = os.path.join(self.directory or "/tmp", f"cio-mirror-{self.token}-{len(self._files)}-{name}")
        self._files.append(path)
        return path

    # the change filter ------------------------------------------------------------------------------

    def wrap(
        self, builder: OpBuilder, plan: ColumnPlan, object_type_id: str, raw: RawColumns | None = None
    ) -> MirrorBuilder:
        """The op builder that leaves unchanged rows out.

        Rows are compared as read: values the driver left raw (dates, decimals) are converted by ``builder``
        (a :class:`~airflow_provider_cio.sync.raw_columns.ConvertingBuilder`) for the changed rows only.

        :param raw: the conversion of the columns the driver left raw: a key read from one is converted
            here, so that a key is the same whether or not its row changed.
        """
        keys = key_columns(plan)
        conversion = {index: convert for index, convert in (raw.converters if raw else {}).items() if index in keys}
        return MirrorBuilder(builder, self, key_reader(plan, object_type_id), conversion)

    def lookup(self, key_hashes: np.ndarray, value_hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Which rows are unchanged, and which repeat a key of the base that an earlier row of this run had;
        marks the base rows matched by a key as still in the query."""
        base = self.base
        if base is None or not base.rows:
            return np.zeros(len(key_hashes), bool), np.zeros(len(key_hashes), bool)
        index = np.searchsorted(base.key_hashes, key_hashes)
        index[index == base.rows] = 0
        found = base.key_hashes[index] == key_hashes
        matched = index[found]
        again = self.seen[matched]  # read by an earlier block
        before = self._seen_count
        self.seen[matched] = True
        self._seen_count = int(np.count_nonzero(self.seen))
        if self._seen_count - before < len(matched) - np.count_nonzero(again):  # or by an earlier row of this block
            _, firsts = np.unique(matched, return_index=True)
            within = np.ones(len(matched), bool)
            within[firsts] = False
            again |= within
        repeated = np.zeros(len(key_hashes), bool)
        repeated[found] = again
        unchanged: np.ndarray
        if self.compare_values:
            unchanged = found & (base.value_hashes[index] == value_hashes)
        else:
            unchanged = np.zeros(len(key_hashes), bool)
        base.release()
        return unchanged, repeated

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
        if self.options.checkpoint_interval <= 0:
            self.checkpoint()

    def mark_dirty(self, keys: Sequence[str]) -> None:
        """Rows accepted by their batch but refused later (activity log): sent again by the next run."""
        with self._lock:
            self._accepted.extend((key_hash(key), DIRTY, key) for key in keys)

    # checkpoints ------------------------------------------------------------------------------------

    def maybe_checkpoint(self) -> None:
        """Write a checkpoint part when the interval has passed, or when many rows wait for one (called by
        the reading thread): the accepted rows wait in memory only until then."""
        if time.monotonic() >= self._next_checkpoint or len(self._accepted) >= CHECKPOINT_ROWS:
            self.checkpoint()

    def checkpoint(self) -> None:
        """Record the rows accepted so far: in the changes, and (unless a dry run) in a checkpoint part."""
        with self._lock:
            delivered, self._accepted = self._accepted, []
            self._next_checkpoint = time.monotonic() + self.options.checkpoint_interval
            if not delivered:
                return
            key_hashes = np.fromiter((r[0] for r in delivered), U64, len(delivered))
            value_hashes = np.fromiter((r[1] for r in delivered), U64, len(delivered))
            keys = [r[2] for r in delivered]
            self.changes.add(key_hashes, value_hashes, keys)
            if self.dry_run:
                return
            local = self._local("part")
            write_part(local, self.header(), value_hashes, keys)
            self._parts_written += 1
            name = f"checkpoints/{self.base_name}/{self.token}-{self._parts_written:06d}.part"
            self.options.store.upload(local, name)
            os.unlink(local)

    # removals ---------------------------------------------------------------------------------------

    def removed_count(self) -> int:
        """How many keys of the base no row of this run matched (call once every row was read)."""
        return int(len(self.seen) - np.count_nonzero(self.seen))

    def removed_keys(self, chunk: int = CHECKPOINT_ROWS) -> Iterator[list[str]]:
        """The keys of the base that no row of this run matched, ``chunk`` at a time."""
        base = self.base
        if base is None or not self.removed_count():
            return
        offset, keys = 0, []
        for block in base.key_blocks():
            gone = np.flatnonzero(~self.seen[offset : offset + len(block)]).tolist()
            offset += len(block)
            keys += [block[i].decode() for i in gone]
            if len(keys) >= chunk:
                yield keys
                keys = []
        if keys:
            yield keys

    @property
    def acts_on_removals(self) -> bool:
        """Whether rows that left the query change the workspace (``on_removed`` or the segment)."""
        return self.options.on_removed != "ignore" or self.options.segment

    def check_guard(self, removed: int) -> None:
        """Fail before removing anything when the run would remove more rows than ``max_removed`` allows."""
        base_rows = self.base.rows if self.base is not None else 0
        limit = removal_limit(self.options.max_removed, base_rows)
        if removed > limit:
            raise MassRemovalError(
                f"this run would remove {removed} of the {base_rows} {self.import_type} of the last snapshot "
                f"(rows that are no longer in the query's result), more than max_removed="
                f"{self.options.max_removed!r} allows ({limit}); nothing was removed. If the query is right, "
                f"set max_removed={removed} (or a higher percentage, such as '100%') on the task for one run"
            )

    def remove(self, workspace: Workspace, keys: Sequence[str]) -> list[str]:
        """Send the removal ops of ``keys`` (``on_removed``); return the keys removed (or already gone).

        A key the workspace refuses stays in the snapshot (removed again by the next run) and is reported.
        """
        from airflow_provider_cio.sync.engine import batches_of

        action = self.options.on_removed
        if action == "ignore" or not keys:
            return []
        ops = []
        for number, key in enumerate(keys):
            try:
                body = removal_op(self.import_type, self.identify_by, action, key)
            except RowRefused as refused:
                self.removals_refused.append(
                    RowError(0, describe_key(self.import_type, key), "removal_failed", refused.message)
                )
                continue
            ops.append(Op(body, number, 1, key, key))
        done = []
        for batch in batches_of(ops):
            answers = {error.index: error for error in workspace.send_batch(batch.bodies)}
            for index, op in enumerate(batch.ops):
                error = answers.get(index)
                if error is None or error.reason == NOT_FOUND:
                    done.append(op.key)
                else:
                    message = f"the workspace refused to remove it ({error.reason}): {error.message}"
                    self.removals_refused.append(
                        RowError(0, describe_key(self.import_type, op.key), "removal_failed", message)
                    )
        self.rows_removed = len(done)
        return done

    def forget_removed(self, keys: Sequence[str]) -> None:
        """Leave keys out of the next snapshot (removed, or ignored under ``on_removed="ignore"``)."""
        if keys:
            with self._lock:
                self._accepted.extend((key_hash(key), TOMBSTONE, key) for key in keys)

    # the new snapshot -------------------------------------------------------------------------------

    def write_snapshot(self) -> dict[str, Any]:
        """Store the base with this run's changes as a new snapshot; return the pointer to record."""
        self.checkpoint()
        pointer = self.options.pointer
        if self.base_stored and not self.changes.count and pointer is not None:
            self.new_pointer = {**pointer, "run": self.token}
            return self.new_pointer
        local = self._local("new.snap")
        header = {**self.header(), "base": self.base_name}
        rows = merge(self.base, self.changes, local, header, self.directory)
        name = f"snapshots/{self.token}.snap"
        self.options.store.upload(local, name)
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
        store = self.options.store
        store.remove("checkpoints")
        keep = {p["name"] for p in (previous, self.new_pointer) if p}
        for name in store.names("snapshots"):
            if name not in keep:
                store.remove(name)

    def close(self) -> None:
        """Unmap the base and delete the local files."""
        if self.base is not None:
            self.base.close()
        self.changes.close()
        for path in self._files:
            if os.path.exists(path):
                os.unlink(path)


class MirrorBuilder:
    """An op builder that hands only new and changed rows to the real builder (``inner``).

    Contiguous runs of changed rows are built together (a relationship op carries consecutive rows);
    between two runs the inner builder's held op is finished first.
    """

    def __init__(
        self,
        inner: OpBuilder,
        mirror: MirrorRun,
        keys_of: Callable[[Sequence[Sequence[Any]]], list[str]],
        key_conversion: dict[int, Callable[[Any], Any]] | None = None,
    ) -> None:
        self.inner = inner
        self.mirror = mirror
        self.keys_of = keys_of
        self.unique_keys = inner.unique_keys
        self.key_conversion = list((key_conversion or {}).items())
        self._next_row = 1
        if isinstance(inner, SplittingBuilder):  # then this builder splits too (the engine's seam)
            self.split = inner.split

    def build(self, rows: Sequence[Sequence[Any]], first_row: int) -> Iterator[Op | RowError]:
        """Ops and row errors for the changed rows; unchanged rows are counted."""
        mirror = self.mirror
        mirror.maybe_checkpoint()
        count = len(rows)
        keys = self.keys_of(list(map(self.converted, rows)) if self.key_conversion else rows)
        key_hashes = np.fromiter(map(xxh3_64_intdigest, map(str.encode, keys)), U64, count)
        value_hashes = row_hashes(rows)
        unchanged, repeated = mirror.lookup(key_hashes, value_hashes)
        if self.unique_keys:  # a repeated key is refused, as the engine refuses it when both rows are sent
            unchanged &= ~repeated
            for index in np.flatnonzero(repeated).tolist():
                yield RowError(first_row + index, keys[index], DUPLICATE_IDENTIFIER, REPEATED_KEY)
        else:
            repeated[:] = False
        changed = np.flatnonzero(~(unchanged | repeated))
        mirror.rows_unchanged += int(np.count_nonzero(unchanged))
        if not len(changed):
            return
        breaks = np.flatnonzero(np.diff(changed) != 1)
        starts = [int(changed[0]), *(int(changed[i + 1]) for i in breaks)]
        ends = [*(int(changed[i]) + 1 for i in breaks), int(changed[-1]) + 1]
        key_list, value_list = key_hashes.tolist(), value_hashes.tolist()
        for start, end in zip(starts, ends, strict=True):
            if first_row + start != self._next_row:
                yield from self._checked(self.inner.finish())
            for index in range(start, end):
                mirror.expect(first_row + index, key_list[index], value_list[index], keys[index])
            yield from self._checked(self.inner.build(rows[start:end], first_row + start))
            self._next_row = first_row + end

    def converted(self, row: Sequence[Any]) -> tuple[Any, ...]:
        """A row with the key values the driver left raw converted, as the driver would have."""
        values = list(row)
        for index, convert in self.key_conversion:
            value = values[index]
            if isinstance(value, RAW_TYPES):
                values[index] = convert(value)
        return tuple(values)

    def finish(self) -> Iterator[Op | RowError]:
        """The inner builder's held op."""
        yield from self._checked(self.inner.finish())

    def _checked(self, items: Iterable[Op | RowError]) -> Iterator[Op | RowError]:
        for item in items:
            if type(item) is RowError:
                self.mirror.forget(item.row_number)
            yield item
