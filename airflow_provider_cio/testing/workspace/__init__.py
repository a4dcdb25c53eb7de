"""The in-memory state of an emulated Customer.io workspace, and every rule it applies.

This package has no HTTP in it: :class:`Workspace` takes already-parsed JSON (ops, attributes, segment
calls) and either applies it or raises :class:`ItemError` with the ``reason``/``field``/``message``
triple that the Track API puts in its per-item errors. ``server.py`` wraps it in HTTP.

One module a part: ``values`` (limits and value rules), ``records`` (what is stored), ``state`` (the
stores and settings), and one mixin an entity: ``people`` (with suppressions), ``objects``,
``relationships``, ``segments``, ``events``, ``activities``. :class:`Workspace` puts them together and dispatches
the ops.

The rules follow the project's reference page ``customerio-track-api.md``; the ones the reference
marks **[choice]** (not published by Customer.io) are implemented exactly as the reference states and
are listed in ``docs/emulator.md``. Everything here runs under the server's single lock, so nothing in
this package is thread-safe on its own.
"""

from __future__ import annotations

from typing import Any

import orjson

from airflow_provider_cio.testing.workspace.activities import ActivityLogMixin
from airflow_provider_cio.testing.workspace.events import EventsMixin, check_event_data
from airflow_provider_cio.testing.workspace.objects import ObjectsMixin
from airflow_provider_cio.testing.workspace.people import PeopleMixin
from airflow_provider_cio.testing.workspace.relationships import RelationshipsMixin
from airflow_provider_cio.testing.workspace.segments import SegmentsMixin
from airflow_provider_cio.testing.workspace.values import MAX_OP_BYTES, ItemError


class Workspace(PeopleMixin, ObjectsMixin, RelationshipsMixin, SegmentsMixin, EventsMixin, ActivityLogMixin):
    """People, objects, relationships, manual segments, events, suppressions and the activity log of one
    workspace.

    Apply Track API ops with :meth:`apply_op` (one op; raises :class:`ItemError`) or
    :meth:`apply_batch` (returns the item errors). Each op is validated completely before any of it
    is applied, so a refused op changes nothing.
    """

    def __init__(self) -> None:
        super().__init__()
        self._actions = {
            ("person", "identify"): self._identify_person,
            ("person", "delete"): self._delete_person,
            ("person", "suppress"): self._suppress_person,
            ("person", "event"): self._person_event,
            ("person", "add_relationships"): self._add_person_relationships,
            ("person", "delete_relationships"): self._delete_person_relationships,
            ("object", "identify"): self._identify_object,
            ("object", "delete"): self._delete_object,
            ("object", "add_relationships"): self._add_object_relationships,
            ("object", "delete_relationships"): self._delete_object_relationships,
        }

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
                    raise _too_large(op, op_bytes)
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


def _too_large(op: Any, op_bytes: int) -> ItemError:
    """The error of an op over 32,000 bytes: an event's names its data when that is over its own limit."""
    if type(op) is dict and op.get("type") == "person" and op.get("action") == "event":
        try:
            check_event_data(op.get("attributes"))
        except ItemError as error:
            return error
    return ItemError("too_large", "", f"an op may be at most {MAX_OP_BYTES} bytes of JSON; this one is {op_bytes}")


def _unsupported_op(op: dict[str, Any]) -> ItemError:
    kind, action = op.get("type"), op.get("action")
    if kind is None:
        return ItemError("required", "type", 'type is required ("person" or "object")')
    if kind not in ("person", "object"):
        return ItemError("invalid", "type", f'type must be "person" or "object", not {kind!r}')
    if action is None:
        return ItemError("required", "action", "action is required")
    return ItemError("invalid", "action", f"the emulator does not support action {action!r} on a {kind}")
