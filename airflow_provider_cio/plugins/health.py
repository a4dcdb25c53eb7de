"""A sync task at a glance: its last run, success rate, trends, and whether it needs attention.

Needs attention, worst first:

1. its pool does not exist: the scheduler never starts the task (it waits in ``scheduled`` forever);
2. its last run failed (or its report says it failed);
3. it was skipped in at least ``SKIPPED_MANY`` of its last ``RECENT`` runs;
4. its last run was much slower than usual: more than ``SLOWER`` times the median of the runs before it.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from airflow_provider_cio.plugins.catalog import SyncTask
from airflow_provider_cio.plugins.runs import SyncRun
from airflow_provider_cio.pools import workspace_pool

RATE_RUNS = 30
"""The success rate is over this many last runs."""
TREND_RUNS = 20
"""Runs in the overview's small trends (their reports are read)."""
RECENT = 10
SKIPPED_MANY = 3
SLOWER = 2.0
MIN_HISTORY = 3
"""Runs before the last one needed to call it slower than usual."""
DONE_STATES = {"success", "failed", "skipped", "upstream_failed", "removed"}
POOL_PREFIX = "customerio_"
NOT_RECORDED = "not recorded"
"""The connection of a sync whose DAG names none the page can read (not serialized, default pool)."""

SEVERITY = {"pool_missing": 0, "failed": 1, "skipped": 2, "slow": 3, "ok": 4, "no_runs": 5}


@dataclass
class Problem:
    """Why a sync needs attention: a short title and a sentence that says what to do."""

    kind: str
    title: str
    detail: str
    command: str | None = None


@dataclass
class SyncSummary:
    """One row of the overview."""

    task: SyncTask
    runs: list[SyncRun]
    """The last ``RATE_RUNS`` runs, newest first (the first ``TREND_RUNS`` with their reports)."""
    paused: bool = False
    next_run: datetime | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def last(self) -> SyncRun | None:
        """The newest run."""
        return self.runs[0] if self.runs else None

    @property
    def last_report(self) -> dict[str, Any]:
        """The newest report among the recent runs (settings come from it)."""
        return next((run.report for run in self.runs if run.report), {})

    @property
    def status(self) -> str:
        """The worst problem's kind, ``ok``, or ``no_runs``."""
        if self.problems:
            return self.problems[0].kind
        return "ok" if self.runs else "no_runs"

    @property
    def severity(self) -> int:
        """Sort key: lower needs attention sooner."""
        return SEVERITY[self.status]

    @property
    def last_state(self) -> str:
        """The last run's state, ``failed`` when its report says so, or ``no runs``."""
        last = self.last
        if last is None:
            return "no runs"
        if last.report and last.report.get("status") == "failed" and last.state == "success":
            return "failed"
        return last.state or "no status"

    @property
    def connection(self) -> str:
        """The workspace connection: from the task's settings or its report, else from its pool's name."""
        report = self.last_report
        recorded = report.get("customerio_conn_id") or (report.get("settings") or {}).get("customerio_conn_id")
        for value in (self.task.setting("customerio_conn_id"), recorded):
            if isinstance(value, str) and value:
                return value
        if self.task.pool.startswith(POOL_PREFIX):
            return self.task.pool.removeprefix(POOL_PREFIX)
        return NOT_RECORDED

    @property
    def source_connection(self) -> str:
        """The connection the sync reads from (MySQL or PostgreSQL): from the task's settings or its report."""
        report = self.last_report
        recorded = report.get("source_conn_id") or (report.get("settings") or {}).get("source_conn_id")
        for value in (self.task.setting("postgres_conn_id"), self.task.setting("mysql_conn_id"), recorded):
            if isinstance(value, str) and value:
                return value
        return NOT_RECORDED

    @property
    def import_type(self) -> str:
        """``people``, ``objects``, ``relationships``, ``events`` (or what the report says)."""
        value = self.task.setting("import_type") or self.last_report.get("import_type")
        if value:
            return str(value)
        return "relationships" if "Relationship" in self.task.operator else "people, objects or events"

    @property
    def event_name(self) -> str | None:
        """An events sync's ``event_name`` (the name of events whose row has no ``name``), when recorded."""
        report = self.last_report
        recorded = report.get("event_name") or (report.get("settings") or {}).get("event_name")
        for value in (self.task.setting("event_name"), recorded):
            if isinstance(value, str) and value:
                return value
        return None

    @property
    def kind(self) -> str:
        """What the sync writes, as the page says it: the import type, with the event name of events (only an events
        sync has one)."""
        return f"{self.import_type}: {self.event_name}" if self.event_name else self.import_type

    @property
    def success_rate(self) -> float | None:
        """Share of successful runs among the ended runs of the last ``RATE_RUNS``."""
        ended = [run for run in self.runs if run.state in DONE_STATES]
        if not ended:
            return None
        return sum(run.state == "success" for run in ended) / len(ended)

    def trend(self, count: str) -> list[int]:
        """A count of the last ``TREND_RUNS`` reports, oldest first (runs without a report left out)."""
        values = [run.count(count) for run in reversed(self.runs[:TREND_RUNS])]
        return [v for v in values if v is not None]

    def duration_trend(self) -> list[float]:
        """Durations of the last ``TREND_RUNS`` ended runs, oldest first."""
        values = [run.seconds for run in reversed(self.runs[:TREND_RUNS])]
        return [v for v in values if v is not None]


