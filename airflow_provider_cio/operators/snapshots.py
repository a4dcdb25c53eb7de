"""Which snapshot a mirror sync compares with: a pointer that each successful run leaves as an XCom.

The pointer (key ``cio_mirror_snapshot``, ``cio_mirror_snapshot_<map index>`` for a mapped task) names
the snapshot files the run stored and when the run started; the next run takes the latest pointer of
a run that started before it, like ``last_sync_time`` (docs/mirror.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_cio.operators.last_sync_time import dag_run_start, watermark_key
from airflow_provider_cio.storage import ObjectStore, snapshot_folder
from airflow_provider_cio.sync.mirror.options import MirrorOptions

if TYPE_CHECKING:
    from datetime import datetime

    from airflow.sdk import Context

    from airflow_provider_cio.sync.mirror.run import MirrorRun
    from airflow_provider_cio.sync.settings import SyncSettings

SNAPSHOT_KEY = "cio_mirror_snapshot"


def latest_snapshot(pointers: Sequence[Any], run_start: datetime | None) -> dict[str, Any] | None:
    """The snapshot pointer recorded by the latest successful run that started before ``run_start``."""
    limit = run_start.timestamp() if run_start is not None else float("inf")
    earlier = [p for p in pointers if isinstance(p, dict) and p.get("run_start", 0) <= limit]
    return max(earlier, key=lambda p: p.get("run_start", 0), default=None)


def last_snapshot_pointer(context: Context, task_id: str) -> dict[str, Any] | None:
    """The pointer left by the task's last successful mirror run before this one, or None."""
    ti = context["ti"]
    key = watermark_key(ti.map_index, SNAPSHOT_KEY)
    pulled = ti.xcom_pull(task_ids=task_id, key=key, include_prior_dates=True)
    return latest_snapshot(pulled if isinstance(pulled, list) else [pulled], context["dag_run"].start_date)


def mirror_options(
    context: Context, task_id: str, settings: SyncSettings, snapshot_base: str | None, checkpoint_interval: float
) -> MirrorOptions | None:
    """Where the task's snapshots live (``snapshot_base`` or ``[customerio] storage_base``) and which one its
    last successful run recorded, with the sync's ``on_removed`` and ``max_removed``; None unless the sync
    mirrors (nothing is read then). The other arguments are the operator's."""
    if settings.sync_mode != "mirror":
        return None
    folder = snapshot_folder(context["dag"].dag_id, task_id, context["ti"].map_index, snapshot_base)
    return MirrorOptions(
        on_removed=settings.on_removed,
        max_removed=settings.max_removed,
        store=ObjectStore(folder),
        pointer=last_snapshot_pointer(context, task_id),
        checkpoint_interval=checkpoint_interval,
    )


def record_snapshot(context: Context, mirror: MirrorRun | None, log: Any) -> None:
    """Point the task at the snapshot this successful mirror run stored, then drop older files.

    :param mirror: the run's mirror, None for an upsert sync (nothing to record).
    :param log: where a failed clean-up is reported (it costs storage only).
    """
    if mirror is None or mirror.new_pointer is None:
        return
    ti = context["ti"]
    pointer = {**mirror.new_pointer, "run_start": dag_run_start(context).timestamp()}
    ti.xcom_push(key=watermark_key(ti.map_index, SNAPSHOT_KEY), value=pointer)
    try:
        mirror.clean_up(mirror.options.pointer)
    except Exception as error:  # leftovers cost storage only: the pointer names the snapshot to use
        log.warning("Could not delete old snapshot files (%s): %s", type(error).__name__, error)
