"""People: identify, delete and suppress ops, the identity rules, and suppressions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from airflow_provider_cio.testing.workspace.records import Person
from airflow_provider_cio.testing.workspace.state import WorkspaceState
from airflow_provider_cio.testing.workspace.values import (
    ABSENT,
    CONFLICT_REASON,
    MAX_ATTRIBUTES,
    SAFE_IDENTIFIER_CHARS,
    SUPPRESSED_REASON,
    ItemError,
    checked_attributes,
    email_text,
    has_removals,
    identifier_text,
    is_e164,
    merge_into,
    merged_attributes,
    stored_attributes,
)


class PeopleMixin(WorkspaceState):
    """People and suppressions: the person ops of the Track API and the identity rules."""

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
        - ``phone`` (when the setting ``phone_identifiers`` is on; else it is an ordinary attribute)
          follows the same rules: set when the person has none and nobody else has it, changed or
          removed only by ``cio_id``, else a conflict.
        - any op that names a suppressed id or email (as identifier or attribute) is ignored, with a
          ``person is suppressed`` activity.
        - ``attributes._update: true`` (update only): a person who does not exist is not created, and
          the op is still accepted; ``_update`` is not stored.
        """
        by, key = self._person_identifiers(op.get("identifiers"), "identifiers")
        attributes = op.get("attributes")
        changes = checked_attributes(attributes, "attributes", op_bytes) if attributes is not None else {}
        update_only = _update_only(changes)
        requested_id = _requested_identifier(changes, "id", identifier_text)
        requested_email = _requested_identifier(changes, "email", email_text)
        requested_phone = (
            _requested_identifier(changes, "phone", phone_text) if self.settings["phone_identifiers"] else ABSENT
        )
        relationships = op.get("cio_relationships")
        links = self._object_links(relationships, must_exist=True) if relationships is not None else []
        if (self._suppressed_ids or self._suppressed_emails) and self._ignore_suppressed(
            by, key, requested_id, requested_email
        ):
            return
        person = self._find_person(by, key)
        if person is None and update_only:
            return
        if person is None and by == "cio_id":
            raise ItemError("not_found", "identifiers.cio_id", f"no person has cio_id {key}")
        conflicts: list[tuple[str, Any]] = []
        if requested_id is not ABSENT or requested_email is not ABSENT:
            person, id_, email = self._settle_identity(by, key, person, requested_id, requested_email, conflicts)
        elif person is not None:
            id_, email = person.id, person.email
        else:
            id_, email = (key if by == "id" else None), (key if by == "email" else None)
        current_phone = person.phone if person is not None else (key if by == "phone" else None)
        phone = self._settle_identifier(person, "phone", current_phone, requested_phone, by == "cio_id", conflicts)
        if person is not None:
            _check_person_attribute_count(person.attributes, changes)
        link_attributes = self._merged_link_attributes(person, links) if links else []
        person = self._apply_identity(person, id_, email, changes, phone)
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
        else:  # by email or phone
            current_email = person.email if person is not None else (key if by == "email" else None)
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
        if requested is ABSENT:
            return current
        if requested is None:
            if current is None or may_change:
                return None
            conflicts.append((attribute, None))
            return current
        if current is not None and _same_identifier(attribute, current, requested):
            return current
        if attribute == "email":
            holder = self._people_by_email.get(requested.lower())
        else:
            holder = (self._people_by_phone if attribute == "phone" else self._people_by_id).get(requested)
        if (holder is not None and holder is not person) or (current is not None and not may_change):
            conflicts.append((attribute, requested))
            return current
        return requested

    def _apply_identity(
        self, person: Person | None, id_: str | None, email: str | None, changes: dict[str, Any], phone: str | None
    ) -> Person:
        """Create the person (``person`` is None) or update it: identifiers, then attributes."""
        if person is None:
            attributes = merged_attributes({}, changes) if has_removals(changes) else changes
            person = Person(f"c{next(self._cio_ids):011x}", id_, email, attributes, phone)
            self._people[person.cio_id] = person
            if id_ is not None:
                self._people_by_id[id_] = person
            if email is not None:
                self._people_by_email[email.lower()] = person
            if phone is not None:
                self._people_by_phone[phone] = person
            return person
        if phone != person.phone:
            if person.phone is not None:
                del self._people_by_phone[person.phone]
            if phone is not None:
                self._people_by_phone[phone] = person
            person.phone = phone
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

    def _create_person(self, by: str, key: str) -> Person:
        return self._apply_identity(
            None,
            key if by == "id" else None,
            key if by == "email" else None,
            {},
            key if by == "phone" else None,
        )

    def _delete_person(self, op: dict[str, Any], op_bytes: int | None) -> None:
        by, key = self._person_identifiers(op.get("identifiers"), "identifiers")
        if self._ignore_suppressed(by, key, ABSENT, ABSENT):
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

    def _add_person_relationships(self, op: dict[str, Any], op_bytes: int | None) -> None:
        by, key = self._person_identifiers(op.get("identifiers"), "identifiers")
        links = self._object_links(op.get("cio_relationships"), must_exist=True)
        if self._ignore_suppressed(by, key, ABSENT, ABSENT):
            return
        person = self._existing_person(by, key)
        for (object_key, _), attributes_after in zip(links, self._merged_link_attributes(person, links), strict=True):
            self._set_relationship(person.cio_id, object_key, attributes_after)

    def _delete_person_relationships(self, op: dict[str, Any], op_bytes: int | None) -> None:
        by, key = self._person_identifiers(op.get("identifiers"), "identifiers")
        links = self._object_links(op.get("cio_relationships"), must_exist=False)
        if self._ignore_suppressed(by, key, ABSENT, ABSENT):
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
        """``(kind, value)`` of a person's identifiers: exactly one of ``id``, ``email``, ``phone``, ``cio_id``."""
        if type(identifiers) is dict and len(identifiers) == 1:
            value = identifiers.get("id")
            if type(value) is str and 0 < len(value) <= SAFE_IDENTIFIER_CHARS and self._ids_allowed:
                return "id", value  # the common case, settled without the checks below
        if type(identifiers) is not dict or len(identifiers) != 1:
            if not identifiers:
                raise ItemError("required", field, f"{field} must hold one of id, email, phone, cio_id")
            raise ItemError("invalid", field, f"{field} must hold exactly one of id, email, phone, cio_id")
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
        if kind == "phone":
            if not self.settings["phone_identifiers"]:
                raise ItemError(
                    "invalid",
                    f"{field}.phone",
                    "this workspace does not identify people by phone (emulator setting phone_identifiers)",
                )
            return kind, phone_text(value, f"{field}.phone")
        if kind == "cio_id":
            if type(value) is not str or not value:
                raise ItemError("invalid", f"{field}.cio_id", f"{field}.cio_id must be a non-empty string")
            return kind, value
        raise ItemError("invalid", field, f"{field} must hold one of id, email, phone, cio_id, not {kind!r}")

    def _find_person(self, by: str, key: str) -> Person | None:
        if by == "id":
            return self._people_by_id.get(key)
        if by == "email":
            return self._people_by_email.get(key.lower())
        if by == "phone":
            return self._people_by_phone.get(key)
        return self._people.get(key)

    def _remove_person(self, person: Person) -> None:
        del self._people[person.cio_id]
        if person.id is not None:
            del self._people_by_id[person.id]
        if person.email is not None:
            del self._people_by_email[person.email.lower()]
        if person.phone is not None:
            del self._people_by_phone[person.phone]
        self._forget_events(person.cio_id)
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
        hit = suppressed_hit(ids, emails, by, key, requested_id, requested_email)
        if hit is None:
            return False
        used = {"id": None, "email": None, "cio_id": None, by: key}
        self._record_activity(used, hit[0], hit[1], SUPPRESSED_REASON)
        return True

    def people(self) -> list[dict[str, Any]]:
        """Every person, in creation order: ``{"cio_id", "id", "email", "attributes"}``, and ``phone``
        when the person has one."""
        return [
            {
                "cio_id": p.cio_id,
                "id": p.id,
                "email": p.email,
                **({"phone": p.phone} if p.phone is not None else {}),
                "attributes": stored_attributes(p.attributes),
            }
            for p in self._people.values()
        ]

    def suppressions(self) -> dict[str, list[str]]:
        """The suppressed identifiers: ``{"ids": [...], "emails": [...]}`` (emails in lower case), sorted."""
        return {"ids": sorted(self._suppressed_ids), "emails": sorted(self._suppressed_emails)}


