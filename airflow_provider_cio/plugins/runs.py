"""The runs of sync tasks and their reports, read from Airflow's metadata database (on the API server).

A run's counts come from the report it pushed as XCom ``return_value`` (``SyncReport.to_xcom()``); a run
that has not pushed one yet (queued, running, or stopped before the report) shows its task state and no
counts. Every read is one indexed query for any number of sync tasks: the task instances of each task,
newest DagRun first, cut to the last ``depth`` runs by a window function, with the report of the newest
``reports`` of them joined on the XCom table's primary key.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, literal, select, tuple_

from airflow_provider_cio.plugins.catalog import SyncTask

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

REPORT_FIELDS = ("rows_read", "rows_sent", "rows_failed", "last_sync_time", "status")
SUMMARY_FIELDS = (
    *REPORT_FIELDS,
    "rows_removed",
    "duration_seconds",
    "error",
    "import_type",
    "dry_run",
    "customerio_conn_id",
    "source_conn_id",
    "event_name",
    "errors_by_type",
    "sync_mode",
    "on_removed",
    "identify_by",
    "empty_values",
    "segment_name",
)
"""What the overview needs of a report (kept by ``ReportCache``)."""
CACHE_ENTRIES = 100_000


class ReportCache:
    """The overview's fields of reports already read, keyed by the XCom's identity and write time.

    A report is written once per try; a retried task writes a new one (a new timestamp), so an entry is
    never stale. Decoding reports is most of an overview's cost: with the cache, a load decodes only the
    reports written since the last one. Bounded to ``CACHE_ENTRIES`` (oldest first out).
    """

    def __init__(self, entries: int = CACHE_ENTRIES) -> None:
        self._entries = entries
        self._reports: dict[tuple[Any, ...], dict[str, Any] | None] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> tuple[bool, dict[str, Any] | None]:
        """(found, report)."""
        with self._lock:
            if key in self._reports:
                return True, self._reports[key]
        return False, None

    def put(self, key: tuple[Any, ...], report: dict[str, Any] | None) -> None:
        """Keep a report's overview fields (None: the XCom is no report)."""
        fields = {**(report.get("settings") or {}), **report} if report else {}  # settings: see SyncReport
        slim = {name: fields[name] for name in SUMMARY_FIELDS if name in fields} if report else None
        with self._lock:
            self._reports[key] = slim
            while len(self._reports) > self._entries:
                del self._reports[next(iter(self._reports))]


report_cache = ReportCache()
"""The API server's cache of report fields (one per process)."""


@dataclass
class SyncRun:
    """One run of a sync task: the task instance's state and the report it pushed, if any."""

    dag_id: str
    task_id: str
    run_id: str
    map_index: int
    state: str | None
    start_date: datetime | None
    end_date: datetime | None
    report: dict[str, Any] | None = None

    @property
    def has_error_report(self) -> bool:
        """Whether the run wrote an error CSV that the plugin can serve."""
        return bool(self.report and self.report.get("error_report"))

    def count(self, name: str) -> int | None:
        """A count from the report (``rows_read``, ``rows_sent``, ...): None without a report, 0 when the
        report has no such key (``rows_removed`` and ``rows_unchanged`` exist only in mirror-mode reports)."""
        if self.report is None:
            return None
        value = self.report.get(name, 0)
        return value if isinstance(value, int) else None

    @property
    def seconds(self) -> float | None:
        """The sync's duration from its report, else the task instance's; None while it has not ended."""
        value = (self.report or {}).get("duration_seconds")
        if isinstance(value, int | float):
            return float(value)
        if self.start_date is None or self.end_date is None:
            return None
        return (self.end_date - self.start_date).total_seconds()


def is_report(value: Any) -> bool:
    """Whether an XCom value is a sync report (``SyncReport.to_xcom()``)."""
    return isinstance(value, dict) and all(name in value for name in REPORT_FIELDS)


def runs_of(
    session: Session, tasks: Sequence[SyncTask], depth: int, reports: int, cache: ReportCache | None = None
) -> dict[tuple[str, str], list[SyncRun]]:
    """The last ``depth`` task instances of each sync task, newest DagRun first, by (dag_id, task_id).

    :param depth: task instances per sync task.
    :param reports: of those, how many newest carry their report (the others have ``report=None``).
    :param cache: read reports through this cache; the runs then carry only ``SUMMARY_FIELDS``.
    """
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel

    result: dict[tuple[str, str], list[SyncRun]] = {(t.dag_id, t.task_id): [] for t in tasks}
    if not tasks:
        return result
    position = (
        func.row_number()
        .over(
            partition_by=(TaskInstance.dag_id, TaskInstance.task_id),
            order_by=(DagRun.run_after.desc(), DagRun.id.desc(), TaskInstance.map_index),
        )
        .label("position")
    )
    pairs = sorted(result)
    if len(pairs) == 1:
        (dag_id, task_id) = pairs[0]
        which = and_(TaskInstance.dag_id == dag_id, TaskInstance.task_id == task_id)
    else:
        which = tuple_(TaskInstance.dag_id, TaskInstance.task_id).in_(pairs)
    latest = (
        select(
            TaskInstance.dag_id,
            TaskInstance.task_id,
            TaskInstance.run_id,
            TaskInstance.map_index,
            TaskInstance.state,
            TaskInstance.start_date,
            TaskInstance.end_date,
            DagRun.id.label("dag_run_id"),
            position,
        )
        .join(DagRun, (DagRun.dag_id == TaskInstance.dag_id) & (DagRun.run_id == TaskInstance.run_id))
        .where(which)
        .subquery()
    )
    wanted = XComModel.timestamp if cache is not None else XComModel.value
    rows = session.execute(
        select(latest, wanted)
        .outerjoin(
            XComModel,
            (XComModel.dag_run_id == latest.c.dag_run_id)
            & (XComModel.task_id == latest.c.task_id)
            & (XComModel.map_index == latest.c.map_index)
            & (XComModel.key == literal("return_value"))
            & (latest.c.position <= reports),
        )
        .where(latest.c.position <= depth)
        .order_by(latest.c.dag_id, latest.c.task_id, latest.c.position)
    ).all()
    found: dict[tuple[Any, ...], SyncRun] = {}
    for row in rows:
        run = SyncRun(
            row.dag_id,
            row.task_id,
            row.run_id,
            row.map_index,
            str(row.state) if row.state else None,
            row.start_date,
            row.end_date,
        )
        result[(row.dag_id, row.task_id)].append(run)
        if cache is None:
            if row.value is not None:
                value = XComModel.deserialize_value(row)
                run.report = value if is_report(value) else None
        elif row.timestamp is not None:
            key = (row.dag_run_id, row.task_id, row.map_index, row.timestamp)
            hit, run.report = cache.get(key)
            if not hit:
                found[key] = run
    if cache is not None and found:
        read_into_cache(session, cache, found)
    return result


