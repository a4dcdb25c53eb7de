"""Relationships between people and objects: the ``cio_relationships`` of person and object ops."""

from __future__ import annotations

from typing import Any

from airflow_provider_cio.testing.workspace.people import suppressed_hit
from airflow_provider_cio.testing.workspace.records import ObjectKey, Person, PersonLinks
from airflow_provider_cio.testing.workspace.state import WorkspaceState
from airflow_provider_cio.testing.workspace.values import (
    ABSENT,
    ItemError,
    checked_attributes,
    checked_merge,
    stored_attributes,
)


class RelationshipsMixin(WorkspaceState):
    """Person-object relationships and their attributes."""

    def _object_links(self, relationships: Any, *, must_exist: bool) -> list[tuple[ObjectKey, dict[str, Any]]]:
        """The ``cio_relationships`` of a person op: ``(object key, relationship attribute changes)``."""
        links = []
        for field, item in _relationship_items(relationships):
            key = self._object_key(item.get("identifiers"), f"{field}.identifiers")
            if must_exist and key not in self._objects:
                raise ItemError("not_found", f"{field}.identifiers", f"no object {key[1]} of type {key[0]}")
            links.append((key, _relationship_changes(item, field)))
        return links

    def _person_links(self, relationships: Any, *, must_exist: bool) -> PersonLinks:
        """The ``cio_relationships`` of an object op: ``(person, relationship attribute changes)``.

        A suppressed person is skipped (``person`` is ``None``) and remembered, so that applying the
        op records the ignored relationship as an activity; an unknown person is an item error when
        ``must_exist``, else skipped too.
        """
        items = []
        for field, item in _relationship_items(relationships):
            by, key = self._person_identifiers(item.get("identifiers"), f"{field}.identifiers")
            items.append((field, by, key, _relationship_changes(item, field)))
        links = PersonLinks()
        for field, by, key, changes in items:
            person = self._find_person(by, key)
            if person is None:
                if suppressed_hit(self._suppressed_ids, self._suppressed_emails, by, key, ABSENT, ABSENT):
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

    def _merged_person_link_attributes(self, object_key: ObjectKey, links: PersonLinks) -> list[dict[str, Any] | None]:
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
        self, object_key: ObjectKey, links: PersonLinks, link_attributes: list[dict[str, Any] | None]
    ) -> None:
        for (person, _), attributes_after in zip(links.people, link_attributes, strict=True):
            if person is not None and attributes_after is not None:
                self._set_relationship(person.cio_id, object_key, attributes_after)
        self._record_suppressed_links(links)

    def _record_suppressed_links(self, links: PersonLinks) -> None:
        for by, key in links.suppressed:
            self._ignore_suppressed(by, key, ABSENT, ABSENT)

    def _set_relationship(self, cio_id: str, object_key: ObjectKey, attributes: dict[str, Any]) -> None:
        self._relationships[(cio_id, *object_key)] = attributes
        self._objects_of_person.setdefault(cio_id, set()).add(object_key)
        self._people_of_object.setdefault(object_key, set()).add(cio_id)

    def _remove_relationship(self, cio_id: str, object_key: ObjectKey) -> None:
        if self._relationships.pop((cio_id, *object_key), None) is not None:
            self._objects_of_person[cio_id].discard(object_key)
            self._people_of_object[object_key].discard(cio_id)

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
