"""The stores of one workspace and its settings, and what its entities use of each other.

:class:`WorkspaceState` holds every store; each entity module (``people``, ``objects``,
``relationships``, ``segments``, ``events``, ``activities``) adds the rules of one entity to it as a mixin, and
``Workspace`` puts them together. What one entity uses of another (a person op sets relationships, an
object op looks people up) is declared here as an abstract method, so mypy checks each such call.
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from typing import Any

from airflow_provider_cio.testing.workspace.records import ObjectKey, Person, PersonLinks, Segment
from airflow_provider_cio.testing.workspace.values import POSITIVE_INTEGER

DEFAULT_SETTINGS: dict[str, Any] = {
    "identify_by": "both",
    "allow_email_update_by_id": False,
    "object_types": ["1"],
    "track_requests_per_second": None,
    "phone_identifiers": False,
}


class WorkspaceState(ABC):
    """The stores and settings of one workspace, and the rules its entities use across each other.

    The abstract methods are each implemented by one entity mixin; mypy checks every call against
    them, and ``Workspace`` cannot be built while one is missing.
    """

    def __init__(self) -> None:
        self.settings: dict[str, Any] = {
            **DEFAULT_SETTINGS,
            "object_types": list(DEFAULT_SETTINGS["object_types"]),
        }
        self._people: dict[str, Person] = {}  # by cio_id, in creation order
        self._people_by_id: dict[str, Person] = {}
        self._people_by_email: dict[str, Person] = {}  # by lower-cased email
        self._people_by_phone: dict[str, Person] = {}
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

    def update_settings(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Change some settings (``identify_by``, ``allow_email_update_by_id``, ``object_types``,
        ``track_requests_per_second``, ``phone_identifiers``).

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
        if "phone_identifiers" in changes:
            if type(changes["phone_identifiers"]) is not bool:
                raise ValueError("phone_identifiers must be true or false")
            updated["phone_identifiers"] = changes["phone_identifiers"]
        if "object_types" in changes:
            updated["object_types"] = _object_type_list(changes["object_types"])
        if "track_requests_per_second" in changes:
            updated["track_requests_per_second"] = _rate_limit(changes["track_requests_per_second"])
        self.settings = updated
        self._ids_allowed = updated["identify_by"] != "email"
        return dict(updated)

    # --- people (people.py) --------------------------------------------------------------------------

    @abstractmethod
    def _person_identifiers(self, identifiers: Any, field: str) -> tuple[str, str]:
        """``(kind, value)`` of a person's identifiers, or :class:`ItemError`."""

    @abstractmethod
    def _find_person(self, by: str, key: str) -> Person | None:
        """The person with this ``id``, ``email`` or ``cio_id``, if any."""

    @abstractmethod
    def _create_person(self, by: str, key: str) -> Person:
        """A new person without attributes, found by ``id``, ``email`` or ``phone`` from now on."""

    @abstractmethod
    def _ignore_suppressed(self, by: str, key: str, requested_id: Any, requested_email: Any) -> bool:
        """Whether the op names a suppressed identifier (then recorded as an activity)."""

    # --- objects (objects.py) ------------------------------------------------------------------------

    @abstractmethod
    def _object_key(self, identifiers: Any, field: str) -> ObjectKey:
        """``(object_type_id, object_id)`` of an object's identifiers, or :class:`ItemError`."""

    # --- relationships (relationships.py) ------------------------------------------------------------

    @abstractmethod
    def _object_links(self, relationships: Any, *, must_exist: bool) -> list[tuple[ObjectKey, dict[str, Any]]]:
        """The ``cio_relationships`` of a person op."""

    @abstractmethod
    def _person_links(self, relationships: Any, *, must_exist: bool) -> PersonLinks:
        """The ``cio_relationships`` of an object op."""

    @abstractmethod
    def _merged_link_attributes(
        self, person: Person | None, links: list[tuple[ObjectKey, dict[str, Any]]]
    ) -> list[dict[str, Any]]:
        """Relationship attributes after the op, for each object link of a person."""

    @abstractmethod
    def _merged_person_link_attributes(self, object_key: ObjectKey, links: PersonLinks) -> list[dict[str, Any] | None]:
        """Relationship attributes after the op, for each person link of an object."""

    @abstractmethod
    def _apply_person_links(
        self, object_key: ObjectKey, links: PersonLinks, link_attributes: list[dict[str, Any] | None]
    ) -> None:
        """Set the relationships of an object op."""

    @abstractmethod
    def _record_suppressed_links(self, links: PersonLinks) -> None:
        """Record the relationships ignored because their person is suppressed."""

    @abstractmethod
    def _set_relationship(self, cio_id: str, object_key: ObjectKey, attributes: dict[str, Any]) -> None:
        """Create or replace one relationship."""

    @abstractmethod
    def _remove_relationship(self, cio_id: str, object_key: ObjectKey) -> None:
        """Remove one relationship, if it exists."""

    # --- events (events.py) --------------------------------------------------------------------------

    @abstractmethod
    def _forget_events(self, cio_id: str) -> None:
        """Drop the events of a deleted person."""

    # --- activity log (activities.py) ----------------------------------------------------------------

    @abstractmethod
    def _record_activity(self, identifiers: dict[str, Any], attribute: str, value: Any, reason: str) -> None:
        """Append a ``failed_attribute_change`` activity."""

    @abstractmethod
    def _record_removal(self, kind: str, identifiers: dict[str, str], action: str, *, found: bool) -> None:
        """Remember a delete or suppress op applied."""


def _object_type_list(value: Any) -> list[str]:
    if type(value) is not list:
        raise ValueError("object_types must be a list of positive integers as strings")
    types = []
    for item in value:
        text = str(item) if type(item) is int else item
        if type(text) is not str or not POSITIVE_INTEGER.fullmatch(text):
            raise ValueError(f"object type {item!r} is not a positive integer")
        types.append(text)
    return types


def _rate_limit(value: Any) -> int | None:
    """``track_requests_per_second``: a positive whole number, or null for no limit."""
    if value is None:
        return None
    if type(value) is not int or value < 1:
        raise ValueError("track_requests_per_second must be a positive whole number, or null for no limit")
    return value
