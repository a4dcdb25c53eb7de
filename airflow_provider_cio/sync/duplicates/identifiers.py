"""The identifiers a sync has sent, with the row that sent each: exact, in memory that does not grow.

A sync must not send two rows for the same person or object (the query has a bug; the later row is
refused), must later find the row of an identifier named in the activity log, and must list the people
it synced for a segment. Keeping every identifier in a Python set would grow with the rows, so:

- a Bloom filter of fixed size (:class:`~airflow_provider_cio.sync.duplicates.bloom.BlockBloom`, in numpy: 11 MiB
  for about 2.5% false alarms at the 10,000,000-row limit) answers "certainly new" for almost every row,
  a block of rows at a time;
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
from collections.abc import Iterable, Iterator, Sequence
from typing import IO, Any

import numpy as np
import orjson

from airflow_provider_cio.sync.duplicates.bloom import BlockBloom
from airflow_provider_cio.sync.limits import MAX_ROWS

BLOOM_FALSE_ALARMS = 0.01
"""Share of new identifiers a classic Bloom filter of the same size would take for "maybe seen" when a
sync sends the most rows it may."""
SPILL_EVERY = 10_000
"""Identifiers kept in memory before they are appended to the spill file."""


class IdentifierRegistry:
    """Identifiers seen in one sync.

    :param directory: where the spill file goes (removed by :meth:`close`).
    """

    def __init__(self, directory: str | None = None) -> None:
        self._bloom: BlockBloom | None = None  # made by the first claim: keys that may repeat need none
        fd, self.path = tempfile.mkstemp(prefix="cio-identifiers-", suffix=".jsonl", dir=directory)
        self._spill: IO[bytes] = os.fdopen(fd, "w+b")
        self._held: IO[bytes] = tempfile.TemporaryFile(prefix="cio-held-", dir=directory)  # noqa: SIM115 - closed by close()
        self.held_count = 0
        self._rows: list[int] = []
        self._keys: list[str] = []

    def claim(self, keys: list[str], row_numbers: Sequence[int]) -> list[int]:
        """Record that row ``row_numbers[i]`` sends ``keys[i]``, unless the key may have been sent before.

        :return: the positions of the keys that may have been recorded before (in an earlier block,
            or earlier in this one), usually none: the caller holds those rows back (:meth:`hold`)
            until the end of the sync. The other keys are now recorded.
        """
        hashes = np.fromiter(map(hash, keys), dtype=np.int64, count=len(keys)).view(np.uint64)
        if self._bloom is None:
            self._bloom = BlockBloom(MAX_ROWS, BLOOM_FALSE_ALARMS)
        maybe = self._bloom.add_new(hashes)
        if maybe.any():
            new = np.flatnonzero(~maybe).tolist()
            self._rows.extend(row_numbers[position] for position in new)
            self._keys.extend(keys[position] for position in new)
        else:
            self._rows.extend(row_numbers)
            self._keys.extend(keys)
        if len(self._keys) >= SPILL_EVERY:
            self.flush()
        return np.flatnonzero(maybe).tolist()

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
        self._rows.append(row_number)
        self._keys.append(key)
        if len(self._keys) >= SPILL_EVERY:
            self.flush()

    def record_all(self, keys: Sequence[str], row_numbers: Sequence[int]) -> None:
        """Note that row ``row_numbers[i]`` sent ``keys[i]``, keys that may repeat (events, relationships):
        no duplicate check, only the record :meth:`rows_of` reads."""
        self._rows.extend(row_numbers)
        self._keys.extend(keys)
        if len(self._keys) >= SPILL_EVERY:
            self.flush()

    def flush(self) -> None:
        """Write the identifiers recorded so far to the spill file (a line: their row numbers, then them)."""
        if self._keys:
            self._spill.write(orjson.dumps([self._rows, self._keys]) + b"\n")
            self._rows, self._keys = [], []

    def first_rows(self, keys: Iterable[str]) -> dict[str, int]:
        """The row that sent each of ``keys`` (keys never sent are absent)."""
        wanted = set(keys)
        found: dict[str, int] = {}
        if wanted:
            for row_numbers, recorded in self._lines():
                if not wanted.isdisjoint(recorded):  # rare: the line is looked at key by key only then
                    for row_number, key in zip(row_numbers, recorded, strict=True):
                        if key in wanted and key not in found:
                            found[key] = row_number
        return found

    def rows_of(self, keys: Iterable[str]) -> dict[str, list[int]]:
        """Every row that sent each of ``keys``, in row order (keys never sent are absent)."""
        wanted = set(keys)
        found: dict[str, list[int]] = {}
        if wanted:
            for row_numbers, recorded in self._lines():
                if not wanted.isdisjoint(recorded):
                    for row_number, key in zip(row_numbers, recorded, strict=True):
                        if key in wanted:
                            found.setdefault(key, []).append(row_number)
        return found

    def __iter__(self) -> Iterator[tuple[int, str]]:
        """Every ``(row_number, key)`` recorded, in the order recorded."""
        for row_numbers, keys in self._lines():
            yield from zip(row_numbers, keys, strict=True)

    def _lines(self) -> Iterator[tuple[list[int], list[str]]]:
        """The spill file's lines: row numbers and the keys they sent, in the order recorded."""
        self.flush()
        self._spill.flush()
        with open(self.path, "rb") as spill:
            for line in spill:
                row_numbers, keys = orjson.loads(line)
                yield row_numbers, keys

    def close(self) -> None:
        """Delete the spill files."""
        self._held.close()
        self._spill.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
