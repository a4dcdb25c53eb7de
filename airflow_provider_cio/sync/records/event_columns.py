"""A block of event rows -> ops, a column at a time: the fast path of ``EventOps``.

It takes a block when every value is simple, as in ``ColumnarPeople``: the person column holds only
integer ids, valid email addresses or E.164 numbers (as ``identify_by`` says); every attribute column only
integers or only non-empty strings; and

- ``event_id`` holds only integers, or only non-empty strings of at most 150 bytes with nothing JSON
  escapes (no quote, backslash or control character) and not only spaces;
- ``name``, when the query has it, holds only such strings of at most 100 bytes (else the sync's
  ``event_name`` is every row's name);
- ``timestamp``, when the query has it, holds only whole Unix seconds from 1970 on (a DATETIME column the
  sync converted a column at a time is such a column).

Each column is encoded once (``orjson.dumps`` of all its values, split into the values), each ULID is made
from the encoded name and ``event_id`` (with nothing escaped, JSON text is the UTF-8 the ULID hashes) and
all ULIDs of the block are written in one base-32 encoding; each op is one ``bytes %`` of the template of
:class:`~airflow_provider_cio.sync.records.event_body.EventEncoder`, the encoder of the row path too. The
bytes are those of the row path (``tests/unit/test_event_columns.py`` compares them); a block it cannot
take whole goes row by row, where each row gets its own outcome.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, overload

import orjson

from airflow_provider_cio.sync.limits import (
    MAX_EVENT_NAME_BYTES,
    MAX_IDENTIFIER_BYTES,
)
from airflow_provider_cio.sync.records.encoded import OpBlock
from airflow_provider_cio.sync.records.event_body import EventEncoder
from airflow_provider_cio.sync.records.people_columns import (
    INTEGERS,
    STRINGS,
    attribute_slots,
    encoded_values,
    filled_bodies,
    simple_emails,
)
from airflow_provider_cio.sync.records.phones import all_valid_phones
from airflow_provider_cio.sync.records.ulid import MAX_TIME_MS, encoded_ulids, event_digest, event_digests


@dataclass(frozen=True)
class EventColumns:
    """Where an events query's columns are in a row.

    :param identifier: the person column.
    :param event_id: the ``event_id`` column.
    :param name: the ``name`` column, if any.
    :param timestamp: the ``timestamp`` column, if any.
    :param attributes: ``(name, position)`` of each event data column, in the order they are sent.
    """

    identifier: int
    event_id: int
    name: int | None
    timestamp: int | None
    attributes: tuple[tuple[str, int], ...]


class ColumnarEvents:
    """Builds the ``event`` ops of whole blocks of simple event rows.

    :param encoder: the sync's event op encoder (its ``identify_by``).
    :param columns: where the query's columns are.
    :param event_name: the name of every event when the query has no ``name`` column.
    """

    def __init__(self, encoder: EventEncoder, columns: EventColumns, event_name: str | None) -> None:
        self.encoder = encoder
        self.where = columns
        self.names = tuple(name for name, _ in columns.attributes)
        self.indexes = tuple(index for _, index in columns.attributes)
        self.event_name = event_name
        self._templates: dict[tuple[type, ...], tuple[bytes, int]] = {}

    def ops(self, columns: Sequence[Sequence[Any]], first_row: int) -> OpBlock | None:
        """The ops of a block given as its columns (the first row is row number ``first_row``), or None when
        the block is not simple.

        The caller has checked that every attribute column holds only integers or only non-empty strings
        (``AttributeReader.simple_types``).
        """
        where, identify_by = self.where, self.encoder.identify_by
        people = columns[where.identifier]
        if not simple_people(identify_by, people):
            return None
        timestamps = None if where.timestamp is None else columns[where.timestamp]
        if timestamps is not None and not unix_seconds(timestamps):
            return None
        attribute_columns = [columns[index] for index in self.indexes]
        kinds = tuple(type(column[0]) for column in attribute_columns)
        try:
            event_ids, event_id_texts = self._event_ids(columns[where.event_id])
            names = self._names(columns)
            if event_ids is None or names is None:
                return None
            encoded_people = encoded_values(people, INTEGERS if identify_by == "id" else STRINGS)
            encoded = [encoded_values(column, kind) for column, kind in zip(attribute_columns, kinds, strict=True)]
        except orjson.JSONEncodeError:  # an integer over 64 bits, a lone surrogate: the row path says which row
            return None
        slots: list[Sequence[bytes]] = [encoded_people]
        if isinstance(names, bytes):  # the sync's event_name: in the template
            digests = event_digests(names + b"\0", event_ids)
        else:
            digests = [event_digest(name + b"\0", event_id) for name, event_id in zip(names, event_ids, strict=True)]
            slots.append(names)
        slots.append(encoded_ulids(timestamps, digests))
        template, fixed = self._templates.get(kinds) or self._template(kinds)
        if timestamps is not None:
            slots.append(encoded_values(timestamps, INTEGERS))
        bodies = filled_bodies(template, fixed, slots, encoded, kinds)
        if bodies is None:
            return None
        if identify_by == "email":
            keys, shown_people = [person.lower() for person in people], people
        elif identify_by == "phone":
            keys = shown_people = list(people)
        else:  # an integer's JSON is its str(): one decode for the block
            keys = shown_people = b",".join(encoded_people).decode().split(",")
        shown = EventSubjects(shown_people, event_id_texts)
        return OpBlock(bodies, range(first_row, first_row + len(bodies)), shown, keys)

    def _event_ids(self, column: Sequence[Any]) -> tuple[list[bytes] | None, Sequence[str]]:
        """The ``event_id`` column as UTF-8 (its JSON) and as text, or None when it is not simple."""
        kinds = set(map(type, column))
        if kinds == {INTEGERS}:
            encoded = encoded_values(column, INTEGERS)
            return encoded, b",".join(encoded).decode().split(",")
        if kinds != {STRINGS} or "" in column or any(map(str.isspace, column)):
            return None, ()
        texts = unescaped_texts(column)
        if texts is None or max(map(len, texts)) > MAX_IDENTIFIER_BYTES:
            return None, ()
        return texts, column

    def _names(self, columns: Sequence[Sequence[Any]]) -> bytes | list[bytes] | None:
        """Every row's name as UTF-8: the sync's ``event_name`` (one ``bytes`` for all), or the ``name``
        column's values; None when the block has names the row path must look at."""
        if self.where.name is None:
            return None if self.event_name is None else self.event_name.encode()
        column = columns[self.where.name]
        if set(map(type, column)) != {STRINGS} or "" in column:
            return None
        encoded = unescaped_texts(column)
        if encoded is None or max(map(len, encoded)) > MAX_EVENT_NAME_BYTES:
            return None
        return encoded

    def _template(self, kinds: tuple[type, ...]) -> tuple[bytes, int]:
        """The op of a row of a block whose attribute columns are of ``kinds``, as a ``bytes %`` template,
        with the length of its fixed part (an op is that plus its values)."""
        timestamped, named = self.where.timestamp is not None, self.where.name is None
        name = orjson.dumps(self.event_name)[1:-1] if named else None  # as JSON text, which may escape
        data = b"{" + attribute_slots(self.names, kinds) + b"}"
        template = self.encoder.template(timestamped=timestamped, data=data, name=name)
        slots = 3 - named + timestamped + len(kinds)
        self._templates[kinds] = template, len(template % ((b"",) * slots))
        return self._templates[kinds]