def summarise(
    task: SyncTask, runs: list[SyncRun], *, pools: set[str], paused: bool, next_run: datetime | None
) -> SyncSummary:
    """The overview row of a sync task, with what needs attention."""
    summary = SyncSummary(task, runs, paused, next_run)
    summary.problems = problems_of(summary, pools)
    return summary


def failure_of(run: SyncRun | None) -> str:
    """Why a run failed, in one line: what stopped it, or how many rows failed and why."""
    report = (run.report if run else None) or {}
    if report.get("error"):
        return str(report["error"])[:300]
    kinds = report.get("errors_by_type") or {}
    if report.get("rows_failed"):
        detail = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
        rows = report["rows_failed"]
        text = f"{rows:,} row{'s' if rows != 1 else ''} failed" + (f" ({detail})" if detail else "")
        return text + "; see the error report."
    return "The task failed before it reported; see its log."


def problems_of(summary: SyncSummary, pools: set[str]) -> list[Problem]:
    """What needs attention, worst first."""
    task, found = summary.task, []
    if task.pool not in pools:
        conn = task.pool.removeprefix(POOL_PREFIX) if task.pool.startswith(POOL_PREFIX) else None
        command = (
            f"cio-retl create-pool --conn-id {conn}"
            if conn and workspace_pool(conn) == task.pool
            else f'airflow pools set {task.pool} 1 "Customer.io syncs"'
        )
        found.append(
            Problem(
                "pool_missing",
                f"Pool {task.pool} does not exist",
                "The scheduler never starts this task: it waits in 'scheduled' forever. Create the pool:",
                command,
            )
        )
    if summary.last_state in {"failed", "upstream_failed"}:
        found.append(Problem("failed", "Last run failed", failure_of(summary.last)))
    recent = summary.runs[:RECENT]
    skipped = sum(run.state == "skipped" for run in recent)
    if skipped >= SKIPPED_MANY:
        found.append(Problem("skipped", f"Skipped in {skipped} of the last {len(recent)} runs", ""))
    durations = summary.duration_trend()
    if len(durations) > MIN_HISTORY:
        usual = statistics.median(durations[:-1])
        if usual > 0 and durations[-1] > SLOWER * usual:
            found.append(
                Problem(
                    "slow",
                    "Slower than usual",
                    f"The last run took {durations[-1]:.1f} s; the median of the runs before is {usual:.1f} s.",
                )
            )
    return found
