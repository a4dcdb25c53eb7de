"""A block of people rows -> ops, a column at a time: the fast path of ``PeopleOps``.

It takes a block when every value is simple: the identifier column holds only integer ids (people by
``id``), only valid email addresses (people by ``email``) or only E.164 numbers (people by ``phone``),
and every attribute column holds only integers, only booleans or only non-empty strings (no NULL, no
``''``, no value to convert), as blocks of NOT NULL columns usually are, and no string is over the
1000-byte value limit. That is checked on the ops: when the longest op is short, no value in it can be long.

Each column is encoded once, with one ``orjson.dumps`` of all its values, and split into the encoded
values: inside a JSON string every ``"`` is escaped, so ``","`` only ever separates two strings. Each op
is then one ``bytes %`` of a template made for the block's columns. The bytes are exactly those of the
row-by-row path (``tests/unit/test_columnar_ops.py`` compares them on awkward text); any block it cannot take
whole (an invalid email, a number JSON cannot hold, an op over the size limit) goes row by row instead,
where each row gets its own outcome.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from airflow_provider_cio.sync.limits import MAX_ATTRIBUTE_VALUE_BYTES, MAX_OP_BYTES, PLAIN_STRING_CHARACTERS
from airflow_provider_cio.sync.records.emails import all_valid_emails, email_key
from airflow_provider_cio.sync.records.encoded import IDENTIFY_MIDDLE, PERSON_HEAD, OpBlock
from airflow_provider_cio.sync.records.phones import all_valid_phones

INTEGERS, STRINGS = int, str
UPDATE_ONLY = "_update"
"""The attribute that makes an identify op update a person who matches and create nobody."""


class ColumnarPeople:
    """Builds the ``identify`` ops of whole blocks of simple people rows.

    :param identify_by: ``id``, ``email`` or ``phone``.
    :param identifier_index: the position of the identifier column in a row.
    :param attributes: ``(name, position)`` of each attribute column, in the order the attributes are sent.
    :param update_only: every op ends its attributes with ``"_update": true``.
    """

    def __init__(
        self,
        identify_by: str,
        identifier_index: int,
        attributes: Sequence[tuple[str, int]],
        update_only: bool = False,
    ) -> None:
        self.identify_by = identify_by
        self.update_only = update_only
        self.identifier_index = identifier_index
        self.names = tuple(name for name, _ in attributes)
        self.indexes = tuple(index for _, index in attributes)
        self.email_index = next((index for name, index in attributes if name == "email"), None)
        self._templates: dict[tuple[type, ...], tuple[bytes, int]] = {}

    def ops(self, columns: Sequence[Sequence[Any]], first_row: int) -> OpBlock | None:
        """The ops of a block given as its columns (the first row is row number ``first_row``), or None when
        the block is not simple.

        The caller has checked that every attribute column holds only integers or only non-empty strings
        (``AttributeReader.simple_types``).
        """
        identifiers = columns[self.identifier_index]
        by_email, by_phone = self.identify_by == "email", self.identify_by == "phone"
        if by_email:
            if not simple_emails(identifiers):
                return None
        elif by_phone:
            if not all_valid_phones(identifiers):
                return None
        elif set(map(type, identifiers)) != {INTEGERS}:
            return None
        if self.email_index is not None and not all_valid_emails(columns[self.email_index]):
            return None
        attribute_columns = [columns[index] for index in self.indexes]
        kinds = tuple(type(column[0]) for column in attribute_columns)
        try:
            encoded_identifiers = encoded_values(identifiers, INTEGERS if self.identify_by == "id" else STRINGS)
            encoded = [encoded_values(column, kind) for column, kind in zip(attribute_columns, kinds, strict=True)]
        except orjson.JSONEncodeError:  # an integer over 64 bits, a lone surrogate: the row path says which row
            return None
        template, fixed = self._templates.get(kinds) or self._template(kinds)
        bodies = filled_bodies(template, fixed, [encoded_identifiers], encoded, kinds)
        if bodies is None:
            return None
        if by_email:
            keys = list(map(email_key, identifiers))
        elif by_phone:
            keys = list(identifiers)
        else:  # an integer's JSON is its str(): one decode for the block
            keys = b",".join(encoded_identifiers).decode().split(",")
        shown = list(identifiers) if by_email else keys
        return OpBlock(bodies, range(first_row, first_row + len(bodies)), shown, keys)

    def _template(self, kinds: tuple[type, ...]) -> tuple[bytes, int]:
        """The op of a row as a ``bytes %`` template (``%b`` for each encoded value, strings without quotes),
        with the length of its fixed part: an op is that plus its values."""
        attributes = attribute_slots(self.names, kinds)
        if self.update_only:
            attributes += (b"," if attributes else b"") + escaped(orjson.dumps({UPDATE_ONLY: True})[1:-1])
        identifiers = b'{"' + self.identify_by.encode() + b'":"%b"}'
        template = b"".join((escaped(PERSON_HEAD), identifiers, escaped(IDENTIFY_MIDDLE), b"{", attributes, b"}}"))
        self._templates[kinds] = template, len(template % ((b"",) * (len(kinds) + 1)))
        return self._templates[kinds]


def filled_bodies(
    template: bytes,
    fixed: int,
    slots: Sequence[Sequence[bytes]],
    encoded: Sequence[Sequence[bytes]],
    kinds: Sequence[type],
) -> list[bytes] | None:
    """The ops of a block: ``template`` filled with its ``slots`` (identifiers, ...) and its encoded attribute
    columns, or None when an op may break a limit (the row path then says which row and why).

    :param fixed: the template's own bytes, so that what is left of an op is its values.
    """
    bodies = [template % values for values in zip(*slots, *encoded, strict=True)]
    longest = max(map(len, bodies))
    if longest > MAX_OP_BYTES:
        return None
    if longest - fixed > MAX_ATTRIBUTE_VALUE_BYTES and any(
        max(map(len, values)) > MAX_ATTRIBUTE_VALUE_BYTES
        for values, kind in zip(encoded, kinds, strict=True)
        if kind is STRINGS
    ):  # a string's JSON is at least as long as its UTF-8: this one may be over the limit
        return None
    return bodies


def attribute_slots(names: Sequence[str], kinds: Sequence[type]) -> bytes:
    """The members of an attributes object as a ``bytes %`` template, without its braces: each name, then
    ``%b`` for its encoded value (in quotes for a column of strings, whose values come without them)."""
    return b",".join(
        escaped(orjson.dumps(name)) + (b':"%b"' if kind is STRINGS else b":%b")
        for name, kind in zip(names, kinds, strict=True)
    )


def encoded_values(column: Sequence[Any], kind: type) -> list[bytes]:
    """The JSON of each value of a column of only integers, only booleans, or only non-empty strings (without
    their quotes).

    :raises orjson.JSONEncodeError: a value JSON cannot hold.
    """
    if kind is STRINGS:
        return orjson.dumps(column)[2:-2].split(b'","')
    return orjson.dumps(column)[1:-1].split(b",")


def simple_emails(column: Sequence[Any]) -> bool:
    """Whether a column holds only valid email addresses of at most 250 characters (no size to check)."""
    return all_valid_emails(column) and max(map(len, column)) <= PLAIN_STRING_CHARACTERS


def escaped(part: bytes) -> bytes:
    """A fixed part of a template, with ``%`` doubled."""
    return part.replace(b"%", b"%%")
