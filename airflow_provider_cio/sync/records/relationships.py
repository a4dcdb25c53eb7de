"""Rows -> ops for a relationship query: consecutive rows of one person travel in one op.

Each row is one relationship between a person (the ``id``, ``email`` or ``phone`` column, as
``identify_by`` says) and an object (``object_id``, of the type in the ``object_type_id`` column or the default). The
optional ``deleted`` column removes the relationship when true; false or NULL adds (or updates) it.
Every other column is a relationship attribute.

A run of consecutive rows with the same person and the same action becomes one op::

    {"type": "person", "identifiers": {"id": "42"}, "action": "add_relationships",
     "cio_relationships": [{"identifiers": {"object_type_id": "1", "object_id": "acme"},
                            "relationship_attributes": {"role": "admin"}}, ...]}

so a query ordered by person sends far fewer ops than rows. An op stays under 32,000 bytes: when the
next relationship would not fit, a new op starts. A row that cannot be sent (an empty or invalid
identifier, a ``deleted`` value that is not a boolean, an attribute over its limit) is a row error and
ends the run, so every op carries an unbroken range of rows, one relationship per row, in row order.

When the workspace refuses a grouped op because of one of its relationships (an unknown object, an
object type the workspace does not have, attributes over the limit), nothing of the op was applied:
:meth:`RelationshipOps.split` gives the engine one op per row to send instead, so each row gets its
own outcome. A refusal about the person (unknown, or not identified as the workspace wants) holds
for every row of the op and is reported for each of them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any, NamedTuple

import orjson

from airflow_provider_cio.sync.account.outcomes import INVALID_VALUE, TOO_LARGE, OpError, RowError, RowRefused
from airflow_provider_cio.sync.convert.columns import ColumnPlan
from airflow_provider_cio.sync.limits import MAX_OP_BYTES
from airflow_provider_cio.sync.records.emails import email_key
from airflow_provider_cio.sync.records.encoded import Op
from airflow_provider_cio.sync.records.ops import (
    EmptyValues,
    attribute_values,
    email_text,
    encode,
    identifier_text,
    object_type_of,
    object_type_text,
    shown,
)
from airflow_provider_cio.sync.records.phones import phone_text

ADD = "add_relationships"
DELETE = "delete_relationships"
TRUE_TEXT = frozenset({"true", "1"})
FALSE_TEXT = frozenset({"false", "0"})
CLOSING = b"]}"
_NOTHING = object()
ITEM_FIELD = "cio_relationships["
"""How the workspace names one relationship of an op in a refusal (``cio_relationships[2].identifiers``)."""


def is_deleted(value: Any) -> bool:
    """Whether a ``deleted`` value removes the relationship, for every form MySQL gives a boolean.

    ``NULL`` -> False; ``BOOLEAN``/``TINYINT(1)`` and expressions such as ``removed_at IS NOT NULL``
    (the integers 0 and 1, also as ``DECIMAL``); ``BIT(1)`` (the bytes ``0x00``/``0x01``, or an
    integer with some drivers); text ``'true'``/``'false'`` or ``'1'``/``'0'`` (any case, spaces
    around ignored).

    :raises RowRefused: anything else (``2``, ``'yes'``, ``''``, a date, ...); the message says what is
        accepted and never shows the value.
    """
    if value is None:
        return False
    kind = type(value)
    if kind is bool:
        return value is True
    if kind is int or kind is Decimal or kind is float:
        if value == 1:
            return True
        if value == 0:
            return False
        shape = "a number other than 0 and 1"
    elif kind is bytes or kind is bytearray:
        if 0 < len(value) <= 8:
            number = int.from_bytes(value, "big")
            if number in (0, 1):
                return number == 1
        shape = "binary data that is not a BIT value of 0 or 1"
    elif kind is str:
        text = value.strip().lower()
        if text in TRUE_TEXT:
            return True
        if text in FALSE_TEXT:
            return False
        shape = "empty text" if not text else "text other than 'true', 'false', '1' and '0'"
    else:
        shape = f"a {kind.__name__}"
    raise RowRefused(
        INVALID_VALUE,
        f"the deleted column holds {shape}; it must be a boolean: TRUE/FALSE (TINYINT 1/0), BIT(1), "
        "'true'/'false' or NULL (which adds the relationship). Convert it in the query, e.g. "
        "(removed_at IS NOT NULL) AS deleted",
    )


class _Relationship(NamedTuple):
    """One row, ready to send."""

    key: str
    """The person's key: the id or phone, or the email in lower case (emails match case-insensitively)."""
    person: str
    action: str
    object_type: str
    object_id: str
    item: bytes
    """The encoded ``cio_relationships`` item."""


class _Group:
    """The op being filled: one person, one action, consecutive rows."""

    __slots__ = ("action", "first_row", "head", "items", "key", "label", "person", "size")

    def __init__(self, first: _Relationship, head: bytes, first_row: int) -> None:
        self.key = first.key
        self.person = first.person
        self.action = first.action
        self.label = f"{first.person} -> {first.object_type}:{first.object_id}"
        self.head = head
        self.first_row = first_row
        self.items = [first.item]
        self.size = len(head) + len(first.item) + len(CLOSING)
        if self.size > MAX_OP_BYTES:
            raise RowRefused(
                TOO_LARGE,
                f"the relationship makes an op of {self.size} bytes; the limit is {MAX_OP_BYTES}: "
                "select fewer or shorter relationship attribute columns",
            )

    def takes(self, relationship: _Relationship) -> bool:
        """Whether the relationship joins this op: same person, same action, and room left."""
        return (
            relationship.key == self.key
            and relationship.action == self.action
            and self.size + 1 + len(relationship.item) <= MAX_OP_BYTES
        )

    def add(self, item: bytes) -> None:
        self.size += 1 + len(item)
        self.items.append(item)

    def op(self) -> Op:
        """The op; it names the person, or the relationship when it carries a single row."""
        body = self.head + b",".join(self.items) + CLOSING
        count = len(self.items)
        return Op(body, self.first_row, count, self.person if count > 1 else self.label, self.key)


