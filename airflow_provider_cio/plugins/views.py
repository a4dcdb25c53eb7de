"""What the pages show, read from the metadata database for one user: the overview and one sync's page.

Each page costs a fixed number of indexed queries whatever the number of DAGs: the DAGs the user may read,
the DAGs' latest ``dag_hash`` (serialized DAGs are parsed only when it changed, see ``catalog``), the
runs of the sync tasks with their reports (one windowed query), the DAGs' schedule and the pools.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from airflow_provider_cio.plugins.catalog import SyncTask, catalog
from airflow_provider_cio.plugins.health import RATE_RUNS, TREND_RUNS, SyncSummary, summarise
from airflow_provider_cio.plugins.runs import ReportCache, report_cache, runs_of

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

STATUS_FILTERS = {
    "": "any status",
    "attention": "needs attention",
    "pool_missing": "pool missing",
    "failed": "last run failed",
    "skipped": "skipped often",
    "slow": "slower than usual",
    "ok": "healthy",
    "no_runs": "no runs yet",
}


@dataclass
class Filters:
    """The overview's filters: part of a DAG id, a status (a key of ``STATUS_FILTERS``), a workspace
    connection, a source connection."""

    dag: str = ""
    status: str = ""
    connection: str = ""
    source: str = ""

    def keep(self, summary: SyncSummary) -> bool:
        """Whether a sync passes the filters."""
        if self.dag and self.dag.lower() not in summary.task.dag_id.lower():
            return False
        if self.connection and summary.connection != self.connection:
            return False
        if self.source and summary.source_connection != self.source:
            return False
        if self.status == "attention":
            return bool(summary.problems)
        if self.status in {"ok", "no_runs"}:
            return summary.status == self.status
        return not self.status or any(problem.kind == self.status for problem in summary.problems)


@dataclass
class Overview:
    """The overview: the syncs that pass the filters (worst first), and what the filters can choose."""

    syncs: list[SyncSummary]
    total: int
    attention: int
    matched: int = 0
    """Syncs that pass the filters (``syncs`` holds the first ``limit`` of them)."""
    connections: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    dag_ids: list[str] = field(default_factory=list)


def readable_dag_ids(session: Session, user: Any, dag_ids: set[str] | None = None) -> set[str]:
    """The DAGs (of ``dag_ids``, or all) whose XComs, and so sync reports, the user may read."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails
    from airflow.models.dag import DagModel

    auth_manager = get_auth_manager()
    readable = auth_manager.get_authorized_dag_ids(user=user, method="GET", session=session)
    if dag_ids is not None:
        readable &= dag_ids
    teams = DagModel.get_dag_id_to_team_name_mapping(sorted(readable), session=session) if readable else {}
    return {
        dag_id
        for dag_id in readable
        if auth_manager.is_authorized_dag(
            method="GET",
            access_entity=DagAccessEntity.XCOM,
            details=DagDetails(id=dag_id, team_name=teams.get(dag_id)),
            user=user,
        )
    }


def visible_sync_tasks(session: Session, user: Any, dag_ids: set[str] | None = None) -> list[SyncTask]:
    """The sync tasks of the live DAGs the user may read."""
    from airflow.models.dag import DagModel

    readable = readable_dag_ids(session, user, dag_ids)
    if not readable:
        return []
    stale = set(session.scalars(select(DagModel.dag_id).where(DagModel.is_stale.is_(True))).all())
    return catalog.sync_tasks(session, readable - stale)


def summaries(
    session: Session, tasks: Sequence[SyncTask], depth: int, reports: int, cache: ReportCache | None = None
) -> list[SyncSummary]:
    """Each sync task's summary: its last ``depth`` runs, schedule, pause state and problems.

    :param cache: read reports through this cache (the runs then carry only the overview's fields).
    """
    from airflow.models.dag import DagModel
    from airflow.models.pool import Pool

    if not tasks:
        return []
    runs = runs_of(session, tasks, depth, reports, cache)
    dag_ids = sorted({task.dag_id for task in tasks})
    schedule: dict[str, tuple[bool, datetime | None]] = {}
    for start in range(0, len(dag_ids), 500):
        rows = session.execute(
            select(DagModel.dag_id, DagModel.is_paused, DagModel.next_dagrun_create_after).where(
                DagModel.dag_id.in_(dag_ids[start : start + 500])
            )
        ).all()
        schedule.update({dag_id: (bool(paused), after) for dag_id, paused, after in rows})
    pools = {name for name in session.scalars(select(Pool.pool)).all() if name}
    result = []
    for task in tasks:
        paused, next_run = schedule.get(task.dag_id, (False, None))
        result.append(summarise(task, runs[(task.dag_id, task.task_id)], pools=pools, paused=paused, next_run=next_run))
    return result


def overview(session: Session, user: Any, filters: Filters, limit: int = 200) -> Overview:
    """The overview for a user: the visible syncs passing the filters, those that need attention first.

    :param limit: the most rows shown (the counts and the filters' choices cover every sync).
    """
    every = summaries(session, visible_sync_tasks(session, user), RATE_RUNS, TREND_RUNS, report_cache)
    kept = sorted(
        (summary for summary in every if filters.keep(summary)),
        key=lambda s: (s.severity, s.task.dag_id, s.task.task_id),
    )
    return Overview(
        kept[:limit],
        total=len(every),
        matched=len(kept),
        attention=sum(bool(summary.problems) for summary in every),
        connections=sorted({summary.connection for summary in every}),
        sources=sorted({summary.source_connection for summary in every}),
        dag_ids=sorted({summary.task.dag_id for summary in every}),
    )


def sync_detail(session: Session, user: Any, dag_id: str, task_id: str, runs: int) -> SyncSummary | None:
    """One sync task with its last ``runs`` runs and their reports; None when the user may not see it."""
    tasks = [task for task in visible_sync_tasks(session, user, {dag_id}) if task.task_id == task_id]
    if not tasks:
        return None
    (summary,) = summaries(session, tasks, max(runs, RATE_RUNS), max(runs, RATE_RUNS))
    return summary
