"""The in-memory state of an emulated Customer.io workspace, and every rule it applies.

This module has no HTTP in it: :class:`Workspace` takes already-parsed JSON (ops, attributes, segment
calls) and either applies it or raises :class:`ItemError` with the ``reason``/``field``/``message``
triple that the Track API puts in its per-item errors. ``server.py`` wraps it in HTTP.

The rules follow the project's reference page ``customerio-track-api.md``; the ones the reference
marks **[choice]** (not published by Customer.io) are implemented exactly as the reference states and
are listed in ``docs/emulator.md``. Everything here runs under the server's single lock, so nothing in
this module is thread-safe on its own.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
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
DEFAULT_SETTINGS: dict[str, Any] = {
    "identify_by": "both",
    "allow_email_update_by_id": False,
    "object_types": ["1"],
}

PERSON_IDENTIFIER_KINDS = ("id", "email", "cio_id")
OBJECT_IDENTIFIER_KEYS = frozenset({"object_type_id", "object_id"})

# A string of at most this many characters cannot exceed the byte limit, whatever its characters
# (UTF-8 needs at most 4 bytes a character); longer ones are measured by encoding them.
_SAFE_NAME_CHARS = MAX_NAME_BYTES // 4
_SAFE_VALUE_CHARS = MAX_VALUE_BYTES // 4
_SAFE_IDENTIFIER_CHARS = MAX_IDENTIFIER_BYTES // 4

_ABSENT: Any = object()  # an identifier attribute the op does not mention
_activity_ids = itertools.count(1)  # unique for the life of the process, across resets

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
_POSITIVE_INTEGER = re.compile("[1-9][0-9]*")


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


class SegmentNotFound(LookupError):
    """A manual segment id that the workspace does not have."""


@dataclass(slots=True)
class Person:
    """A profile. ``id`` and ``email`` are the identifiers; ``attributes`` holds every other attribute."""

    cio_id: str
    id: str | None
    email: str | None
    attributes: dict[str, Any] = dataclasses.field(default_factory=dict)

    def identifiers(self) -> dict[str, str | None]:
        """``{"id", "email", "cio_id"}`` as the activity log and the admin endpoints show them."""
        return {"id": self.id, "email": self.email, "cio_id": self.cio_id}


@dataclass(slots=True)
class Segment:
    """A manual segment; ``members`` holds cio_ids in the order they were added (a dict as ordered set)."""

    id: int
    name: str
    description: str
    members: dict[str, None] = dataclasses.field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """The segment as the App API returns it."""
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "type": "manual",
            "state": "finished",
            "progress": None,
        }


ObjectKey = tuple[str, str]  # (object_type_id, object_id)


@dataclass(slots=True)
class _PersonLinks:
    """The people named by an object op's ``cio_relationships``; ``None`` for a skipped person."""

    people: list[tuple[Person | None, dict[str, Any]]] = dataclasses.field(default_factory=list)
    suppressed: list[tuple[str, str]] = dataclasses.field(default_factory=list)  # (identifier kind, value)


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
    if len(text) > _SAFE_IDENTIFIER_CHARS and len(text.encode()) > MAX_IDENTIFIER_BYTES:
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


# --- the workspace ----------------------------------------------------------------------------------


