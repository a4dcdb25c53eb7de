"""The identifiers a sync has sent, with the row that sent each: exact, in memory that does not grow.

A sync must not send two rows for the same person or object (the query has a bug; the later row is
refused), must later find the row of an identifier named in the activity log, and must list the people
it synced for a segment. Keeping every identifier in a Python set would grow with the rows, so:

- a Bloom filter of fixed size (16 MiB) answers "certainly new" for almost every row at once;
- every identifier sent is appended to a spill file on disk, with its row number;
- the rare "maybe seen" rows are held back, in a second spill file; at the end one pass over the
  first file tells real duplicates (refused) from false alarms (sent then, late; their order relative
  to other people's rows does not matter, as each person has one row).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import tempfile
from collections.abc import Iterable, Iterator
from typing import IO, Any

import orjson

BLOOM_BITS = 1 << 27
BLOOM_MASK = BLOOM_BITS - 1
SPILL_EVERY = 10_000
"""Identifiers kept in memory before they are appended to the spill file."""


class IdentifierRegistry:
    """Identifiers seen in one sync.

    :param directory: where the spill file goes (removed by :meth:`close`).
    """

    def __init__(self, directory: str | None = None) -> None:
        self._bits = bytearray(BLOOM_BITS // 8)
        fd, self.path = tempfile.mkstemp(prefix="cio-identifiers-", suffix=".jsonl", dir=directory)
        self._spill: IO[bytes] = os.fdopen(fd, "w+b")
        self._held: IO[bytes] = tempfile.TemporaryFile(prefix="cio-held-", dir=directory)  # noqa: SIM115 - closed by close()
        self.held_count = 0
        self._pending: list[tuple[int, str]] = []

    def claim(self, key: str, row_number: int) -> bool:
        """Record that row ``row_number`` sends ``key``, unless the key may have been sent before.

        :return: True when the key is certainly new (and now recorded); False when it may have been
            recorded before: the caller holds the row back (:meth:`hold`) until the end of the sync.

        Three probes into 2**27 bits: at a million identifiers about 11 false alarms, at the
        10,000,000-row limit under 1%; each costs only a late send.
        """
        h = hash(key)
        first, step = h & BLOOM_MASK, (h >> 27) | 1
        second, third = (first + step) & BLOOM_MASK, (first + 2 * step) & BLOOM_MASK
        bits = self._bits
        byte1, bit1 = first >> 3, 1 << (first & 7)
        byte2, bit2 = second >> 3, 1 << (second & 7)
        byte3, bit3 = third >> 3, 1 << (third & 7)
        if bits[byte1] & bit1 and bits[byte2] & bit2 and bits[byte3] & bit3:
            return False
        bits[byte1] |= bit1
        bits[byte2] |= bit2
        bits[byte3] |= bit3
        pending = self._pending
        pending.append((row_number, key))
        if len(pending) >= SPILL_EVERY:
            self.flush()
        return True

    def hold(self, item: tuple[Any, ...]) -> None:
        """Keep a "maybe seen" row's op aside, on disk, until :meth:`held` gives it back."""
        pickle.dump(item, self._held)
        self.held_count += 1

    def held(self) -> Iterator[tuple[Any, ...]]:
        """The items given to :meth:`hold`, in the same order."""
        self._held.flush()
        self._held.seek(0)
        for _ in range(self.held_count):
            yield pickle.load(self._held)

    def record(self, key: str, row_number: int) -> None:
        """Note that row ``row_number`` sent ``key``."""
        self._pending.append((row_number, key))
        if len(self._pending) >= SPILL_EVERY:
            self.flush()

    def flush(self) -> None:
        """Write the identifiers recorded so far to the spill file."""
        if self._pending:
            self._spill.write(orjson.dumps(self._pending) + b"\n")
            self._pending = []

    def first_rows(self, keys: Iterable[str]) -> dict[str, int]:
        """The row that sent each of ``keys`` (keys never sent are absent)."""
        wanted = set(keys)
        found: dict[str, int] = {}
        if wanted:
            for row_number, key in self:
                if key in wanted and key not in found:
                    found[key] = row_number
        return found

    def __iter__(self) -> Iterator[tuple[int, str]]:
        """Every ``(row_number, key)`` recorded, in the order recorded."""
        self.flush()
        self._spill.flush()
        with open(self.path, "rb") as spill:
            for line in spill:
                yield from orjson.loads(line)

    def close(self) -> None:
        """Delete the spill files."""
        self._held.close()
        self._spill.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
