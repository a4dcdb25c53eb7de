"""Rows -> ops: each row of a people or objects query becomes one JSON-encoded ``identify`` op.

A row that the workspace would refuse is caught here and becomes a :class:`RowError` instead of an op:
an empty or oversized identifier, an invalid email, a phone number that is not E.164, an attribute value
over its limit, a value that cannot be represented, an op over 32,000 bytes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from operator import itemgetter
from typing import Any, Literal, Protocol

import orjson

from airflow_provider_cio.sync.account.outcomes import (
    BINARY_VALUE,
    INVALID_EMAIL,
    INVALID_IDENTIFIER,
    INVALID_VALUE,
    MISSING_IDENTIFIER,
    TOO_LARGE,
    RowError,
    RowRefused,
)
from airflow_provider_cio.sync.blocks import columns_of
from airflow_provider_cio.sync.convert.columns import PERSON_IDENTIFIERS, AttributeColumn, ColumnPlan
from airflow_provider_cio.sync.convert.values import string_too_long
from airflow_provider_cio.sync.limits import (
    MAX_ATTRIBUTE_VALUE_BYTES,
    MAX_IDENTIFIER_BYTES,
    MAX_OP_BYTES,
    PLAIN_STRING_CHARACTERS,
)
from airflow_provider_cio.sync.records.emails import email_key, is_valid_email
from airflow_provider_cio.sync.records.encoded import IDENTIFY_MIDDLE, OBJECT_HEAD, PERSON_HEAD, Op
from airflow_provider_cio.sync.records.people_columns import UPDATE_ONLY, ColumnarPeople
from airflow_provider_cio.sync.records.phones import phone_text

EmptyValues = Literal["ignore", "delete"]
NONE_TYPE = type(None)
FULL, PLAIN, CHECKED = "full", "plain", "checked"
CONTROL_CHARACTERS = frozenset(chr(c) for c in [*range(0x20), 0x7F])


class OpBuilder(Protocol):
    """Turns blocks of rows into ops and row errors, in row order."""

    unique_keys: bool
    """Whether two ops with the same key in one sync are an error (people, objects)."""

    def build(self, rows: Sequence[Sequence[Any]], first_row: int) -> Iterable[Op | RowError]:
        """Ops and row errors for ``rows``, the first of which is row number ``first_row``: an iterator, or
        an :class:`~airflow_provider_cio.sync.records.encoded.OpBlock` when the whole block became ops of one row
        each (the engine batches it as it is)."""
        ...

    def finish(self) -> Iterator[Op | RowError]:
        """Ops still held back when the rows are exhausted (grouping builders)."""
        ...


def attribute_values(row: Sequence[Any], columns: Sequence[AttributeColumn], delete_empty: bool) -> dict[str, Any]:
    """The attributes of one row: converted values, empty ones left out or set to null.

    This runs for every column of every row: strings and integers (most values) take the short path.

    :raises RowRefused: a value cannot be sent; the message names the column, never the value.
    """
    attributes: dict[str, Any] = {}
    for column in columns:
        value = row[column.index]
        kind = type(value)
        if kind is str:
            if not value:
                if delete_empty:
                    attributes[column.name] = None
                continue
            if column.parse_text:
                value = converted(column, value)
                if value is None:  # JSON null: empty, like SQL NULL
                    if delete_empty:
                        attributes[column.name] = None
                    continue
            elif len(value) > MAX_ATTRIBUTE_VALUE_BYTES // 4 and string_too_long(value):
                raise RowRefused(TOO_LARGE, too_long_message(column.name))
        elif kind is not int:
            if value is None:
                if delete_empty:
                    attributes[column.name] = None
                continue
            value = converted(column, value)
            if value is None:  # JSON null as bytes (a BLOB column in json_columns): empty, like SQL NULL
                if delete_empty:
                    attributes[column.name] = None
                continue
        attributes[column.name] = value
    return attributes


def converted(column: AttributeColumn, value: Any) -> Any:
    """A value through its column's converter; a refusal names the column.

    A string the converter made (a ``SET``, a ``DECIMAL``, a JSON string...) is held to the attribute value
    limit, as a string read from the row is.
    """
    try:
        value = column.convert(value)
    except RowRefused as refused:
        raise RowRefused(refused.error_type, f"column {column.name!r} {refused.message}") from None
    if type(value) is str and len(value) > MAX_ATTRIBUTE_VALUE_BYTES // 4 and string_too_long(value):
        raise RowRefused(TOO_LARGE, too_long_message(column.name))
    return value


def too_long_message(column: str) -> str:
    """What a row error says of a string attribute over the value limit (never the value)."""
    return f"column {column!r} is over 1000 bytes; shorten it in the query"


class AttributeReader:
    """Reads the attributes of rows, a block at a time, on a fast path when a block is plain.

    A block is plain when every attribute column holds only integers and NULL, or only strings of at
    most 250 characters and NULL: no converter to run and no size to check, so a row's attributes are
    one ``dict(zip(names, values))``. The other blocks go value by value (:func:`attribute_values`).
    Both give the same attributes.

    :param columns: the attribute columns.
    :param delete_empty: NULL and ``''`` are sent as null (``delete``) or left out (``ignore``).
    :param never_null: attributes left out rather than sent as null (identifiers cannot be removed).
    """

    def __init__(self, columns: Sequence[AttributeColumn], delete_empty: bool, never_null: Sequence[str] = ()) -> None:
        self.columns = tuple(columns)
        self.names = tuple(column.name for column in columns)
        self.delete_empty = delete_empty
        self.never_null = frozenset(never_null)
        self.values_of = row_getter([column.index for column in columns])

    def reader_for(self, rows: Sequence[Sequence[Any]]) -> Callable[[Sequence[Any]], dict[str, Any]]:
        """How to read the attributes of each row of this block."""
        kind = self.block_kind(rows)
        if kind is FULL:
            return self.full
        return self.plain if kind is PLAIN else self.checked

    def block_kind(self, rows: Sequence[Sequence[Any]]) -> str:
        """``full``: plain and no empty value; ``plain``: integers, short strings and NULL; else ``checked``."""
        return self.columns_kind(columns_of(rows)) if rows else FULL

    def columns_kind(self, columns: Sequence[Sequence[Any]]) -> str:
        """:meth:`block_kind` of a block given as its columns (``columns[i]``: the values of column ``i``)."""
        empties = False
        for column in self.columns:
            if column.parse_text:
                return CHECKED
            values = columns[column.index]
            kinds = set(map(type, values))
            if NONE_TYPE in kinds:
                empties = True
                kinds.discard(NONE_TYPE)
            if kinds == {str}:
                if max(map(len, values if not empties else filter(None, values)), default=0) > PLAIN_STRING_CHARACTERS:
                    return CHECKED
                empties = empties or "" in values
            elif kinds and kinds != {int}:
                return CHECKED
        return PLAIN if empties else FULL

    def simple_types(self, columns: Sequence[Sequence[Any]]) -> bool:
        """Whether every attribute column of a block (given as its columns) holds only integers, only booleans
        (sent as JSON ``true``/``false``, as the row path sends them), only finite numbers (floats, or floats and
        integers: SQLite hands a ``NUMERIC`` column's ``2.0`` as ``2``), or only non-empty strings, and none holds
        JSON to parse: the values the column path (``ColumnarPeople``) takes, checking their sizes itself."""
        for column in self.columns:
            if column.parse_text:
                return False
            values = columns[column.index]
            kinds = set(map(type, values))
            if kinds == {str}:
                if "" in values:
                    return False
            elif kinds != {int} and kinds != {bool} and not finite_numbers(values, kinds):
                return False
        return True

    def full(self, row: Sequence[Any]) -> dict[str, Any]:
        """The attributes of a row of a block without empty values: one ``dict(zip())``."""
        return dict(zip(self.names, self.values_of(row), strict=False))

    def plain(self, row: Sequence[Any]) -> dict[str, Any]:
        """The attributes of a row of a plain block."""
        values = self.values_of(row)
        if None not in values and "" not in values:
            return dict(zip(self.names, values, strict=False))
        if not self.delete_empty:
            pairs = zip(self.names, values, strict=False)
            return {name: value for name, value in pairs if value is not None and value != ""}
        return {
            name: None if value == "" else value
            for name, value in zip(self.names, values, strict=False)
            if not (name in self.never_null and (value is None or value == ""))
        }

    def checked(self, row: Sequence[Any]) -> dict[str, Any]:
        """The attributes of any row, value by value (raises :class:`RowRefused`)."""
        attributes = attribute_values(row, self.columns, self.delete_empty)
        for name in self.never_null:
            if name in attributes and attributes[name] is None:
                del attributes[name]
        return attributes


def finite_numbers(values: Sequence[Any], kinds: set[type]) -> bool:
    """Whether a column of ``kinds`` holds only integers and floats, no float NaN or infinite (JSON cannot hold
    those; the row path refuses them)."""
    return (
        bool(kinds) and kinds <= {int, float} and all(math.isfinite(value) for value in values if type(value) is float)
    )


def row_getter(indexes: Sequence[int]) -> Callable[[Sequence[Any]], Sequence[Any]]:
    """A function that picks the values at ``indexes`` out of a row (a slice when they are contiguous)."""
    if not indexes:
        return lambda row: ()
    if list(indexes) == list(range(indexes[0], indexes[-1] + 1)):
        return itemgetter(slice(indexes[0], indexes[-1] + 1))
    return itemgetter(*indexes)


def identifier_text(value: Any, column: str) -> str:
    """An ``id`` or ``object_id`` value as the string the workspace keys on.

    :raises RowRefused: empty or only spaces, binary, over 150 bytes, or holding control characters.
    """
    kind = type(value)
    text: str
    if kind is str:
        text = value
    elif kind is int:
        text = str(value)
    elif value is None:
        text = ""
    elif isinstance(value, (bytes, bytearray, memoryview)):
        raise RowRefused(BINARY_VALUE, f"the {column} column holds binary data; use CAST({column} AS CHAR)")
    elif isinstance(value, Decimal):
        text = format(value, "f")
    elif isinstance(value, (int, float)):
        text = str(value)
    else:
        raise RowRefused(INVALID_IDENTIFIER, f"the {column} column holds a {kind.__name__}; cast it to text")
    if not text:
        raise RowRefused(MISSING_IDENTIFIER, f"the {column} column is empty")
    if len(text) * 4 > MAX_IDENTIFIER_BYTES and len(text.encode()) > MAX_IDENTIFIER_BYTES:
        raise RowRefused(TOO_LARGE, f"the {column} is over {MAX_IDENTIFIER_BYTES} bytes")
    if not CONTROL_CHARACTERS.isdisjoint(text):
        raise RowRefused(
            INVALID_IDENTIFIER,
            f"the {column} contains control characters (a tab, a line break, ...); remove them in the query, "
            f"e.g. REGEXP_REPLACE({column}, '[[:cntrl:]]', '')",
        )
    if text.isspace():
        raise RowRefused(MISSING_IDENTIFIER, f"the {column} column holds only spaces; leave such rows out, or trim it")
    return text


def plainly_valid_email(value: Any) -> bool:
    """Whether a value is a short string holding a valid address (the common case, checked fast)."""
    return type(value) is str and len(value) <= PLAIN_STRING_CHARACTERS and is_valid_email(value)


def email_text(value: Any, column: str = "email") -> str:
    """An email identifier or attribute, checked against RFC 5322."""
    if value is None or value == "":
        raise RowRefused(MISSING_IDENTIFIER, f"the {column} column is empty")
    if not isinstance(value, str):
        raise RowRefused(INVALID_EMAIL, f"the {column} column does not hold text")
    if len(value) > MAX_ATTRIBUTE_VALUE_BYTES // 4 and string_too_long(value):
        raise RowRefused(TOO_LARGE, f"the {column} column is over {MAX_ATTRIBUTE_VALUE_BYTES} bytes")
    if not is_valid_email(value):
        raise RowRefused(INVALID_EMAIL, f"the {column} column is not a valid email address (RFC 5322)")
    return value


UNWRITABLE = "a value cannot be written as JSON (invalid text or a number out of range)"


def within_op_limit(body: bytes) -> bytes:
    """An encoded op, refused when it is over the 32,000-byte op limit."""
    if len(body) > MAX_OP_BYTES:
        raise RowRefused(
            TOO_LARGE, f"the row makes an op of {len(body)} bytes; the limit is {MAX_OP_BYTES}: select fewer columns"
        )
    return body


def encode(op: dict[str, Any]) -> bytes:
    """An op as compact JSON, refused when it is over the 32,000-byte op limit."""
    try:
        body = orjson.dumps(op)
    except TypeError:
        raise RowRefused(INVALID_VALUE, UNWRITABLE) from None
    return bytes(memoryview(within_op_limit(body)))  # orjson's bytes keep a 4 KiB buffer: right-sized is 10x smaller


def identify_body(head: bytes, identifiers: dict[str, str], attributes: dict[str, Any]) -> bytes:
    """An ``identify`` op as compact JSON, refused when it is over the 32,000-byte op limit.

    The same bytes as :func:`encode` of ``{"type": ..., "identifiers": ..., "action": "identify",
    "attributes": ...}``, joined from parts: no nested dict to build, and a right-sized result.
    """
    try:
        body = b"".join((head, orjson.dumps(identifiers), IDENTIFY_MIDDLE, orjson.dumps(attributes), b"}"))
    except TypeError:
        raise RowRefused(INVALID_VALUE, UNWRITABLE) from None
    return within_op_limit(body)


def shown(value: Any) -> str:
    """An identifier as the error report shows it when it could not be used (shortened)."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 160 else text[:157] + "..."


class PeopleOps:
    """One ``identify`` op per row of a people query.

    :param plan: the query's column plan (``import_type="people"``).
    :param empty_values: ``ignore`` leaves NULL and empty attributes out; ``delete`` removes them. An
        empty ``email`` (or ``id``, or ``phone``) attribute is left out either way: an identify call cannot
        remove an identifier, the workspace would refuse it as a failed attribute change.
    :param update_only: every op carries ``"_update": true`` (the last attribute): the workspace updates
        the person who matches and creates nobody.
    """

    unique_keys = True

    def __init__(self, plan: ColumnPlan, empty_values: EmptyValues = "ignore", update_only: bool = False) -> None:
        self.identify_by = plan.identify_by
        self.update_only = update_only
        self.identifier_index = plan.identifier_index
        self.email_index = next((c.index for c in plan.attributes if c.name == "email"), None)
        identifiers = [c.name for c in plan.attributes if c.name in PERSON_IDENTIFIERS]
        self.attributes = AttributeReader(plan.attributes, empty_values == "delete", identifiers)
        self.columnar = ColumnarPeople(
            plan.identify_by, plan.identifier_index, [(c.name, c.index) for c in plan.attributes], update_only
        )

    def build(self, rows: Sequence[Sequence[Any]], first_row: int) -> Iterable[Op | RowError]:
        """An op or a row error for each row: a whole block at once (an ``OpBlock``) when its values are simple."""
        if not rows:
            return iter(())
        columns = columns_of(rows)
        ops = self.columnar.ops(columns, first_row) if self.attributes.simple_types(columns) else None
        return ops if ops is not None else self.row_by_row(rows, first_row, self.attributes.columns_kind(columns))

    def row_by_row(self, rows: Sequence[Sequence[Any]], first_row: int, kind: str) -> Iterator[Op | RowError]:
        """An op or a row error for each row, one row at a time (``kind``: the block's, from ``block_kind``)."""
        reader = self.attributes
        full, names, values_of = kind is FULL, reader.names, reader.values_of
        attributes_of = reader.plain if kind is PLAIN else reader.checked
        identify_by, update_only = self.identify_by, self.update_only
        by_email, by_phone = identify_by == "email", identify_by == "phone"
        identifier_index, email_index = self.identifier_index, self.email_index
        for row_number, row in enumerate(rows, first_row):
            raw = row[identifier_index]
            try:
                if by_email:
                    identifier = email_text(raw)
                    key = email_key(identifier)
                else:
                    if by_phone:
                        identifier = key = phone_text(raw)
                    else:
                        identifier = key = str(raw) if type(raw) is int else identifier_text(raw, "id")
                    if email_index is not None:
                        email = row[email_index]
                        if email and not plainly_valid_email(email):
                            email_text(email)  # refuses the row, saying why (or accepts a long valid address)
                attributes = dict(zip(names, values_of(row), strict=False)) if full else attributes_of(row)
                if update_only:
                    attributes[UPDATE_ONLY] = True
                body = identify_body(PERSON_HEAD, {identify_by: identifier}, attributes)
            except RowRefused as refused:
                yield RowError(row_number, shown(raw), refused.error_type, refused.message)
                continue
            yield Op(body, row_number, 1, identifier, key)

    def finish(self) -> Iterator[Op | RowError]:
        """People ops are never held back."""
        return iter(())


class ObjectOps:
    """One ``identify`` op per row of an objects query.

    :param plan: the query's column plan (``import_type="objects"``).
    :param object_type_id: the type of rows without an ``object_type_id`` column value.
    :param empty_values: ``ignore`` leaves NULL and empty attributes out; ``delete`` removes them.
    """

    unique_keys = True

    def __init__(self, plan: ColumnPlan, object_type_id: str = "1", empty_values: EmptyValues = "ignore") -> None:
        self.default_type = object_type_text(object_type_id)
        self.object_id_index = plan.identifier_index
        self.type_index = plan.object_type_index
        self.attributes = AttributeReader(plan.attributes, empty_values == "delete")

    def build(self, rows: Sequence[Sequence[Any]], first_row: int) -> Iterator[Op | RowError]:
        """An op or a row error for each row."""
        attributes_of = self.attributes.reader_for(rows)
        for row_number, row in enumerate(rows, first_row):
            raw = row[self.object_id_index]
            object_type = object_type_of(row, self.type_index, self.default_type, shown)  # as given, if refused
            try:
                object_type = object_type_of(row, self.type_index, self.default_type)
                object_id = identifier_text(raw, "object_id")
                identifiers = {"object_type_id": object_type, "object_id": object_id}
                body = identify_body(OBJECT_HEAD, identifiers, attributes_of(row))
            except RowRefused as refused:
                yield RowError(row_number, f"{object_type}:{shown(raw)}", refused.error_type, refused.message)
                continue
            identifier = f"{object_type}:{object_id}"
            yield Op(body, row_number, 1, identifier, identifier)

    def finish(self) -> Iterator[Op | RowError]:
        """Object ops are never held back."""
        return iter(())


def object_type_text(value: Any) -> str:
    """An object type id as the workspace wants it: a string holding a positive integer."""
    text = str(value).strip() if not isinstance(value, (bytes, bytearray)) else ""
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise RowRefused(INVALID_IDENTIFIER, "object_type_id must be a positive integer (object types start at 1)")
    return str(int(text))


def object_type_of(
    row: Sequence[Any], type_index: int | None, default: str, text: Callable[[Any], str] = object_type_text
) -> str:
    """A row's object type: its ``object_type_id`` column's value when the query has one and it is set, else
    the sync's ``default`` (the one home of that rule).

    :param text: how the column's value becomes the type: checked (default), as the error report shows it
        (``shown``) or as a mirror key holds it (``str``).
    :raises RowRefused: ``text`` refuses the column's value.
    """
    if type_index is None:
        return default
    value = row[type_index]
    return default if value is None or value == "" else text(value)
