"""How a sync reads and sends rows: :class:`SyncSettings`, checked once when made."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from functools import cache
from typing import Any, Literal, get_args, get_origin, get_type_hints

from airflow_provider_cio.sync.convert.columns import IdentifyBy, ImportType
from airflow_provider_cio.sync.limits import MAX_EVENT_NAME_BYTES, MAX_ROWS
from airflow_provider_cio.sync.mirror.options import OnRemoved, SyncMode
from airflow_provider_cio.sync.mirror.removal_guard import check_max_removed
from airflow_provider_cio.sync.records.kinds import KINDS
from airflow_provider_cio.sync.records.ops import EmptyValues

OnSuppressed = Literal["succeed", "fail"]


def check_choice(name: str, value: Any, choices: Sequence[str]) -> None:
    """A clear error for a setting outside its choices (raised at DAG parse time by the operators).

    :raises ValueError: ``value`` is not one of ``choices``.
    """
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, not {value!r}")


@dataclass(frozen=True)
class SyncSettings:
    """How a sync reads and sends rows (the operators' parameters of the same names).

    :param import_type: ``people``, ``objects``, ``relationships`` or ``events``.
    :param identify_by: how people are identified: ``id``, ``email`` or ``phone`` (E.164 numbers).
    :param update_only: people only: update the people who exist, create nobody (each op carries
        ``"_update": true``; the workspace ignores ops that match nobody and does not say which).
    :param object_type_id: the object type of rows without an ``object_type_id`` column value.
    :param event_name: events: the name of rows without a ``name`` column value (at most 100 bytes).
    :param empty_values: NULL and empty values: ``ignore`` (leave the attribute as it is) or ``delete``.
    :param on_suppressed: rows about suppressed people: ``succeed`` (count them, the sync succeeds)
        or ``fail`` (report each as "person is suppressed" and fail the sync).
    :param json_columns: columns whose text holds JSON to send as nested values.
    :param timezone: the time zone naive DATETIME and DATE values are read in.
    :param concurrency: batch requests in flight at once, fixed; None adapts it to the workspace.
    :param max_concurrency: the most batch requests in flight when ``concurrency`` is None.
    :param fetch_size: rows fetched from the database at a time.
    :param max_rows: the most rows one sync sends; more fails the sync.
    :param dry_run: build and check everything, send nothing.
    :param activity_settle_seconds: how long the activity log must stay unchanged to count as settled.
    :param activity_timeout: the longest wait for the activity log to settle.
    :param sync_mode: ``upsert`` (send every row of the query) or ``mirror`` (send what changed since
        the last successful sync; remove what left the query, see :mod:`~airflow_provider_cio.sync.mirror.run`).
    :param on_removed: mirror mode: what happens to rows that left the query (``ignore``, ``delete``,
        ``suppress``).
    :param max_removed: mirror mode: the most rows one run may remove (a count, or ``"N%"`` of the
        previous snapshot).
    """

    import_type: ImportType
    identify_by: IdentifyBy = "id"
    update_only: bool = False
    object_type_id: str = "1"
    event_name: str | None = None
    empty_values: EmptyValues = "ignore"
    on_suppressed: OnSuppressed = "succeed"
    json_columns: tuple[str, ...] = ()
    timezone: str = "UTC"
    concurrency: int | None = None
    max_concurrency: int = 16
    fetch_size: int = 5000
    max_rows: int = MAX_ROWS
    dry_run: bool = False
    activity_settle_seconds: float = 5.0
    activity_timeout: float = 60.0
    sync_mode: SyncMode = "upsert"
    on_removed: OnRemoved = "ignore"
    max_removed: int | str = "10%"

    def __post_init__(self) -> None:
        """Check every setting once, here: the operators, the preview and the engine's callers rely on it.

        :raises ValueError: a setting is outside its choices (those of its ``Literal`` type) or range.
        """
        for name, choices in literal_choices(SyncSettings).items():
            check_choice(name, getattr(self, name), choices)
        if not str(self.object_type_id).isdigit() or int(self.object_type_id) < 1:
            raise ValueError(f"object_type_id must be a positive integer such as '1', not {self.object_type_id!r}")
        if not 1 <= self.max_rows <= MAX_ROWS:
            raise ValueError(f"max_rows must be between 1 and {MAX_ROWS:,}, not {self.max_rows}")
        if (self.concurrency is not None and self.concurrency < 1) or self.max_concurrency < 1 or self.fetch_size < 1:
            raise ValueError(
                "concurrency, max_concurrency and fetch_size must be at least 1, not "
                f"{self.concurrency}, {self.max_concurrency}, {self.fetch_size}"
            )
        check_max_removed(self.max_removed)
        check_update_only(self.update_only, self.import_type)
        check_events(self.import_type, self.event_name, self.sync_mode)


def check_events(import_type: str, event_name: Any, sync_mode: str) -> None:
    """``event_name`` goes with events only and fits the name limit; events are never mirrored (raised at
    DAG parse time by the operators).

    :raises ValueError: ``event_name`` on another import, empty or over 100 bytes, or events in mirror mode.
    """
    kind = KINDS[import_type]
    if not kind.event_name:
        if event_name is not None:
            raise ValueError(f"event_name names events; this sync imports {import_type}: remove event_name")
        return
    if event_name is not None and (not isinstance(event_name, str) or not event_name.strip()):
        raise ValueError(f"event_name must be a non-empty string, not {event_name!r}")
    if event_name is not None and len(event_name.encode()) > MAX_EVENT_NAME_BYTES:
        raise ValueError(f"event_name is over the workspace's limit of {MAX_EVENT_NAME_BYTES} bytes: shorten it")
    if sync_mode == "mirror" and kind.mirror is None:
        raise ValueError(kind.mirror_refused)


def check_update_only(update_only: Any, import_type: str) -> None:
    """``update_only`` is a bool, and only people syncs take it (raised at DAG parse time by the operators).

    :raises ValueError: not a bool, or set on a sync of anything but people.
    """
    if not isinstance(update_only, bool):
        raise ValueError(f"update_only must be True or False, not {update_only!r}")
    if update_only and not KINDS[import_type].update_only:
        raise ValueError(
            f"update_only=True applies to people only, not to {import_type}: it updates people who already exist "
            "and creates nobody; an object or relationship sync always adds what it sends. Remove update_only, "
            "or sync people"
        )


@cache
def literal_choices(cls: type) -> dict[str, tuple[str, ...]]:
    """``field name -> allowed values`` for each field of a dataclass whose type is a ``Literal``."""
    hints = get_type_hints(cls)
    return {item.name: get_args(hints[item.name]) for item in fields(cls) if get_origin(hints[item.name]) is Literal}
