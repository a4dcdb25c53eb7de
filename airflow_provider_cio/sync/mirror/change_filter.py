"""Mirror mode's change filter: only new and changed rows go on to the op builder.

Each row's key (person, object, or person-object pair) and values are hashed as the row is read. A row
whose hashes are in the base snapshot is unchanged: it is counted and not sent. Rows of the base that
no row of this run matched have left the query (:meth:`ChangeFilter.removed_keys`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np
from xxhash import xxh3_64_intdigest

from airflow_provider_cio.sync.account.outcomes import DUPLICATE_IDENTIFIER, RowError
from airflow_provider_cio.sync.convert.columns import ColumnPlan
from airflow_provider_cio.sync.convert.server_text import RAW_TYPES, RawColumns
from airflow_provider_cio.sync.mirror.checkpoints import CHECKPOINT_ROWS, Checkpoints
from airflow_provider_cio.sync.mirror.keys import key_columns, key_reader, row_hashes
from airflow_provider_cio.sync.mirror.snapshot_files import U64, Snapshot
from airflow_provider_cio.sync.records.encoded import Op
from airflow_provider_cio.sync.records.ops import OpBuilder
from airflow_provider_cio.sync.records.wrapping import WrappingBuilder

REPEATED_KEY = "an earlier row of this sync already has this identifier; each one may appear once"


class ChangeFilter:
    """Compares the rows of a run with the base snapshot, and remembers which base rows it saw.

    :param base: the base snapshot (None: every row is new, and nothing was removed).
    :param compare_values: whether the base's value hashes compare with this run's (else every row is sent).
    """

    def __init__(self, base: Snapshot | None, *, compare_values: bool = True) -> None:
        self.base = base
        self.compare_values = compare_values
        self.seen = np.zeros(base.rows if base is not None else 0, bool)
        self._seen_count = 0
        self.rows_unchanged = 0

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


class MirrorBuilder(WrappingBuilder):
    """An op builder that hands only new and changed rows to the real builder (``inner``).

    Contiguous runs of changed rows are built together (a relationship op carries consecutive rows);
    between two runs the inner builder's held op is finished first.
    """

    def __init__(
        self,
        inner: OpBuilder,
        change_filter: ChangeFilter,
        checkpoints: Checkpoints,
        keys_of: Callable[[Sequence[Sequence[Any]]], list[str]],
        key_conversion: dict[int, Callable[[Any], Any]] | None = None,
    ) -> None:
        super().__init__(inner)
        self.change_filter = change_filter
        self.checkpoints = checkpoints
        self.keys_of = keys_of
        self.key_conversion = list((key_conversion or {}).items())
        self._next_row = 1

    @classmethod
    def wrapping(
        cls,
        builder: OpBuilder,
        change_filter: ChangeFilter,
        checkpoints: Checkpoints,
        plan: ColumnPlan,
        object_type_id: str,
        raw: RawColumns | None = None,
    ) -> MirrorBuilder:
        """The op builder that leaves unchanged rows out.

        Rows are compared as read: values the driver left raw (dates, decimals) are converted by ``builder``
        (a :class:`~airflow_provider_cio.sync.convert.server_text.ConvertingBuilder`) for the changed rows only.

        :param raw: the conversion of the columns the driver left raw: a key read from one is converted
            here, so that a key is the same whether or not its row changed.
        """
        keys = key_columns(plan)
        conversion = {index: convert for index, convert in (raw.converters if raw else {}).items() if index in keys}
        return cls(builder, change_filter, checkpoints, key_reader(plan, object_type_id), conversion)

    def build(self, rows: Sequence[Sequence[Any]], first_row: int) -> Iterator[Op | RowError]:
        """Ops and row errors for the changed rows; unchanged rows are counted."""
        change_filter, checkpoints = self.change_filter, self.checkpoints
        checkpoints.maybe_checkpoint()
        count = len(rows)
        keys = self.keys_of(list(map(self.converted, rows)) if self.key_conversion else rows)
        key_hashes = np.fromiter(map(xxh3_64_intdigest, map(str.encode, keys)), U64, count)
        value_hashes = row_hashes(rows)
        unchanged, repeated = change_filter.lookup(key_hashes, value_hashes)
        if self.unique_keys:  # a repeated key is refused, as the engine refuses it when both rows are sent
            unchanged &= ~repeated
            for index in np.flatnonzero(repeated).tolist():
                yield RowError(first_row + index, keys[index], DUPLICATE_IDENTIFIER, REPEATED_KEY)
        else:
            repeated[:] = False
        changed = np.flatnonzero(~(unchanged | repeated))
        change_filter.rows_unchanged += int(np.count_nonzero(unchanged))
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
                checkpoints.expect(first_row + index, key_list[index], value_list[index], keys[index])
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
                self.checkpoints.forget(item.row_number)
            yield item
