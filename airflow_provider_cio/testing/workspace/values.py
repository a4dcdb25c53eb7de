"""The limits and value rules of the Track API, and :class:`ItemError`, the refusal of one op.

Nothing here holds state: these functions check and convert the JSON of one op (attributes,
identifiers, emails) and merge attribute changes, as every entity of the workspace does.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

MAX_OP_BYTES = 32_000
MAX_BATCH_BYTES = 500_000
MAX_IDENTIFIER_BYTES = 150
MAX_NAME_BYTES = 150
MAX_VALUE_BYTES = 1000
MAX_ATTRIBUTES = 300
MAX_ATTRIBUTE_BYTES = 100_000
MAX_SEGMENT_IDS = 1000

SUPPRESSED_REASON = "person is suppressed"
CONFLICT_REASON = "The identifier is already associated with a different profile."

PERSON_IDENTIFIER_KINDS = ("id", "email", "cio_id")
OBJECT_IDENTIFIER_KEYS = frozenset({"object_type_id", "object_id"})


# A string of at most this many characters cannot exceed the byte limit, whatever its characters
# (UTF-8 needs at most 4 bytes a character); longer ones are measured by encoding them.
_SAFE_NAME_CHARS = MAX_NAME_BYTES // 4
_SAFE_VALUE_CHARS = MAX_VALUE_BYTES // 4
SAFE_IDENTIFIER_CHARS = MAX_IDENTIFIER_BYTES // 4

ABSENT: Any = object()  # an identifier attribute the op does not mention


# --- RFC 5322 addr-spec, with the RFC 6531/6532 internationalised extensions --------------------------
_NON_ASCII = "\u0080-\U0010ffff"  # RFC 6532 UTF8-non-ascii: allowed wherever atext, qtext, dtext are
_WSP = r" \t"  # white space, allowed inside quoted strings and domain literals
_VCHAR = r"\x21-\x7e"  # printable ASCII
_QTEXT = r"\x21\x23-\x5b\x5d-\x7e"  # printable ASCII but " and \
_DTEXT = r"\x21-\x5a\x5e-\x7e"  # printable ASCII but [ \ ]
_ATEXT = rf"[A-Za-z0-9!#$%&'*+/=?^_`{{|}}~{_NON_ASCII}-]"
_DOT_ATOM = rf"{_ATEXT}+(?:\.{_ATEXT}+)*"
_QUOTED_STRING = rf'"(?:[{_WSP}{_QTEXT}{_NON_ASCII}]|\\[{_WSP}{_VCHAR}{_NON_ASCII}])*"'
_DOMAIN_LITERAL = rf"\[[{_WSP}{_DTEXT}{_NON_ASCII}]*\]"
_ADDR_SPEC = re.compile(rf"(?:{_DOT_ATOM}|{_QUOTED_STRING})@(?:{_DOT_ATOM}|{_DOMAIN_LITERAL})")
# Most addresses are plain ASCII dot-atoms: a strict subset of _ADDR_SPEC that matches much faster.
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")
POSITIVE_INTEGER = re.compile("[1-9][0-9]*")
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")
"""The workspace's phone rule, the sync's too (``sync/records/phones.py``, kept apart so that each checks the
other: ``tests/unit/test_phones_and_update_only.py`` compares them)."""


def is_valid_email(address: str) -> bool:
    """Whether ``address`` is an RFC 5322 ``addr-spec``: ``local-part@domain``.

    - local part: a dot-atom (``jane.doe+tag``: runs of atext joined by single dots) or a
      quoted-string (``"jane doe"@example.com``, with ``\\`` escapes);
    - domain: a dot-atom (``example.com``; a single label such as ``localhost`` is valid too) or a
      domain-literal (``[192.0.2.1]``);
    - RFC 6531/6532 (internationalised email): any non-ASCII character counts as atext, qtext and
      dtext, so ``jöran@bücher.example`` and ``用户@例子.广告`` are valid.

    Not accepted: comments and folding white space around the parts, and the obsolete syntax of
    RFC 5322 section 4 (``obs-local-part`` and friends), which no sender needs.
    """
    return _PLAIN_ADDRESS.fullmatch(address) is not None or _ADDR_SPEC.fullmatch(address) is not None


def is_e164(number: str) -> bool:
    """Whether ``number`` is E.164: a ``+``, then 2 to 15 digits, the first one not 0."""
    return _E164.fullmatch(number) is not None


class ItemError(Exception):
    """One op refused by the workspace: becomes an item of the ``errors`` list of a 207 or 400."""

    def __init__(self, reason: str, field: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.field = field
        self.message = message

    def as_dict(self) -> dict[str, str]:
        """The ``{"reason", "field", "message"}`` part of an item error."""
        return {"reason": self.reason, "field": self.field, "message": self.message}


# --- values -----------------------------------------------------------------------------------------


def stored_value(value: Any) -> Any:
    """How the workspace shows an attribute value: scalars always as strings.

    ``42`` -> ``"42"``, ``2.5`` -> ``"2.5"`` (Python ``repr``, so ``3.0`` -> ``"3.0"``),
    ``true`` -> ``"true"``, strings unchanged; JSON objects and arrays as they came.
    """
    kind = type(value)
    if kind is str:
        return value
    if kind is int:
        return str(value)
    if kind is float:
        return repr(value)
    if kind is bool:
        return "true" if value else "false"
    return value


def stored_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``attributes`` with every value as the workspace shows it (:func:`stored_value`)."""
    return {name: stored_value(value) for name, value in attributes.items()}


