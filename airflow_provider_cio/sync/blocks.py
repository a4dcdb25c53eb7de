"""A block of rows as the op builders take it: a sequence of rows, possibly held as its columns."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, overload


class Block(Sequence[tuple[Any, ...]]):
    """The rows of a block made from its columns (``columns[i]``: the values of column ``i``).

    A builder that works a column at a time takes :attr:`columns` as they are (:func:`columns_of`); the
    rows are made only when something reads them.
    """

    __slots__ = ("_rows", "columns")

    def __init__(self, columns: list[Sequence[Any]]) -> None:
        self.columns = columns
        self._rows: list[tuple[Any, ...]] | None = None

    @property
    def rows(self) -> list[tuple[Any, ...]]:
        """The rows, made from the columns the first time they are read."""
        if self._rows is None:
            self._rows = list(zip(*self.columns, strict=True))
        return self._rows

    def __len__(self) -> int:
        return len(self.columns[0]) if self.columns else 0

    @overload
    def __getitem__(self, index: int) -> tuple[Any, ...]: ...

    @overload
    def __getitem__(self, index: slice) -> list[tuple[Any, ...]]: ...

    def __getitem__(self, index: int | slice) -> tuple[Any, ...] | list[tuple[Any, ...]]:
        return self.rows[index]

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self.rows)


def columns_of(rows: Sequence[Sequence[Any]]) -> list[Sequence[Any]]:
    """The columns of a block of rows: those a :class:`Block` holds, or the rows transposed."""
    return rows.columns if isinstance(rows, Block) else list(zip(*rows, strict=True))