class RelationshipOps:
    """``add_relationships`` and ``delete_relationships`` ops for a relationship query, grouped by person.

    :param plan: the query's column plan (``import_type="relationships"``).
    :param object_type_id: the type of objects in rows without an ``object_type_id`` column value.
    :param empty_values: NULL and empty relationship attributes: ``ignore`` leaves them out, ``delete``
        removes them from the relationship.
    """

    unique_keys = False

    def __init__(self, plan: ColumnPlan, object_type_id: str = "1", empty_values: EmptyValues = "ignore") -> None:
        assert plan.object_id_index is not None, "a relationship plan has an object_id column"
        self.identify_by = plan.identify_by
        self.person_index = plan.identifier_index
        self.object_id_index = plan.object_id_index
        self.type_index = plan.object_type_index
        self.deleted_index = plan.deleted_index
        self.columns = plan.attributes
        self.delete_empty = empty_values == "delete"
        self.default_type = object_type_text(object_type_id)
        self._group: _Group | None = None
        self._last_raw: Any = _NOTHING
        self._last_person: tuple[str, str] = ("", "")
        """The last person value read and what it gave: consecutive rows of one person check it once."""

    def build(self, rows: Sequence[Sequence[Any]], first_row: int) -> Iterator[Op | RowError]:
        """Ops and row errors in row order; the last run of rows is held back for the next block."""
        for row_number, row in enumerate(rows, first_row):
            try:
                relationship = self._relationship(row)
                group = self._group
                if group is not None and group.takes(relationship):
                    group.add(relationship.item)
                    continue
                started = _Group(relationship, self._head(relationship), row_number)
            except RowRefused as refused:
                if self._group is not None:
                    yield self._take()
                yield RowError(row_number, self._shown(row), refused.error_type, refused.message)
                continue
            if group is not None:
                yield self._take()
            self._group = started

    def finish(self) -> Iterator[Op | RowError]:
        """The last op, held back until the rows ran out."""
        if self._group is not None:
            yield self._take()

    def split(self, op: Op, refusal: OpError) -> list[Op]:
        """One op per row of a grouped op the workspace refused because of one of its relationships.

        Nothing of a refused op is applied, so the engine sends these instead and each row gets its
        own outcome. Returns ``[]`` when the refusal is about the person (or anything else that holds
        for every row): then each row of the op is reported with it. Safe to call from any thread.
        """
        if op.row_count < 2 or not (refusal.field.startswith(ITEM_FIELD) or refusal.reason == TOO_LARGE):
            return []
        document = orjson.loads(op.body)
        items = document.pop("cio_relationships")
        if len(items) != op.row_count:
            return []
        head = encode({**document, "cio_relationships": []})[: -len(CLOSING)]
        ops = []
        for offset, item in enumerate(items):
            identifiers = item["identifiers"]
            identifier = f"{op.identifier} -> {identifiers['object_type_id']}:{identifiers['object_id']}"
            body = head + orjson.dumps(item) + CLOSING
            ops.append(Op(body, op.first_row + offset, 1, identifier, op.key))
        return ops

    def _take(self) -> Op:
        group = self._group
        assert group is not None
        self._group = None
        return group.op()

    def _relationship(self, row: Sequence[Any]) -> _Relationship:
        """One row as a relationship to add or delete.

        :raises RowRefused: the row cannot be sent.
        """
        raw = row[self.person_index]
        if raw == self._last_raw and type(raw) is type(self._last_raw):
            person, key = self._last_person
        else:
            if self.identify_by == "email":
                person = email_text(raw)
                key = email_key(person)
            elif self.identify_by == "phone":
                person = key = phone_text(raw)
            else:
                person = key = identifier_text(raw, "id")
            self._last_raw, self._last_person = raw, (person, key)
        deleted = self.deleted_index is not None and is_deleted(row[self.deleted_index])
        object_type = object_type_of(row, self.type_index, self.default_type)
        object_id = identifier_text(row[self.object_id_index], "object_id")
        relationship: dict[str, Any] = {"identifiers": {"object_type_id": object_type, "object_id": object_id}}
        if not deleted:
            attributes = attribute_values(row, self.columns, self.delete_empty)
            if attributes:
                relationship["relationship_attributes"] = attributes
        return _Relationship(key, person, DELETE if deleted else ADD, object_type, object_id, encode(relationship))

    def _head(self, relationship: _Relationship) -> bytes:
        """The op's JSON up to its first relationship: ``{"type":"person",...,"cio_relationships":[``."""
        identifiers = {self.identify_by: relationship.person}
        op = {"type": "person", "identifiers": identifiers, "action": relationship.action, "cio_relationships": []}
        return encode(op)[: -len(CLOSING)]

    def _shown(self, row: Sequence[Any]) -> str:
        """How the error report names a row's relationship: ``<person> -> <object_type_id>:<object_id>``."""
        object_type = object_type_of(row, self.type_index, self.default_type, shown)
        return f"{shown(row[self.person_index])} -> {object_type}:{shown(row[self.object_id_index])}"