def checked_attributes(attributes: Any, field: str, json_bytes: int | None = None) -> dict[str, Any]:
    """Validate the attributes of an op and return them (the same dict: the workspace keeps what it
    received, ``null`` and ``""`` meaning "remove", and converts values to strings when shown).

    Limits: at most 300 attributes, names of 1 to 150 bytes, values of at most 1000 bytes (strings
    by their UTF-8 length, JSON objects and arrays by their compact JSON length).

    This runs for every op of every batch, so the common case is settled with whole-dict builtins:
    a name of at most 37 characters cannot exceed 150 bytes, and when the compact JSON of something
    holding the attributes (``json_bytes``: the op's size, if known) is at most 1000 bytes, no value
    can exceed 1000 bytes. Only otherwise is each value measured.
    """
    if type(attributes) is not dict:
        raise ItemError("invalid", field, f"{field} must be a JSON object")
    if not attributes:
        return attributes
    if len(attributes) > MAX_ATTRIBUTES:
        raise ItemError(
            "too_large",
            field,
            f"an op may set at most {MAX_ATTRIBUTES} attributes; this one sets {len(attributes)}",
        )
    if max(map(len, attributes)) > _SAFE_NAME_CHARS or "" in attributes:
        for name in attributes:
            _check_attribute_name(name, field)
    if json_bytes is None or json_bytes > MAX_VALUE_BYTES:
        for name, value in attributes.items():
            _check_value_size(name, value, field)
    return attributes


def _check_value_size(name: str, value: Any, field: str) -> None:
    kind = type(value)
    if kind is str:
        too_long = len(value) > _SAFE_VALUE_CHARS and len(value.encode()) > MAX_VALUE_BYTES
    else:
        too_long = (kind is dict or kind is list) and len(orjson.dumps(value)) > MAX_VALUE_BYTES
    if too_long:
        raise ItemError(
            "too_large",
            f"{field}.{name}",
            f"value for attribute '{name}' cannot be longer than {MAX_VALUE_BYTES} bytes",
        )


def _check_attribute_name(name: str, field: str) -> None:
    if not name:
        raise ItemError("invalid", field, "attribute names cannot be empty")
    size = len(name.encode())
    if size > MAX_NAME_BYTES:
        raise ItemError(
            "too_large",
            field,
            f"attribute name '{name[:40]}...' is {size} bytes; the limit is {MAX_NAME_BYTES}",
        )


def identifier_text(value: Any, field: str) -> str:
    """An ``id`` or ``object_id``: a non-empty string or a number (made a string) of at most 150 bytes."""
    kind = type(value)
    if kind is str:
        text = value
    elif kind is int or kind is float:
        text = stored_value(value)
    elif value is None:
        raise ItemError("required", field, f"{field} is required")
    else:
        raise ItemError("invalid", field, f"{field} must be a string or a number")
    if not text:
        raise ItemError("required", field, f"{field} cannot be empty")
    if len(text) > SAFE_IDENTIFIER_CHARS and len(text.encode()) > MAX_IDENTIFIER_BYTES:
        raise ItemError("too_large", field, f"{field} cannot be longer than {MAX_IDENTIFIER_BYTES} bytes")
    return text


def email_text(value: Any, field: str) -> str:
    """An email identifier or attribute: a string, an RFC 5322 address, at most 1000 bytes."""
    if type(value) is not str:
        raise ItemError("invalid", field, f"{field} must be a string holding an email address")
    if len(value) > _SAFE_VALUE_CHARS and len(value.encode()) > MAX_VALUE_BYTES:
        raise ItemError("too_large", field, f"{field} cannot be longer than {MAX_VALUE_BYTES} bytes")
    if not is_valid_email(value):
        raise ItemError("invalid", field, f"'{value}' is not a valid email address (RFC 5322)")
    return value


def merged_attributes(existing: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """A new dict: ``existing`` with ``changes`` applied (``null`` and ``""`` remove)."""
    merged = dict(existing)
    merge_into(merged, changes)
    return merged


def merge_into(attributes: dict[str, Any], changes: dict[str, Any]) -> None:
    """Apply ``changes`` to ``attributes`` in place: keys left out are untouched, ``null`` and ``""``
    remove the attribute."""
    if not has_removals(changes):
        attributes.update(changes)
        return
    for name, value in changes.items():
        if value is None or value == "":
            attributes.pop(name, None)
        else:
            attributes[name] = value


def has_removals(changes: dict[str, Any]) -> bool:
    """Whether any value is ``null`` or ``""`` (which remove an attribute)."""
    values = changes.values()
    return None in values or "" in values


def checked_merge(existing: dict[str, Any], changes: dict[str, Any], field: str, holder: str) -> dict[str, Any]:
    """Merge the attributes of an object or relationship, refusing more than 300 of them or more
    than 100 kB (compact JSON of the attributes as the workspace shows them, all scalars strings)."""
    merged = merged_attributes(existing, changes)
    if len(merged) > MAX_ATTRIBUTES:
        raise ItemError(
            "too_large",
            field,
            f"{holder} may have at most {MAX_ATTRIBUTES} attributes; this op leaves {len(merged)}",
        )
    size = len(orjson.dumps(stored_attributes(merged)))
    if size > MAX_ATTRIBUTE_BYTES:
        raise ItemError(
            "too_large",
            field,
            f"{holder} may hold at most {MAX_ATTRIBUTE_BYTES} bytes of attributes; this op leaves {size}",
        )
    return merged
