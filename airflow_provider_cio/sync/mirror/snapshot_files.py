"""Mirror snapshots: what a mirror sync last delivered, about 12 to 16 bytes a row, never in memory whole.

A snapshot file holds, for every row the workspace accepted, a 64-bit hash of its values, then its key
(the person, the object, or the person-object pair; needed to remove rows that left the query), all in
the order of the keys' 64-bit hashes, the keys compressed::

    b"CIOSNAP1" | u32 header length | header (JSON) | padding to 8 bytes
    value hashes (u64 x rows) | keys (zlib, one per line) | crc32 of all before

The key hashes are not stored: opening a snapshot computes them from the keys into a local file (8
bytes a row, sorted since the keys are in their order). Both arrays are read through ``numpy.memmap``
(the operating system pages in what a lookup touches; the reader gives those pages back after each
block), the keys streamed. Checkpoint parts have the same format, unsorted: the changes a stopped run
had delivered.

Value hashes are odd; ``TOMBSTONE`` (0) in a change removes a key, ``DIRTY`` (2) keeps the key but never
matches a row, so the row is sent again.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import shutil
import struct
import tempfile
import zlib
from collections.abc import Iterator, Sequence
from typing import IO, Any, Protocol

import numpy as np
import orjson
from xxhash import xxh3_64_intdigest

MAGIC = b"CIOSNAP1"
TOMBSTONE = 0
DIRTY = 2
BUCKET_BITS = 6
BUCKETS = 1 << BUCKET_BITS
SHIFT = 64 - BUCKET_BITS
U64 = np.dtype("<u8")
COMPRESSION = 1
"""zlib level of the keys: level 1 is several times faster than the default and the keys barely larger."""


class SnapshotStore(Protocol):
    """A folder of snapshot files (``ObjectStore`` over ``ObjectStoragePath`` in the operators)."""

    def download(self, name: str, local: str) -> bool:
        """Copy a file to a local path; False when it does not exist."""
        ...

    def upload(self, local: str, name: str) -> None:
        """Copy a local file under ``name``, atomically (whole or not at all)."""
        ...

    def names(self, prefix: str) -> list[str]:
        """The files under ``prefix``, sorted."""
        ...

    def remove(self, name: str) -> None:
        """Delete a file or a sub-folder."""
        ...


class SnapshotError(ValueError):
    """A snapshot or checkpoint file is truncated or not one of ours."""


class Snapshot:
    """A snapshot file on local disk: sorted key hashes and value hashes (memory-mapped), and the keys.

    :param path: the local file (see :meth:`verified` to check it first).
    :param directory: where the file of key hashes goes (removed by :meth:`close`).
    """

    def __init__(self, path: str, directory: str | None = None) -> None:
        self.path = path
        with open(path, "rb") as file:
            if file.read(8) != MAGIC:
                raise SnapshotError(f"{path} is not a mirror snapshot")
            (length,) = struct.unpack("<I", file.read(4))
            self.header: dict[str, Any] = orjson.loads(file.read(length))
        self.rows = int(self.header["rows"])
        self._values_at = aligned(12 + length)
        self._keys_at = self._values_at + 8 * self.rows
        self._keys_bytes = int(self.header["keys_bytes"])
        self.size = self._keys_at + self._keys_bytes + 4
        if self.size != os.path.getsize(path):
            raise SnapshotError(f"{path} is truncated")
        self._hashes_path: str | None = None
        self.key_hashes: np.ndarray = np.zeros(0, U64)
        self.value_hashes: np.ndarray = np.zeros(0, U64)
        if self.rows:
            self.value_hashes = np.memmap(path, U64, "r", self._values_at, (self.rows,))
            self.key_hashes = self._hash_keys(directory)

    @classmethod
    def verified(cls, path: str, directory: str | None = None) -> Snapshot:
        """Open a file after checking its length and checksum (raises :class:`SnapshotError`)."""
        size = os.path.getsize(path)
        if size < 16:
            raise SnapshotError(f"{path} is truncated")
        crc = 0
        with open(path, "rb") as file:
            remaining = size - 4
            while remaining:
                chunk = file.read(min(remaining, 1 << 20))
                crc = zlib.crc32(chunk, crc)
                remaining -= len(chunk)
            (stored,) = struct.unpack("<I", file.read(4))
        if crc != stored:
            raise SnapshotError(f"{path} is truncated or damaged (checksum)")
        return cls(path, directory)

    def _hash_keys(self, directory: str | None) -> np.ndarray:
        """The keys' hashes, in a local file, memory-mapped."""
        fd, self._hashes_path = tempfile.mkstemp(prefix="cio-key-hashes-", dir=directory)
        count = 0
        with os.fdopen(fd, "wb") as out:
            for block in self.key_blocks():
                out.write(np.fromiter(map(xxh3_64_intdigest, block), U64, len(block)).tobytes())
                count += len(block)
        if count != self.rows:
            raise SnapshotError(f"{self.path} holds {count} keys for {self.rows} rows")
        return np.memmap(self._hashes_path, U64, "r", 0, (self.rows,))

    def release(self) -> None:
        """Give the pages of the arrays read so far back to the operating system (they stay cached)."""
        for array in (self.key_hashes, self.value_hashes):
            handle = getattr(array, "_mmap", None)
            if handle is not None:
                with contextlib.suppress(OSError, ValueError):
                    handle.madvise(mmap.MADV_DONTNEED)

    def keys(self) -> Iterator[str]:
        """Every key, in key-hash order."""
        for block in self.key_blocks():
            yield from (line.decode() for line in block)

    def key_blocks(self) -> Iterator[list[bytes]]:
        """Every key (UTF-8), in key-hash order, a block of lines at a time."""
        if not self.rows:
            return
        decompressor = zlib.decompressobj()
        tail = b""
        with open(self.path, "rb") as file:
            file.seek(self._keys_at)
            remaining = self._keys_bytes
            while remaining:
                chunk = file.read(min(remaining, 1 << 20))
                remaining -= len(chunk)
                lines = (tail + decompressor.decompress(chunk)).split(b"\n")
                tail = lines.pop()
                yield lines
            tail += decompressor.flush()
        if tail:
            yield [line for line in tail.split(b"\n") if line]

    def close(self) -> None:
        """Unmap the arrays, delete the file of key hashes."""
        for array in (self.key_hashes, self.value_hashes):
            handle = getattr(array, "_mmap", None)
            if handle is not None:
                handle.close()
        self.key_hashes = self.value_hashes = np.zeros(0, U64)
        if self._hashes_path is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._hashes_path)
            self._hashes_path = None


