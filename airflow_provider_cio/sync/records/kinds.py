"""The kinds of record a sync writes, each as one object: its op builder and what a sync of it may do.

``KINDS[import_type]`` is read where a sync's behaviour depends on the kind (building ops, the settings
refused when a DAG is parsed, segments), instead of comparing ``import_type`` with a name there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from airflow_provider_cio.sync.convert.columns import ColumnPlan, ImportType
from airflow_provider_cio.sync.records.events import EventOps
from airflow_provider_cio.sync.records.ops import EmptyValues, ObjectOps, OpBuilder, PeopleOps
from airflow_provider_cio.sync.records.relationships import RelationshipOps


class BuilderSettings(Protocol):
    """The settings an op builder reads (``SyncSettings`` has them)."""

    @property
    def object_type_id(self) -> str: ...
    @property
    def event_name(self) -> str | None: ...
    @property
    def empty_values(self) -> EmptyValues: ...
    @property
    def update_only(self) -> bool: ...


@dataclass(frozen=True)
class RecordKind:
    """One kind of record.

    :param name: the ``import_type`` value.
    :param build: the op builder for a query's column plan and the sync's settings.
    :param mirror: whether ``sync_mode="mirror"`` applies (something can be removed when its row leaves).
    :param update_only: whether ``update_only=True`` applies (update what exists, create nothing).
    :param segments: whether the synced records can be added to a manual segment (people).
    """

    name: ImportType
    build: Callable[[ColumnPlan, BuilderSettings], OpBuilder]
    mirror: bool = True
    update_only: bool = False
    segments: bool = False


KINDS: dict[str, RecordKind] = {
    kind.name: kind
    for kind in (
        RecordKind(
            "people",
            lambda plan, settings: PeopleOps(plan, settings.empty_values, settings.update_only),
            update_only=True,
            segments=True,
        ),
        RecordKind("objects", lambda plan, settings: ObjectOps(plan, settings.object_type_id, settings.empty_values)),
        RecordKind(
            "relationships",
            lambda plan, settings: RelationshipOps(plan, settings.object_type_id, settings.empty_values),
        ),
        RecordKind(
            "events", lambda plan, settings: EventOps(plan, settings.event_name, settings.empty_values), mirror=False
        ),
    )
}
