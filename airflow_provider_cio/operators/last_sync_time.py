"""``last_sync_time``: where a sync task's last successful run started, kept as XCom watermarks.

``last_sync_time`` is the start (Unix seconds, rounded down) of the most recent earlier DagRun in which
this same task succeeded, minus ``lookback_seconds``; 0 before the first success. A failed run, a run
with failed rows and a skipped run never advance it; manual runs read and advance it like scheduled
ones. Each successful sync leaves its DagRun's start as an XCom of the task (key ``cio_sync_watermark``,
``cio_sync_watermark_<map index>`` for a mapped task); the next sync takes the greatest of them
(docs/scheduling.md says why not "the latest by logical date").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datetime import datetime

    from airflow.sdk import Context

WATERMARK_KEY = "cio_sync_watermark"


def watermark_key(map_index: int | None, key: str = WATERMARK_KEY) -> str:
    """The XCom key holding a sync task's watermark (one per map index of a mapped task)."""
    return key if map_index is None or map_index < 0 else f"{key}_{map_index}"


def latest_watermark(watermarks: Sequence[Any], run_start: datetime | None) -> int:
    """The greatest watermark (Unix seconds) not after ``run_start``, or 0 when there is none."""
    limit = run_start.timestamp() if run_start is not None else float("inf")
    earlier = [int(value) for value in watermarks if value is not None and int(value) <= limit]
    return max(earlier, default=0)


def resolve_last_sync_time(context: Context, task_id: str, lookback_seconds: int) -> int:
    """The start of the task's last successful sync (minus the look-back), or 0.

    Every earlier watermark of the task is read and the greatest that is not after this run's start
    wins. Airflow's "latest XCom" orders runs by logical date, which a manual run does not have: it
    would hide a manual run's sync from the next scheduled run (or, on PostgreSQL, pin every later
    run to the manual run's start).
    """
    ti = context["ti"]
    pulled = ti.xcom_pull(task_ids=task_id, key=watermark_key(ti.map_index), include_prior_dates=True)
    run_start = context["dag_run"].start_date
    latest = latest_watermark(pulled if isinstance(pulled, list) else [pulled], run_start)
    return max(0, latest - lookback_seconds) if latest else 0


def dag_run_start(context: Context) -> datetime:
    """When this DagRun started."""
    start = context["dag_run"].start_date
    assert start is not None, "a running DagRun has started"
    return start


def record_watermark(context: Context) -> None:
    """Advance ``last_sync_time``: leave this DagRun's start as the task's watermark (a successful sync)."""
    ti = context["ti"]
    ti.xcom_push(key=watermark_key(ti.map_index), value=int(dag_run_start(context).timestamp()))


def check_last_sync_time_arguments(sql: str, sync_mode: str, lookback_seconds: int) -> None:
    """Refuse a mirror query that filters on ``last_sync_time``, and a negative look-back (ValueError)."""
    if sync_mode == "mirror" and "last_sync_time" in sql:
        raise ValueError(
            "sync_mode='mirror' compares the whole result of the query on every run: remove the "
            "{{ last_sync_time }} filter (rows it leaves out would count as removed)"
        )
    if lookback_seconds < 0:
        raise ValueError(f"lookback_seconds must be 0 or more, not {lookback_seconds}")