class KeyReader:
    """The keys of a snapshot in order, taken a count at a time."""

    def __init__(self, snapshot: Snapshot | None) -> None:
        self._blocks = snapshot.key_blocks() if snapshot is not None else iter(())
        self._lines: list[bytes] = []
        self._at = 0

    def take(self, count: int) -> list[bytes]:
        """The next ``count`` keys (UTF-8)."""
        taken: list[bytes] = []
        while count:
            if self._at == len(self._lines):
                self._lines, self._at = next(self._blocks), 0
                continue
            part = self._lines[self._at : self._at + count]
            self._at += len(part)
            count -= len(part)
            taken += part
        return taken


def aligned(offset: int) -> int:
    """The next multiple of 8."""
    return (offset + 7) & ~7


def write_snapshot(path: str, header: dict[str, Any], value_hashes: IO[bytes], keys: IO[bytes], rows: int) -> None:
    """Assemble a snapshot file from its parts (files positioned at their start)."""
    keys.seek(0, os.SEEK_END)
    keys_bytes = keys.tell()
    keys.seek(0)
    head = orjson.dumps({**header, "rows": rows, "keys_bytes": keys_bytes})
    crc = 0
    with open(path, "wb") as out:

        def put(data: bytes) -> None:
            nonlocal crc
            crc = zlib.crc32(data, crc)
            out.write(data)

        put(MAGIC + struct.pack("<I", len(head)) + head)
        put(b"\0" * (aligned(12 + len(head)) - 12 - len(head)))
        for part in (value_hashes, keys):
            part.seek(0)
            while chunk := part.read(1 << 20):
                put(chunk)
        out.write(struct.pack("<I", crc))