def _requested_identifier(attributes: dict[str, Any], name: str, check: Callable[[Any, str], str]) -> Any:
    """Take the ``id`` or ``email`` attribute out of a person op's attributes (a person keeps them as
    identifiers, not attributes): ``ABSENT`` when the op does not set it, ``None`` for a removal
    (``null`` or ``""``), else the checked value."""
    if name not in attributes:
        return ABSENT
    value = attributes.pop(name)
    if value is None or value == "":
        return None
    return check(value, f"attributes.{name}")


def _update_only(attributes: dict[str, Any]) -> bool:
    """Take ``_update`` out of an identify's attributes: whether the op may only update a person."""
    value = attributes.pop("_update", False)
    if type(value) is not bool:
        raise ItemError("invalid", "attributes._update", "_update must be true or false")
    return value


def phone_text(value: Any, field: str) -> str:
    """A phone identifier or attribute: an E.164 number as a string (a ``+`` and up to 15 digits)."""
    if type(value) is not str or not is_e164(value):
        raise ItemError("invalid", field, f"{field} must be an E.164 phone number (a + and up to 15 digits): {value!r}")
    return value


def _same_identifier(attribute: str, current: str, requested: str) -> bool:
    return current.lower() == requested.lower() if attribute == "email" else current == requested


def suppressed_hit(
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
