"""The settings of a mirror sync: what happens to rows that left the query, and where snapshots are kept."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from airflow_provider_cio.sync.mirror.snapshot_files import SnapshotStore

SyncMode = Literal["upsert", "mirror"]
OnRemoved = Literal["ignore", "delete", "suppress"]


@dataclass(frozen=True)
class MirrorOptions:
    """What a mirror sync does with rows that left the query, and where it keeps its snapshots.

    :param on_removed: ``ignore``, ``delete`` (people, objects, relationships) or ``suppress`` (people).
    :param max_removed: the most rows one run may remove: a count, or ``"N%"`` of the previous snapshot.
    :param store: the task's snapshot folder.
    :param pointer: the task's snapshot pointer recorded by its last successful run, or None.
    :param segment: people who leave the query also leave this manual segment (its id), whatever
        ``on_removed`` says.
    :param checkpoint_interval: seconds between checkpoint parts (0: after every answered batch).
    """

    on_removed: OnRemoved
    max_removed: int | str
    store: SnapshotStore
    pointer: dict[str, Any] | None = None
    segment: bool = False
    checkpoint_interval: float = 10.0
