"""An op as it is sent: its compact JSON with the rows it carries, and the fixed parts of ``identify`` ops."""

from __future__ import annotations

from dataclasses import dataclass

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