class Workspace:
    """People, objects, relationships, manual segments, suppressions and the activity log of one workspace.

    Apply Track API ops with :meth:`apply_op` (one op; raises :class:`ItemError`) or
    :meth:`apply_batch` (returns the item errors). Each op is validated completely before any of it
    is applied, so a refused op changes nothing.
    """

    def __init__(self) -> None:
        self.settings: dict[str, Any] = {
            **DEFAULT_SETTINGS,
            "object_types": list(DEFAULT_SETTINGS["object_types"]),
        }
        self._people: dict[str, Person] = {}  # by cio_id, in creation order
        self._people_by_id: dict[str, Person] = {}
        self._people_by_email: dict[str, Person] = {}  # by lower-cased email
        self._cio_ids = itertools.count(1)
        self._objects: dict[ObjectKey, dict[str, Any]] = {}
        self._relationships: dict[tuple[str, str, str], dict[str, Any]] = {}  # (cio_id, type, object_id)
        self._objects_of_person: dict[str, set[ObjectKey]] = {}
        self._people_of_object: dict[ObjectKey, set[str]] = {}
        self._segments: dict[int, Segment] = {}
        self._segment_ids = itertools.count(1)
        self._suppressed_ids: set[str] = set()
        self._suppressed_emails: set[str] = set()  # lower-cased
        self.activities: list[dict[str, Any]] = []  # oldest first
        self.removals: list[dict[str, Any]] = []  # person/object delete and suppress ops applied, oldest first
        self._ids_allowed = True  # identify_by is not "email"
        self._actions = {
            ("person", "identify"): self._identify_person,
            ("person", "delete"): self._delete_person,
            ("person", "suppress"): self._suppress_person,
            ("person", "add_relationships"): self._add_person_relationships,
            ("person", "delete_relationships"): self._delete_person_relationships,
            ("object", "identify"): self._identify_object,
            ("object", "delete"): self._delete_object,
            ("object", "add_relationships"): self._add_object_relationships,
            ("object", "delete_relationships"): self._delete_object_relationships,
        }

    # --- settings ------------------------------------------------------------------------------------

    def update_settings(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Change some settings (``identify_by``, ``allow_email_update_by_id``, ``object_types``).

        Raises ``ValueError`` (and changes nothing) for an unknown key or a bad value. Returns all
        settings.
        """
        unknown = sorted(set(changes) - set(DEFAULT_SETTINGS))
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(unknown)}")
        updated = dict(self.settings)
        if "identify_by" in changes:
            if changes["identify_by"] not in ("id", "email", "both"):
                raise ValueError('identify_by must be "id", "email" or "both"')
            updated["identify_by"] = changes["identify_by"]
        if "allow_email_update_by_id" in changes:
            if type(changes["allow_email_update_by_id"]) is not bool:
                raise ValueError("allow_email_update_by_id must be true or false")
            updated["allow_email_update_by_id"] = changes["allow_email_update_by_id"]
        if "object_types" in changes:
            updated["object_types"] = _object_type_list(changes["object_types"])
        self.settings = updated
        self._ids_allowed = updated["identify_by"] != "email"
        return dict(updated)

    # --- ops -----------------------------------------------------------------------------------------

    def apply_batch(self, ops: list[Any]) -> list[dict[str, Any]]:
        """Apply the ops of a ``/api/v2/batch`` call; return the item errors, sorted by ``batch_index``.

        Each op may be at most 32,000 bytes of compact JSON. The workspace keeps the attribute dicts
        of the ops it applies: do not reuse them.
        """
        errors: list[dict[str, Any]] = []
        apply_op = self.apply_op
        dumps = orjson.dumps
        for index, op in enumerate(ops):
            try:
                op_bytes = len(dumps(op))
                if op_bytes > MAX_OP_BYTES:
                    raise ItemError(
                        "too_large", "", f"an op may be at most {MAX_OP_BYTES} bytes of JSON; this one is {op_bytes}"
                    )
                apply_op(op, op_bytes)
            except ItemError as error:
                errors.append({"batch_index": index, **error.as_dict()})
        return errors

    def apply_op(self, op: Any, op_bytes: int | None = None) -> None:
        """Apply one op (``{"type", "identifiers", "action", ...}``) or raise :class:`ItemError`.

        ``op_bytes``, the op's compact JSON size when the caller measured it, spares measuring each
        attribute value of a small op.
        """
        if type(op) is not dict:
            raise ItemError("invalid", "", "an op must be a JSON object")
        kind, name = op.get("type"), op.get("action")
        action = self._actions.get((kind, name)) if type(kind) is str and type(name) is str else None
        if action is None:
            raise _unsupported_op(op)
        action(op, op_bytes)

    def identify_v1(self, identifier: str, attributes: Any) -> None:
        """``PUT /api/v1/customers/{identifier}``: the identifier is an email when it holds ``@`` and
        the workspace identifies people by email (``identify_by`` is ``email`` or ``both``), else an id."""
        self.apply_op(
            {
                "type": "person",
                "identifiers": {self._v1_identifier_kind(identifier): identifier},
                "action": "identify",
                "attributes": attributes,
            }
        )

    def delete_v1(self, identifier: str) -> None:
        """``DELETE /api/v1/customers/{identifier}``: delete the person, if there is one."""
        self.apply_op(
            {
                "type": "person",
                "identifiers": {self._v1_identifier_kind(identifier): identifier},
                "action": "delete",
            }
        )

    def _v1_identifier_kind(self, identifier: str) -> str:
        return "email" if "@" in identifier and self.settings["identify_by"] != "id" else "id"

    # --- people --------------------------------------------------------------------------------------

    def _identify_person(self, op: dict[str, Any], op_bytes: int | None) -> None:
        """Create or update a person, then set the relationships the op carries.

        Identity rules (a refused identifier change is a *conflict*: the op still succeeds, the other
        attributes are applied, and a ``failed_attribute_change`` activity records the refused value):

        - by ``id``, person found: an ``email`` attribute equal to its email (case-insensitively) is
          fine; if the person has no email it is set, unless another person has it (conflict); a
          different email replaces it only when the setting ``allow_email_update_by_id`` is on and
          nobody else has it, else conflict.
        - by ``id``, not found: if the ``email`` attribute belongs to a person without an id, that
          person gets this id (same cio_id); if it belongs to a person with another id, a new person
          is created without the email (conflict); otherwise a new person is created.
        - by ``email``, found: an ``id`` attribute is set when the person has none and nobody else has
          it (conflict if somebody does); a different id is a conflict. Not found: a new person with
          this email, the ``id`` attribute under the same rules.
        - by ``cio_id``: the person must exist (else item error ``not_found``); ``id`` and ``email``
          may change, unless another person has the value (conflict).
        - an ``id`` attribute that differs from the id the op identifies by, and any change of an
          identifier that is already set other than the ones above, is a conflict; ``null`` or ``""``
          on ``id``/``email`` is such a change (removing an identifier).
        - any op that names a suppressed id or email (as identifier or attribute) is ignored, with a
          ``person is suppressed`` activity.
        """
        by, key = self._person_identifiers(op.get("identifiers"), "identifiers")
        attributes = op.get("attributes")
        changes = checked_attributes(attributes, "attributes", op_bytes) if attributes is not None else {}
        requested_id = _requested_identifier(changes, "id", identifier_text)
        requested_email = _requested_identifier(changes, "email", email_text)
        relationships = op.get("cio_relationships")
        links = self._object_links(relationships, must_exist=True) if relationships is not None else []
        if (self._suppressed_ids or self._suppressed_emails) and self._ignore_suppressed(
            by, key, requested_id, requested_email
        ):
            return
        person = self._find_person(by, key)
        if person is None and by == "cio_id":
            raise ItemError("not_found", "identifiers.cio_id", f"no person has cio_id {key}")
        conflicts: list[tuple[str, Any]] = []
        if requested_id is not _ABSENT or requested_email is not _ABSENT:
            person, id_, email = self._settle_identity(by, key, person, requested_id, requested_email, conflicts)
        elif person is not None:
            id_, email = person.id, person.email
        else:
            id_, email = (key, None) if by == "id" else (None, key)
        if person is not None:
            _check_person_attribute_count(person.attributes, changes)
        link_attributes = self._merged_link_attributes(person, links) if links else []
        person = self._apply_identity(person, id_, email, changes)
        for (object_key, _), attributes_after in zip(links, link_attributes, strict=True):
            self._set_relationship(person.cio_id, object_key, attributes_after)
        for attribute, value in conflicts:
            self._record_activity(person.identifiers(), attribute, value, CONFLICT_REASON)

    def _settle_identity(
        self,
        by: str,
        key: str,
        person: Person | None,
        requested_id: Any,
        requested_email: Any,
        conflicts: list[tuple[str, Any]],
    ) -> tuple[Person | None, str | None, str | None]:
        """``(person or None to create, its id, its email)`` after the op's ``id``/``email`` attributes."""
        settle = self._settle_identifier
        if by == "cio_id":
            assert person is not None
            id_ = settle(person, "id", person.id, requested_id, True, conflicts)
            email = settle(person, "email", person.email, requested_email, True, conflicts)
            if id_ is None and email is None:  # a person keeps at least one of id and email
                conflicts += [(name, None) for name, value in (("id", person.id), ("email", person.email)) if value]
                id_, email = person.id, person.email
        elif by == "id":
            if person is None:
                person, email = self._email_for_new_id(requested_email, conflicts)
            else:
                allow = self.settings["allow_email_update_by_id"]
                email = settle(person, "email", person.email, requested_email, allow, conflicts)
            id_ = settle(person, "id", key, requested_id, False, conflicts)
        else:
            current_email = person.email if person is not None else key
            id_ = settle(person, "id", person.id if person is not None else None, requested_id, False, conflicts)
            email = settle(person, "email", current_email, requested_email, False, conflicts)
        return person, id_, email

    def _email_for_new_id(self, requested_email: Any, conflicts: list[tuple[str, Any]]) -> tuple[Person | None, Any]:
        """Identify by an unknown id: adopt the person who has the email and no id, or refuse the email."""
        if type(requested_email) is not str:
            return None, None
        holder = self._people_by_email.get(requested_email.lower())
        if holder is None:
            return None, requested_email
        if holder.id is None:
            return holder, holder.email
        conflicts.append(("email", requested_email))
        return None, None

    def _settle_identifier(
        self,
        person: Person | None,
        attribute: str,
        current: str | None,
        requested: Any,
        may_change: bool,
        conflicts: list[tuple[str, Any]],
    ) -> str | None:
        """The value an identifier ends up with; a refused request is appended to ``conflicts``."""
        if requested is _ABSENT:
            return current
        if requested is None:
            if current is None or may_change:
                return None
            conflicts.append((attribute, None))
            return current
        if current is not None and _same_identifier(attribute, current, requested):
            return current
        holder = (
            self._people_by_email.get(requested.lower()) if attribute == "email" else self._people_by_id.get(requested)
        )
        if (holder is not None and holder is not person) or (current is not None and not may_change):
            conflicts.append((attribute, requested))
            return current
        return requested

    def _apply_identity(
        self, person: Person | None, id_: str | None, email: str | None, changes: dict[str, Any]
    ) -> Person:
        """Create the person (``person`` is None) or update it: identifiers, then attributes."""
        if person is None:
            attributes = merged_attributes({}, changes) if has_removals(changes) else changes
            person = Person(f"c{next(self._cio_ids):011x}", id_, email, attributes)
            self._people[person.cio_id] = person
            if id_ is not None:
                self._people_by_id[id_] = person
            if email is not None:
                self._people_by_email[email.lower()] = person
            return person
        if id_ != person.id:
            if person.id is not None:
                del self._people_by_id[person.id]
            if id_ is not None:
                self._people_by_id[id_] = person
            person.id = id_
        if email != person.email:
            if person.email is not None:
                del self._people_by_email[person.email.lower()]
            if email is not None:
                self._people_by_email[email.lower()] = person
            person.email = email
        merge_into(person.attributes, changes)
        return person

    def _delete_person(self, op: dict[str, Any], op_bytes: int | None) -> None:
        by, key = self._person_identifiers(op.get("identifiers"), "identifiers")
        if self._ignore_suppressed(by, key, _ABSENT, _ABSENT):
            return
        person = self._find_person(by, key)
        self._record_removal("person", {by: key}, "delete", found=person is not None)
        if person is not None:
            self._remove_person(person)

    def _suppress_person(self, op: dict[str, Any], op_bytes: int | None) -> None:
        """``suppress``: delete the profile and block its identifiers (also when nobody has them yet)."""
        by, key = self._person_identifiers(op.get("identifiers"), "identifiers")
        person = self._find_person(by, key)
        self._record_removal("person", {by: key}, "suppress", found=person is not None)
        if by == "cio_id":
            if person is not None and person.id is not None:
                self.suppress(id=person.id)
            elif person is not None:
                self.suppress(email=person.email)
            return
        self.suppress(**{by: key})

    def _record_removal(self, kind: str, identifiers: dict[str, str], action: str, *, found: bool) -> None:
        self.removals.append({"type": kind, "identifiers": identifiers, "action": action, "found": found})

    def _add_person_relationships(self, op: dict[str, Any], op_bytes: int | None) -> None:
        by, key = self._person_identifiers(op.get("identifiers"), "identifiers")
        links = self._object_links(op.get("cio_relationships"), must_exist=True)
        if self._ignore_suppressed(by, key, _ABSENT, _ABSENT):
            return
        person = self._existing_person(by, key)
        for (object_key, _), attributes_after in zip(links, self._merged_link_attributes(person, links), strict=True):
            self._set_relationship(person.cio_id, object_key, attributes_after)

    def _delete_person_relationships(self, op: dict[str, Any], op_bytes: int | None) -> None:
        by, key = self._person_identifiers(op.get("identifiers"), "identifiers")
        links = self._object_links(op.get("cio_relationships"), must_exist=False)
        if self._ignore_suppressed(by, key, _ABSENT, _ABSENT):
            return
        person = self._existing_person(by, key)
        for object_key, _ in links:
            self._remove_relationship(person.cio_id, object_key)

    def _existing_person(self, by: str, key: str) -> Person:
        person = self._find_person(by, key)
        if person is None:
            raise ItemError("not_found", "identifiers", f"no person has {by} {key}")
        return person

    def _person_identifiers(self, identifiers: Any, field: str) -> tuple[str, str]:
        """``(kind, value)`` of a person's identifiers: exactly one of ``id``, ``email``, ``cio_id``."""
        if type(identifiers) is dict and len(identifiers) == 1:
            value = identifiers.get("id")
            if type(value) is str and 0 < len(value) <= _SAFE_IDENTIFIER_CHARS and self._ids_allowed:
                return "id", value  # the common case, settled without the checks below
        if type(identifiers) is not dict or len(identifiers) != 1:
            if not identifiers:
                raise ItemError("required", field, f"{field} must hold one of id, email, cio_id")
            raise ItemError("invalid", field, f"{field} must hold exactly one of id, email, cio_id")
        ((kind, value),) = identifiers.items()
        identify_by = self.settings["identify_by"]
        if kind == "id":
            if identify_by == "email":
                raise ItemError("invalid", f"{field}.id", "this workspace identifies people by email, not by id")
            return kind, identifier_text(value, f"{field}.id")
        if kind == "email":
            if identify_by == "id":
                raise ItemError("invalid", f"{field}.email", "this workspace identifies people by id, not by email")
            return kind, email_text(value, f"{field}.email")
        if kind == "cio_id":
            if type(value) is not str or not value:
                raise ItemError("invalid", f"{field}.cio_id", f"{field}.cio_id must be a non-empty string")
            return kind, value
        raise ItemError("invalid", field, f"{field} must hold one of id, email, cio_id, not {kind!r}")

    def _find_person(self, by: str, key: str) -> Person | None:
        if by == "id":
            return self._people_by_id.get(key)
        if by == "email":
            return self._people_by_email.get(key.lower())
        return self._people.get(key)

    def _remove_person(self, person: Person) -> None:
        del self._people[person.cio_id]
        if person.id is not None:
            del self._people_by_id[person.id]
        if person.email is not None:
            del self._people_by_email[person.email.lower()]
        for object_key in list(self._objects_of_person.get(person.cio_id, ())):
            self._remove_relationship(person.cio_id, object_key)
        for segment in self._segments.values():
            segment.members.pop(person.cio_id, None)

    # --- suppression ---------------------------------------------------------------------------------

    def suppress(self, *, id: str | None = None, email: str | None = None) -> None:
        """Suppress a person named by ``id`` or ``email``: delete the profile and block all its
        identifiers; when nobody has the identifier, block just that identifier."""
        if (id is None) == (email is None):
            raise ValueError('give exactly one of "id" and "email"')
        if id is not None:
            key = identifier_text(id, "id")
            person = self._people_by_id.get(key)
            self._suppressed_ids.add(key)
        else:
            key = email_text(email, "email")
            person = self._people_by_email.get(key.lower())
            self._suppressed_emails.add(key.lower())
        if person is not None:
            if person.id is not None:
                self._suppressed_ids.add(person.id)
            if person.email is not None:
                self._suppressed_emails.add(person.email.lower())
            self._remove_person(person)

    def _ignore_suppressed(self, by: str, key: str, requested_id: Any, requested_email: Any) -> bool:
        """Whether the op names a suppressed identifier; if so, record the ignored call as an activity."""
        ids, emails = self._suppressed_ids, self._suppressed_emails
        if not ids and not emails:
            return False
        hit = _suppressed_hit(ids, emails, by, key, requested_id, requested_email)
        if hit is None:
            return False
        used = {"id": None, "email": None, "cio_id": None, by: key}
        self._record_activity(used, hit[0], hit[1], SUPPRESSED_REASON)
        return True

    # --- objects -------------------------------------------------------------------------------------

    def _identify_object(self, op: dict[str, Any], op_bytes: int | None) -> None:
        key = self._object_key(op.get("identifiers"), "identifiers")
        attributes = op.get("attributes")
        changes = checked_attributes(attributes, "attributes", op_bytes) if attributes is not None else {}
        relationships = op.get("cio_relationships")
        links = self._person_links(relationships, must_exist=True) if relationships is not None else _PersonLinks()
        attributes_after = checked_merge(self._objects.get(key, {}), changes, "attributes", "an object")
        link_attributes = self._merged_person_link_attributes(key, links)
        self._objects[key] = attributes_after
        self._apply_person_links(key, links, link_attributes)

    def _delete_object(self, op: dict[str, Any], op_bytes: int | None) -> None:
        key = self._object_key(op.get("identifiers"), "identifiers")
        identifiers = {"object_type_id": key[0], "object_id": key[1]}
        self._record_removal("object", identifiers, "delete", found=key in self._objects)
        if self._objects.pop(key, None) is not None:
            for cio_id in list(self._people_of_object.get(key, ())):
                self._remove_relationship(cio_id, key)

    def _add_object_relationships(self, op: dict[str, Any], op_bytes: int | None) -> None:
        key = self._existing_object(op.get("identifiers"))
        links = self._person_links(op.get("cio_relationships"), must_exist=True)
        self._apply_person_links(key, links, self._merged_person_link_attributes(key, links))

    def _delete_object_relationships(self, op: dict[str, Any], op_bytes: int | None) -> None:
        key = self._existing_object(op.get("identifiers"))
        links = self._person_links(op.get("cio_relationships"), must_exist=False)
        for person, _ in links.people:
            if person is not None:
                self._remove_relationship(person.cio_id, key)
        self._record_suppressed_links(links)

    def _existing_object(self, identifiers: Any) -> ObjectKey:
        key = self._object_key(identifiers, "identifiers")
        if key not in self._objects:
            raise ItemError("not_found", "identifiers", f"no object {key[1]} of type {key[0]}")
        return key

    def _object_key(self, identifiers: Any, field: str) -> ObjectKey:
        """``(object_type_id, object_id)``: the type must be a listed object type, the id 1 to 150 bytes."""
        if type(identifiers) is not dict:
            reason = "required" if identifiers is None else "invalid"
            raise ItemError(reason, field, f"{field} must hold object_type_id and object_id")
        unknown = set(identifiers) - OBJECT_IDENTIFIER_KEYS
        if unknown:
            raise ItemError(
                "invalid",
                f"{field}.{min(unknown)}",
                "object identifiers take only object_type_id and object_id",
            )
        type_id = self._object_type(identifiers.get("object_type_id"), f"{field}.object_type_id")
        return type_id, identifier_text(identifiers.get("object_id"), f"{field}.object_id")

    def _object_type(self, value: Any, field: str) -> str:
        if value is None:
            raise ItemError("required", field, f"{field} is required")
        text = str(value) if type(value) is int else value
        if type(text) is not str or not _POSITIVE_INTEGER.fullmatch(text):
            raise ItemError("invalid", field, f"{field} must be a string holding a positive integer")
        if text not in self.settings["object_types"]:
            raise ItemError("invalid", field, f"object type {text} does not exist")
        return text

    # --- relationships -------------------------------------------------------------------------------

    def _object_links(self, relationships: Any, *, must_exist: bool) -> list[tuple[ObjectKey, dict[str, Any]]]:
        """The ``cio_relationships`` of a person op: ``(object key, relationship attribute changes)``."""
        links = []
        for field, item in _relationship_items(relationships):
            key = self._object_key(item.get("identifiers"), f"{field}.identifiers")
            if must_exist and key not in self._objects:
                raise ItemError("not_found", f"{field}.identifiers", f"no object {key[1]} of type {key[0]}")
            links.append((key, _relationship_changes(item, field)))
        return links

    def _person_links(self, relationships: Any, *, must_exist: bool) -> _PersonLinks:
        """The ``cio_relationships`` of an object op: ``(person, relationship attribute changes)``.

        A suppressed person is skipped (``person`` is ``None``) and remembered, so that applying the
        op records the ignored relationship as an activity; an unknown person is an item error when
        ``must_exist``, else skipped too.
        """
        items = []
        for field, item in _relationship_items(relationships):
            by, key = self._person_identifiers(item.get("identifiers"), f"{field}.identifiers")
            items.append((field, by, key, _relationship_changes(item, field)))
        links = _PersonLinks()
        for field, by, key, changes in items:
            person = self._find_person(by, key)
            if person is None:
                if _suppressed_hit(self._suppressed_ids, self._suppressed_emails, by, key, _ABSENT, _ABSENT):
                    links.suppressed.append((by, key))
                elif must_exist:
                    raise ItemError("not_found", f"{field}.identifiers", f"no person has {by} {key}")
            links.people.append((person, changes))
        return links

    def _merged_link_attributes(
        self, person: Person | None, links: list[tuple[ObjectKey, dict[str, Any]]]
    ) -> list[dict[str, Any]]:
        """Relationship attributes after the op, for each object link of a person (validated first)."""
        cio_id = person.cio_id if person is not None else None
        return [
            checked_merge(
                self._relationships.get((cio_id, *object_key), {}) if cio_id else {},
                changes,
                f"cio_relationships[{index}].relationship_attributes",
                "a relationship",
            )
            for index, (object_key, changes) in enumerate(links)
        ]

    def _merged_person_link_attributes(self, object_key: ObjectKey, links: _PersonLinks) -> list[dict[str, Any] | None]:
        """Relationship attributes after the op, for each person link of an object (validated first)."""
        return [
            checked_merge(
                self._relationships.get((person.cio_id, *object_key), {}),
                changes,
                f"cio_relationships[{index}].relationship_attributes",
                "a relationship",
            )
            if person is not None
            else None
            for index, (person, changes) in enumerate(links.people)
        ]

    def _apply_person_links(
        self, object_key: ObjectKey, links: _PersonLinks, link_attributes: list[dict[str, Any] | None]
    ) -> None:
        for (person, _), attributes_after in zip(links.people, link_attributes, strict=True):
            if person is not None and attributes_after is not None:
                self._set_relationship(person.cio_id, object_key, attributes_after)
        self._record_suppressed_links(links)

    def _record_suppressed_links(self, links: _PersonLinks) -> None:
        for by, key in links.suppressed:
            self._ignore_suppressed(by, key, _ABSENT, _ABSENT)

    def _set_relationship(self, cio_id: str, object_key: ObjectKey, attributes: dict[str, Any]) -> None:
        self._relationships[(cio_id, *object_key)] = attributes
        self._objects_of_person.setdefault(cio_id, set()).add(object_key)
        self._people_of_object.setdefault(object_key, set()).add(cio_id)

    def _remove_relationship(self, cio_id: str, object_key: ObjectKey) -> None:
        if self._relationships.pop((cio_id, *object_key), None) is not None:
            self._objects_of_person[cio_id].discard(object_key)
            self._people_of_object[object_key].discard(cio_id)

    # --- segments ------------------------------------------------------------------------------------

    def create_segment(self, name: Any, description: Any = "") -> Segment:
        """Create a manual segment (App API ``POST /v1/segments``); ids count up from 1."""
        if type(name) is not str or not name.strip():
            raise ValueError("segment.name is required")
        if type(description) is not str:
            raise ValueError("segment.description must be a string")
        segment = Segment(next(self._segment_ids), name, description)
        self._segments[segment.id] = segment
        return segment

    def segments(self) -> list[Segment]:
        """All manual segments, oldest first."""
        return list(self._segments.values())

    def change_segment_members(self, segment_id: str, ids: Any, id_type: str, *, add: bool) -> None:
        """Add (or remove) people to a manual segment: ``ids`` are 1 to 1000 values of ``id_type``
        (``id``, ``email`` or ``cio_id``); values that match nobody are ignored.

        Raises :class:`SegmentNotFound` for an unknown segment, ``ValueError`` for a bad request.
        """
        segment = self._segments.get(int(segment_id)) if segment_id.isdecimal() else None
        if segment is None:
            raise SegmentNotFound(f"segment {segment_id} not found")
        if id_type not in PERSON_IDENTIFIER_KINDS:
            raise ValueError(f"id_type must be one of id, email, cio_id, not {id_type!r}")
        if type(ids) is not list or not 1 <= len(ids) <= MAX_SEGMENT_IDS:
            raise ValueError(f"ids must be a list of 1 to {MAX_SEGMENT_IDS} identifiers")
        for value in ids:
            key = str(value) if type(value) is int else value
            person = self._find_person(id_type, key) if type(key) is str and key else None
            if person is None:
                continue
            if add:
                segment.members[person.cio_id] = None
            else:
                segment.members.pop(person.cio_id, None)

    # --- activity log --------------------------------------------------------------------------------

    def _record_activity(self, identifiers: dict[str, Any], attribute: str, value: Any, reason: str) -> None:
        self.activities.append(
            {
                "id": f"act{next(_activity_ids):010d}",
                "type": "failed_attribute_change",
                "timestamp": int(time.time()),
                "customer_identifiers": identifiers,
                "data": {"attribute": attribute, "value": value, "reason": reason},
            }
        )

    def activity_page(self, *, type: str | None, limit: int, start: str) -> dict[str, Any]:
        """One page of the activity log, newest first, as ``GET /v1/activities`` returns it.

        ``start`` is the ``next`` cursor of the previous page (``""`` for the first page); it is the
        position below which the page starts. Raises ``ValueError`` for a cursor it did not make.
        """
        if start and not (start.isdecimal() and int(start) <= len(self.activities)):
            raise ValueError(f"invalid start cursor {start!r}")
        position = int(start) if start else len(self.activities)
        page: list[dict[str, Any]] = []
        while position > 0:
            activity = self.activities[position - 1]
            if type is None or activity["type"] == type:
                if len(page) == limit:
                    return {"activities": page, "next": str(position)}
                page.append(activity)
            position -= 1
        return {"activities": page, "next": ""}

    # --- views for the admin endpoints ---------------------------------------------------------------

    def people(self) -> list[dict[str, Any]]:
        """Every person, in creation order: ``{"cio_id", "id", "email", "attributes"}``."""
        return [
            {"cio_id": p.cio_id, "id": p.id, "email": p.email, "attributes": stored_attributes(p.attributes)}
            for p in self._people.values()
        ]

    def objects(self) -> list[dict[str, Any]]:
        """Every object: ``{"object_type_id", "object_id", "attributes"}``."""
        return [
            {"object_type_id": type_id, "object_id": object_id, "attributes": stored_attributes(attributes)}
            for (type_id, object_id), attributes in self._objects.items()
        ]

    def relationships(self) -> list[dict[str, Any]]:
        """Every person-object relationship: ``{"person", "object_type_id", "object_id", "attributes"}``."""
        return [
            {
                "person": {
                    "cio_id": cio_id,
                    "id": self._people[cio_id].id,
                    "email": self._people[cio_id].email,
                },
                "object_type_id": type_id,
                "object_id": object_id,
                "attributes": stored_attributes(attributes),
            }
            for (cio_id, type_id, object_id), attributes in self._relationships.items()
        ]

    def suppressions(self) -> dict[str, list[str]]:
        """The suppressed identifiers: ``{"ids": [...], "emails": [...]}`` (emails in lower case), sorted."""
        return {"ids": sorted(self._suppressed_ids), "emails": sorted(self._suppressed_emails)}

    def segment_members(self) -> list[dict[str, Any]]:
        """Every manual segment with its members (cio_ids in the order they were added)."""
        return [
            {
                "id": s.id,
                "name": s.name,
                "description": s.description,
                "type": "manual",
                "members": list(s.members),
            }
            for s in self._segments.values()
        ]


# --- helpers ----------------------------------------------------------------------------------------


def _unsupported_op(op: dict[str, Any]) -> ItemError:
    kind, action = op.get("type"), op.get("action")
    if kind is None:
        return ItemError("required", "type", 'type is required ("person" or "object")')
    if kind not in ("person", "object"):
        return ItemError("invalid", "type", f'type must be "person" or "object", not {kind!r}')
    if action is None:
        return ItemError("required", "action", "action is required")
    return ItemError("invalid", "action", f"the emulator does not support action {action!r} on a {kind}")


def _requested_identifier(attributes: dict[str, Any], name: str, check: Callable[[Any, str], str]) -> Any:
    """Take the ``id`` or ``email`` attribute out of a person op's attributes (a person keeps them as
    identifiers, not attributes): ``_ABSENT`` when the op does not set it, ``None`` for a removal
    (``null`` or ``""``), else the checked value."""
    if name not in attributes:
        return _ABSENT
    value = attributes.pop(name)
    if value is None or value == "":
        return None
    return check(value, f"attributes.{name}")


def _same_identifier(attribute: str, current: str, requested: str) -> bool:
    return current.lower() == requested.lower() if attribute == "email" else current == requested


def _suppressed_hit(
    ids: set[str], emails: set[str], by: str, key: str, requested_id: Any, requested_email: Any
) -> tuple[str, str] | None:
    """The first suppressed identifier an op names, as ``(attribute, value)``, or ``None``."""
    if (by == "id" and key in ids) or (by == "email" and key.lower() in emails):
        return by, key
    if type(requested_id) is str and requested_id in ids:
        return "id", requested_id
    if type(requested_email) is str and requested_email.lower() in emails:
        return "email", requested_email
    return None


def _check_person_attribute_count(existing: dict[str, Any], changes: dict[str, Any]) -> None:
    if len(existing) + len(changes) <= MAX_ATTRIBUTES:
        return
    count = len(merged_attributes(existing, changes))
    if count > MAX_ATTRIBUTES:
        raise ItemError(
            "too_large",
            "attributes",
            f"a person may have at most {MAX_ATTRIBUTES} attributes; this op leaves {count}",
        )


def _relationship_items(relationships: Any) -> list[tuple[str, dict[str, Any]]]:
    """``(field, item)`` for each item of ``cio_relationships``, which must be a list of objects."""
    if type(relationships) is not list:
        reason = "required" if relationships is None else "invalid"
        raise ItemError(reason, "cio_relationships", "cio_relationships must be a list")
    items = []
    for index, item in enumerate(relationships):
        field = f"cio_relationships[{index}]"
        if type(item) is not dict:
            raise ItemError("invalid", field, f"{field} must be a JSON object")
        items.append((field, item))
    return items


def _relationship_changes(item: dict[str, Any], field: str) -> dict[str, Any]:
    attributes = item.get("relationship_attributes")
    if attributes is None:
        return {}
    return checked_attributes(attributes, f"{field}.relationship_attributes")


def _object_type_list(value: Any) -> list[str]:
    if type(value) is not list:
        raise ValueError("object_types must be a list of positive integers as strings")
    types = []
    for item in value:
        text = str(item) if type(item) is int else item
        if type(text) is not str or not _POSITIVE_INTEGER.fullmatch(text):
            raise ValueError(f"object type {item!r} is not a positive integer")
        types.append(text)
    return types
