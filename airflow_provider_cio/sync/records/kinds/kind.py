"""What a kind of record is: :class:`RecordKind`, the one home of everything that differs between kinds.

Each kind is one module of this package (``people``, ``objects``, ``relationships``, ``events``) making one
``RecordKind``; the rest of the sync reads ``KINDS[import_type]`` and never compares ``import_type`` with a
name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from airflow_provider_cio.sync.convert.columns import ColumnPlan, ColumnRule, ImportType
from airflow_provider_cio.sync.mirror.options import OnRemoved
from airflow_provider_cio.sync.records.ops import EmptyValues, OpBuilder

SEPARATOR = "\x1f"
"""Between the parts of a mirror key (``type<SEP>object_id``, ``person<SEP>type<SEP>object_id``)."""

KeyReader = Callable[[Sequence[Sequence[Any]]], list[str]]
"""Reads the mirror key of each row of a block."""


class KindSettings(Protocol):
    """The settings a kind reads (``SyncSettings`` has them): to build ops, check a plan, describe the sync."""

    @property
    def identify_by(self) -> str: ...
    @property
    def object_type_id(self) -> str: ...
    @property
    def event_name(self) -> str | None: ...
    @property
    def empty_values(self) -> EmptyValues: ...
    @property
    def update_only(self) -> bool: ...


@dataclass(frozen=True)
class MirrorRule:
    """What a kind's rows are in mirror mode: what identifies a row (its key), and what removal means.

    :param key_columns: the indexes of the columns a row's key is read from.
    :param key_reader: how to read the key of each row of a block, for a plan and the sync's default object
        type; read as the op builder reads it (an email in lower case). A row the builder would refuse gets a
        key that is never in a snapshot, as such a row is never accepted.
    :param removal_op: the op that removes a key from the workspace: ``(identify_by, on_removed, key)``.
    :param describe_key: a key as the error report names it.
    :param on_removed: the ``on_removed`` choices (what a row that left the query may do to the workspace).
    """

    key_columns: Callable[[ColumnPlan], tuple[int, ...]]
    key_reader: Callable[[ColumnPlan, str], KeyReader]
    removal_op: Callable[[str, str, str], bytes]
    describe_key: Callable[[str], str]
    on_removed: tuple[OnRemoved, ...] = ("ignore", "delete")


def no_check(plan: ColumnPlan, settings: KindSettings) -> None:
    """A kind whose plan needs nothing from the settings."""


@dataclass(frozen=True)
class RecordKind:
    """One kind of record.

    :param name: the ``import_type`` value.
    :param columns: the columns a query of the kind needs and may use (its column rule; the ``QueryError``
        messages say how to fix a query without them).
    :param build: the op builder for a query's column plan and the sync's settings.
    :param describe: the sync in words, for the preview (``people identified by email``).
    :param mirror: what a key is and what removal means in ``sync_mode="mirror"``; None: mirror mode is refused
        (``mirror_refused`` says why).
    :param check_plan: what a query's plan needs from the settings (raises ``QueryError``), checked before a row
        is read.
    :param update_only: whether ``update_only=True`` applies (update what exists, create nothing).
    :param segments: whether the synced records can be added to a manual segment (people).
    :param activities: whether the activity log tells of late failures of the synced records (suppressed
        people), traced back to rows after the sync.
    :param failed_changes: whether those late failures include failed attribute changes (people; an event sets
        no attribute of its person, so an events sync is only told of suppressed people).
    :param event_name: whether ``event_name=`` applies (events).
    :param mirror_refused: why ``sync_mode="mirror"`` is refused, when ``mirror`` is None.
    :param records: the asset and lineage name of the records a sync changes, for its default object type.
    """

    name: ImportType
    columns: ColumnRule
    build: Callable[[ColumnPlan, KindSettings], OpBuilder]
    describe: Callable[[KindSettings], str]
    mirror: MirrorRule | None
    check_plan: Callable[[ColumnPlan, KindSettings], None] = no_check
    update_only: bool = False
    segments: bool = False
    activities: bool = False
    failed_changes: bool = False
    event_name: bool = False
    mirror_refused: str = ""
    records: Callable[[str], str] | None = None

    @property
    def on_removed_choices(self) -> tuple[OnRemoved, ...]:
        """The ``on_removed`` choices; a kind never mirrored removes nothing (``ignore``)."""
        return self.mirror.on_removed if self.mirror is not None else ("ignore",)

    def records_name(self, object_type_id: str = "1") -> str:
        """The records a sync of this kind changes, as assets and lineage name them (``objects/<type>``)."""
        return self.name if self.records is None else self.records(object_type_id)
