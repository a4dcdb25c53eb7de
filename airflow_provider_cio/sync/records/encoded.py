"""An op as it is sent: its compact JSON with the rows it carries, and the fixed parts of ``identify`` ops."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import repeat

PERSON_HEAD = b'{"type":"person","identifiers":'
OBJECT_HEAD = b'{"type":"object","identifiers":'
IDENTIFY_MIDDLE = b',"action":"identify","attributes":'


@dataclass(slots=True)
class Op:
    """One op, encoded, with the rows it carries.

    :param body: the op as compact JSON.
    :param first_row: the number (from 1) of the first row in the query result that the op carries.
    :param row_count: how many consecutive rows it carries (more than one for grouped relationships).
    :param identifier: how the error report names the op's subject.
    :param key: ops with the same key are sent in row order; for people and objects it is also the
        identity that must not repeat within one sync.
    """

    body: bytes
    first_row: int
    row_count: int
    identifier: str
    key: str


class OpBlock:
    """Ops of one row each, held as columns: what the column path builds for a block of rows.

    The engine batches a block as it is, with no :class:`Op` object per row; iterating it gives the ops,
    for every other reader.

    :param bodies: each op as compact JSON.
    :param row_numbers: the row each op carries (increasing).
    :param identifiers: how the error report names each op's subject (any sequence: the column path of
        events makes each name only when it is read).
    :param keys: each op's key (its identity, which must not repeat within one sync).
    """

    __slots__ = ("bodies", "identifiers", "keys", "row_numbers")

    def __init__(
        self, bodies: list[bytes], row_numbers: Sequence[int], identifiers: Sequence[str], keys: list[str]
    ) -> None:
        self.bodies = bodies
        self.row_numbers = row_numbers
        self.identifiers = identifiers
        self.keys = keys

    def __len__(self) -> int:
        return len(self.bodies)

    def __iter__(self) -> Iterator[Op]:
        return map(Op, self.bodies, self.row_numbers, repeat(1), self.identifiers, self.keys)

    def __getitem__(self, index: int) -> Op:
        return Op(self.bodies[index], self.row_numbers[index], 1, self.identifiers[index], self.keys[index])

    def part(self, start: int, end: int) -> OpBlock:
        """The ops at positions ``start`` to ``end`` (excluded)."""
        return OpBlock(
            self.bodies[start:end], self.row_numbers[start:end], self.identifiers[start:end], self.keys[start:end]
        )

    def without(self, positions: Iterable[int]) -> OpBlock:
        """The block with the ops at ``positions`` left out."""
        left_out = set(positions)
        kept = [position for position in range(len(self.bodies)) if position not in left_out]
        return OpBlock(
            [self.bodies[i] for i in kept],
            [self.row_numbers[i] for i in kept],
            [self.identifiers[i] for i in kept],
            [self.keys[i] for i in kept],
        )
