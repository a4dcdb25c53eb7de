"""The duplicate check of people and objects: each key may appear once in a sync.

The identifier registry says, per block, which keys an earlier row may have had (a Bloom filter: no
false "new", some false "maybe"). Those ops are held back, in a spill file, until every row was read;
then each one whose key is new after all is sent, and the real duplicates are refused.
"""

from __future__ import annotations

from collections.abc import Callable

from airflow_provider_cio.sync.account.outcomes import DUPLICATE_IDENTIFIER, RowError
from airflow_provider_cio.sync.duplicates.identifiers import IdentifierRegistry
from airflow_provider_cio.sync.records.encoded import Op, OpBlock
from airflow_provider_cio.sync.send.batches import Ops


class DuplicateCheck:
    """Holds back the ops whose key may repeat an earlier row's, and settles them at the end.

    :param identifiers: the keys of the sync so far, with the row each first appeared in.
    """

    def __init__(self, identifiers: IdentifierRegistry) -> None:
        self.identifiers = identifiers
        self.held_rows = 0
        """Rows of the ops held back."""

    def screen(self, ops: Ops) -> Ops:
        """Record the keys of ``ops``; return the ops whose key is new, holding back the others."""
        if isinstance(ops, OpBlock):
            maybe = self.identifiers.claim(ops.keys, ops.row_numbers)
        else:
            maybe = self.identifiers.claim([op.key for op in ops], [op.first_row for op in ops])
        if not maybe:
            return ops
        for position in maybe:
            op = ops[position]
            self.identifiers.hold((op.body, op.first_row, op.row_count, op.identifier, op.key))
            self.held_rows += op.row_count
        if isinstance(ops, OpBlock):
            return ops.without(maybe)
        held = set(maybe)
        return [op for position, op in enumerate(ops) if position not in held]

    def settle(self, send: Callable[[list[Op]], None]) -> list[RowError]:
        """Once every row was read: ``send`` each held op whose key is new after all; return the errors of
        the real duplicates."""
        if not self.held_rows:
            return []
        identifiers = self.identifiers
        first_rows = identifiers.first_rows(item[-1] for item in identifiers.held())
        duplicates = []
        for item in identifiers.held():
            op = Op(*item)
            first = first_rows.get(op.key)
            if first is None:
                first_rows[op.key] = op.first_row
                identifiers.record(op.key, op.first_row)
                send([op])
            else:
                message = f"row {first} of this sync already has this identifier; each one may appear once"
                duplicates.append(RowError(op.first_row, op.identifier, DUPLICATE_IDENTIFIER, message))
        return duplicates