def read_into_cache(session: Session, cache: ReportCache, runs: dict[tuple[Any, ...], SyncRun]) -> None:
    """Read the reports the cache lacks, keep their overview fields, and give them to their runs."""
    from airflow.models.xcom import XComModel

    keys = sorted(runs, key=lambda key: key[:3])
    for start in range(0, len(keys), 500):
        chunk = {key[:3]: key for key in keys[start : start + 500]}
        rows = session.execute(
            select(XComModel.dag_run_id, XComModel.task_id, XComModel.map_index, XComModel.value).where(
                XComModel.key == "return_value",
                tuple_(XComModel.dag_run_id, XComModel.task_id, XComModel.map_index).in_(list(chunk)),
            )
        ).all()
        for row in rows:
            key = chunk[(row.dag_run_id, row.task_id, row.map_index)]
            value = XComModel.deserialize_value(row)
            cache.put(key, value if is_report(value) else None)
            runs[key].report = cache.get(key)[1]


def read_report(session: Session, dag_id: str, task_id: str, run_id: str, map_index: int) -> dict[str, Any] | None:
    """The report one sync run pushed, or None."""
    from airflow.models.xcom import XComModel

    row = session.execute(
        select(XComModel.value).where(
            XComModel.dag_id == dag_id,
            XComModel.task_id == task_id,
            XComModel.run_id == run_id,
            XComModel.map_index == map_index,
            XComModel.key == "return_value",
        )
    ).first()
    value = XComModel.deserialize_value(row) if row is not None else None
    return value if is_report(value) else None


def rendered_error_report_path(session: Session, dag_id: str, task_id: str, run_id: str, map_index: int) -> str | None:
    """The ``error_report_path`` one sync task instance rendered (Airflow's rendered template fields, which
    only the task itself writes), or None when it had none or Airflow no longer keeps them
    (``[core] num_dag_runs_to_retain_rendered_fields``)."""
    from airflow.models.renderedtifields import RenderedTaskInstanceFields as Rendered

    fields = session.scalar(
        select(Rendered.rendered_fields).where(
            Rendered.dag_id == dag_id,
            Rendered.task_id == task_id,
            Rendered.run_id == run_id,
            Rendered.map_index == map_index,
        )
    )
    path = fields.get("error_report_path") if isinstance(fields, dict) else None
    return path if isinstance(path, str) and path else None


@dataclass(frozen=True)
class RenderedQuery:
    """The query a sync run ran: its ``sql`` as Airflow rendered it (``{{ last_sync_time }}`` filled in)."""

    run: SyncRun
    sql: str


def rendered_query(session: Session, runs: Sequence[SyncRun], newest: int = 10) -> RenderedQuery | None:
    """The query of the newest of ``runs`` (newest first) that has rendered template fields, or None.

    Airflow keeps each task instance's rendered template fields (``RenderedTaskInstanceFields``, what its
    "Rendered Templates" tab shows), with secrets already masked, for the last runs of each task
    (``[core] max_num_rendered_ti_fields_per_task``). A run still queued has none yet, so an older one
    is shown. One query over the ``newest`` runs.
    """
    from airflow.models.renderedtifields import RenderedTaskInstanceFields as Rendered

    candidates = runs[:newest]
    if not candidates:
        return None
    keys = [(run.dag_id, run.task_id, run.run_id, run.map_index) for run in candidates]
    rows = session.execute(
        select(Rendered.dag_id, Rendered.task_id, Rendered.run_id, Rendered.map_index, Rendered.rendered_fields).where(
            tuple_(Rendered.dag_id, Rendered.task_id, Rendered.run_id, Rendered.map_index).in_(keys)
        )
    ).all()
    fields = {(row.dag_id, row.task_id, row.run_id, row.map_index): row.rendered_fields for row in rows}
    for run, key in zip(candidates, keys, strict=True):
        sql = (fields.get(key) or {}).get("sql")
        if isinstance(sql, str) and sql.strip():
            return RenderedQuery(run, sql.strip())
    return None