class Changes:
    """Key hash, value hash and key of rows, spilled to disk in buckets of key-hash ranges.

    Used for the changes a run delivers (merged into the next snapshot) and for a checkpoint part.

    :param directory: where the bucket files go (removed by :meth:`close`).
    """

    def __init__(self, directory: str | None = None) -> None:
        self.directory = tempfile.mkdtemp(prefix="cio-changes-", dir=directory)
        self._records: list[IO[bytes] | None] = [None] * BUCKETS
        self._keys: list[IO[bytes] | None] = [None] * BUCKETS
        self.count = 0

    def add(self, key_hashes: np.ndarray, value_hashes: np.ndarray, keys: Sequence[str]) -> None:
        """Add rows (later rows of the same key win when merged)."""
        if not len(key_hashes):
            return
        buckets = (key_hashes >> np.uint64(SHIFT)).astype(np.intp)
        order = np.argsort(buckets, kind="stable")
        sorted_buckets = buckets[order]
        bounds = np.searchsorted(sorted_buckets, np.arange(BUCKETS + 1))
        pairs = np.empty((len(order), 2), U64)
        pairs[:, 0] = key_hashes[order]
        pairs[:, 1] = value_hashes[order]
        for bucket in np.unique(sorted_buckets):
            start, end = bounds[bucket], bounds[bucket + 1]
            self._file(self._records, bucket, "r").write(pairs[start:end].tobytes())
            self._file(self._keys, bucket, "k").write(
                ("\n".join([keys[i] for i in order[start:end].tolist()]) + "\n").encode()
            )
        self.count += len(key_hashes)

    def bucket(self, number: int) -> tuple[np.ndarray, np.ndarray, list[bytes]]:
        """The rows of one bucket, in the order added (keys in UTF-8)."""
        records, keys = self._records[number], self._keys[number]
        if records is None or keys is None:
            return np.zeros(0, U64), np.zeros(0, U64), []
        records.flush()
        keys.flush()
        pairs = np.fromfile(records.name, U64).reshape(-1, 2)
        with open(keys.name, "rb") as file:
            lines = file.read().split(b"\n")[:-1]
        return pairs[:, 0].copy(), pairs[:, 1].copy(), lines

    def _file(self, files: list[IO[bytes] | None], number: int, kind: str) -> IO[bytes]:
        file = files[number]
        if file is None:
            file = files[number] = open(os.path.join(self.directory, f"{kind}{number:03d}"), "w+b")  # noqa: SIM115
        return file

    def close(self) -> None:
        """Delete the bucket files."""
        for file in (*self._records, *self._keys):
            if file is not None:
                file.close()
        shutil.rmtree(self.directory, ignore_errors=True)


def merge(
    base: Snapshot | None,
    changes: Changes,
    path: str,
    header: dict[str, Any],
    directory: str | None,
    dirty_base: bool = False,
) -> int:
    """Write ``base`` with ``changes`` applied (a change replaces its key; a tombstone removes it) as a
    sorted snapshot at ``path``; return its row count. Memory holds one key-hash bucket at a time.

    :param dirty_base: keep the base's keys but mark its values ``DIRTY`` (its columns differ).
    """
    work = tempfile.mkdtemp(prefix="cio-merge-", dir=directory)
    try:
        with (
            open(os.path.join(work, "vh"), "w+b") as value_out,
            open(os.path.join(work, "keys"), "w+b") as keys_out,
        ):
            compressor = zlib.compressobj(COMPRESSION)
            base_keys = KeyReader(base)
            base_hashes = base.key_hashes if base is not None else np.zeros(0, U64)
            bounds = np.searchsorted(base_hashes, np.arange(BUCKETS + 1, dtype=np.uint64) << np.uint64(SHIFT))
            bounds[-1] = len(base_hashes)
            rows = 0
            for number in range(BUCKETS):
                start, end = int(bounds[number]), int(bounds[number + 1])
                old_keys = base_keys.take(end - start)
                new_key_hashes, new_value_hashes, new_keys = changes.bucket(number)
                key_hashes = np.concatenate([np.asarray(base_hashes[start:end]), new_key_hashes])
                if base is not None and dirty_base:
                    old_values = np.full(end - start, DIRTY, U64)
                elif base is not None:
                    old_values = np.asarray(base.value_hashes[start:end])
                else:
                    old_values = np.zeros(0, U64)
                value_hashes = np.concatenate([old_values, new_value_hashes])
                keys = old_keys + new_keys
                if base is not None:
                    base.release()
                if not len(key_hashes):
                    continue
                order = np.lexsort((np.arange(len(key_hashes)), key_hashes))
                sorted_hashes = key_hashes[order]
                last = np.ones(len(order), bool)
                last[:-1] = sorted_hashes[1:] != sorted_hashes[:-1]
                keep = order[last]
                keep = keep[value_hashes[keep] != TOMBSTONE]
                value_out.write(value_hashes[keep].tobytes())
                if len(keep):
                    keys_out.write(compressor.compress(b"\n".join([keys[i] for i in keep.tolist()]) + b"\n"))
                rows += len(keep)
            keys_out.write(compressor.flush())
            write_snapshot(path, header, value_out, keys_out, rows)
        return rows
    finally:
        shutil.rmtree(work, ignore_errors=True)


def write_part(path: str, header: dict[str, Any], value_hashes: np.ndarray, keys: Sequence[str]) -> None:
    """Write a checkpoint part: rows in the order delivered (not sorted), with the snapshot format."""
    with tempfile.TemporaryFile() as vh, tempfile.TemporaryFile() as keys_file:
        vh.write(np.asarray(value_hashes, U64).tobytes())
        keys_file.write(zlib.compress(("\n".join(keys) + "\n").encode() if keys else b"", COMPRESSION))
        write_snapshot(path, header, vh, keys_file, len(keys))


def read_part(snapshot: Snapshot) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The rows of a checkpoint part (small: the changes of one checkpoint interval)."""
    return np.asarray(snapshot.key_hashes).copy(), np.asarray(snapshot.value_hashes).copy(), list(snapshot.keys())
