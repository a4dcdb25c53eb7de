"""Objects: identify and delete object ops, object relationship ops, and the object identifier rules."""

from __future__ import annotations

from typing import Any

from airflow_provider_cio.testing.workspace.records import ObjectKey, PersonLinks
from airflow_provider_cio.testing.workspace.state import WorkspaceState
from airflow_provider_cio.testing.workspace.values import (
    OBJECT_IDENTIFIER_KEYS,
    POSITIVE_INTEGER,
    ItemError,
    checked_attributes,
    checked_merge,
    identifier_text,
    stored_attributes,
)


class ObjectsMixin(WorkspaceState):
    """Objects of the workspace's object types, and the object ops of the Track API."""

    def _identify_object(self, op: dict[str, Any], op_bytes: int | None) -> None:
        key = self._object_key(op.get("identifiers"), "identifiers")
        attributes = op.get("attributes")
        changes = checked_attributes(attributes, "attributes", op_bytes) if attributes is not None else {}
        relationships = op.get("cio_relationships")
        links = self._person_links(relationships, must_exist=True) if relationships is not None else PersonLinks()
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
        if type(text) is not str or not POSITIVE_INTEGER.fullmatch(text):
            raise ItemError("invalid", field, f"{field} must be a string holding a positive integer")
        if text not in self.settings["object_types"]:
            raise ItemError("invalid", field, f"object type {text} does not exist")
        return text

    def objects(self) -> list[dict[str, Any]]:
        """Every object: ``{"object_type_id", "object_id", "attributes"}``."""
        return [
            {"object_type_id": type_id, "object_id": object_id, "attributes": stored_attributes(attributes)}
            for (type_id, object_id), attributes in self._objects.items()
        ]