class EventSubjects(Sequence[str]):
    """How the error report names the ops of a block (``42: event 1001``), each made only when it is read:
    most ops are never named.

    :param people: the person of each op, as shown.
    :param event_ids: the ``event_id`` of each op, as text.
    """

    __slots__ = ("event_ids", "people")

    def __init__(self, people: Sequence[str], event_ids: Sequence[str]) -> None:
        self.people = people
        self.event_ids = event_ids

    def __len__(self) -> int:
        return len(self.people)

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> EventSubjects: ...

    def __getitem__(self, index: int | slice) -> str | EventSubjects:
        if isinstance(index, slice):
            return EventSubjects(self.people[index], self.event_ids[index])
        return f"{self.people[index]}: event {self.event_ids[index]}"

    def __iter__(self) -> Iterator[str]:
        return map("{}: event {}".format, self.people, self.event_ids)


def simple_people(identify_by: str, column: Sequence[Any]) -> bool:
    """Whether a person column holds only integer ids, valid short emails or E.164 numbers (``identify_by``)."""
    if identify_by == "email":
        return simple_emails(column)
    if identify_by == "phone":
        return all_valid_phones(column)
    return set(map(type, column)) == {INTEGERS}


def unix_seconds(column: Sequence[Any]) -> bool:
    """Whether a ``timestamp`` column holds only whole Unix seconds a ULID's time part holds."""
    return set(map(type, column)) == {INTEGERS} and min(column) >= 0 and max(column) * 1000 <= MAX_TIME_MS


def unescaped_texts(column: Sequence[str]) -> list[bytes] | None:
    """The UTF-8 of a column of strings, from one ``orjson.dumps``; None when JSON escapes a character of one
    (a quote, a backslash, a control character) or one holds DEL: then the JSON is not the text.

    :raises orjson.JSONEncodeError: a string that is no valid text (a lone surrogate).
    """
    whole = orjson.dumps(column)
    if b"\\" in whole or b"\x7f" in whole:
        return None
    return whole[2:-2].split(b'","')
