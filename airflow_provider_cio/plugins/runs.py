"""The sync tasks and their recent runs, read from Airflow's metadata database (on the API server).

A sync task is any task whose operator carries the "Error report" link: ``MySQLReverseETLOperator``,
``RelationshipOperator`` and any subclass of ``BaseSyncOperator``, found in the latest serialized version
of each DAG. A run's counts come from the report it pushed as XCom ``return_value``
(``SyncReport.to_xcom()``); a run that has not pushed one yet (queued, running, or stopped before the
report) shows its task state and no counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

LINK_NAME = "Error report"
"""The name of ``ErrorReportLink``: every sync operator carries it, subclasses included."""

OPERATORS_MODULE = "airflow_provider_cio.operators."
REPORT_FIELDS = ("rows_read", "rows_sent", "rows_failed", "last_sync_time", "status")


@dataclass(frozen=True)
class SyncTask:
    """A task of a DAG that runs a sync."""

    dag_id: str
    task_id: str
    operator: str


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
        """A count from the report (``rows_read``, ``rows_sent``, ...), None without a report."""
        if self.report is None:
            return None
        value = self.report.get(name)
        return value if isinstance(value, int) else None


@dataclass
class SyncTaskRuns:
    """A sync task with its most recent runs, newest first."""

    task: SyncTask
    runs: list[SyncRun] = field(default_factory=list)


def is_report(value: Any) -> bool:
    """Whether an XCom value is a sync report (``SyncReport.to_xcom()``)."""
    return isinstance(value, dict) and all(name in value for name in REPORT_FIELDS)


def sync_tasks_of(dag_id: str, serialized: dict[str, Any]) -> list[SyncTask]:
    """The sync tasks in a serialized DAG (the ``data`` of ``SerializedDagModel``)."""
    tasks = []
    for item in serialized.get("dag", {}).get("tasks", []):
        task = item.get("__var", item) if isinstance(item, dict) else {}
        links = task.get("_operator_extra_links") or {}
        module = str(task.get("_task_module") or "")
        if LINK_NAME in links or module.startswith(OPERATORS_MODULE):
            tasks.append(SyncTask(dag_id, str(task.get("task_id")), str(task.get("task_type") or "")))
    return sorted(tasks, key=lambda t: t.task_id)


def find_sync_tasks(session: Session, dag_ids: Iterable[str]) -> list[SyncTask]:
    """The sync tasks of the given DAGs, from their latest serialized versions."""
    from airflow.models.serialized_dag import SerializedDagModel

    wanted = sorted(set(dag_ids))
    if not wanted:
        return []
    tasks: list[SyncTask] = []
    for row in SerializedDagModel.get_latest_serialized_dags(dag_ids=wanted, session=session):
        tasks.extend(sync_tasks_of(row.dag_id, row.data or {}))
    return sorted(tasks, key=lambda t: (t.dag_id, t.task_id))


def recent_runs(session: Session, task: SyncTask, limit: int) -> list[SyncRun]:
    """The task's last ``limit`` task instances (newest DagRun first) with their reports."""
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance

    rows = session.execute(
        select(
            TaskInstance.run_id,
            TaskInstance.map_index,
            TaskInstance.state,
            TaskInstance.start_date,
            TaskInstance.end_date,
        )
        .join(DagRun, (DagRun.dag_id == TaskInstance.dag_id) & (DagRun.run_id == TaskInstance.run_id))
        .where(TaskInstance.dag_id == task.dag_id, TaskInstance.task_id == task.task_id)
        .order_by(DagRun.run_after.desc(), DagRun.id.desc(), TaskInstance.map_index)
        .limit(limit)
    ).all()
    runs = [
        SyncRun(task.dag_id, task.task_id, run_id, map_index, str(state) if state else None, start, end)
        for run_id, map_index, state, start, end in rows
    ]
    reports = read_reports(session, task, [run.run_id for run in runs])
    for run in runs:
        run.report = reports.get((run.run_id, run.map_index))
    return runs


def read_reports(session: Session, task: SyncTask, run_ids: Sequence[str]) -> dict[tuple[str, int], dict[str, Any]]:
    """The reports the task pushed in these runs, by (run_id, map_index)."""
    from airflow.models.xcom import XComModel

    if not run_ids:
        return {}
    rows = session.execute(
        select(XComModel.run_id, XComModel.map_index, XComModel.value).where(
            XComModel.dag_id == task.dag_id,
            XComModel.task_id == task.task_id,
            XComModel.key == "return_value",
            XComModel.run_id.in_(list(run_ids)),
        )
    ).all()
    reports = {}
    for row in rows:
        value = XComModel.deserialize_value(row)
        if is_report(value):
            reports[(row.run_id, row.map_index)] = value
    return reports


def read_report(session: Session, dag_id: str, task_id: str, run_id: str, map_index: int) -> dict[str, Any] | None:
    """The report one sync run pushed, or None."""
    found = read_reports(session, SyncTask(dag_id, task_id, ""), [run_id])
    return found.get((run_id, map_index))
