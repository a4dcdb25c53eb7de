"""One sync from start to end: plan the columns, stream the rows, then the steps after the sync.

:class:`SyncJob` is what the operators run, free of Airflow so it can be tested and reused alone::

    job = SyncJob(SyncSettings(import_type="people", identify_by="email"), hook)
    report = job.run(cursor)          # cursor: an executed DB-API cursor
    job.errors.write_csv(out)         # when report.rows_failed
    job.close()

A run plans (:mod:`~airflow_provider_cio.sync.planning`), sends every row through a
:class:`~airflow_provider_cio.sync.engine.SyncEngine`, then runs its list of steps
(:mod:`~airflow_provider_cio.sync.after_sync`, :mod:`~airflow_provider_cio.sync.mirror.removals`), inside the
process tuning of :mod:`~airflow_provider_cio.sync.send.tuning`, and counts.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from airflow_provider_cio.sync.account.failed_rows import ErrorLog
from airflow_provider_cio.sync.account.outcomes import FAILED_ATTRIBUTE_CHANGE, SUPPRESSED
from airflow_provider_cio.sync.account.report import SyncReport
from airflow_provider_cio.sync.account.result import SyncProgress
from airflow_provider_cio.sync.after_sync import (
    AfterSyncStep,
    FillSegment,
    SegmentTarget,
    SyncContext,
    TraceLateFailures,
)
from airflow_provider_cio.sync.convert.column_types import ColumnType, SourceColumn, source_columns
from airflow_provider_cio.sync.convert.columns import ColumnPlan
from airflow_provider_cio.sync.convert.values import Converter
from airflow_provider_cio.sync.engine import SyncEngine
from airflow_provider_cio.sync.mirror.options import MirrorOptions
from airflow_provider_cio.sync.mirror.removals import MirrorRemovals
from airflow_provider_cio.sync.mirror.run import MirrorRun
from airflow_provider_cio.sync.planning import SyncPlanner
from airflow_provider_cio.sync.records.emails import person_key
from airflow_provider_cio.sync.records.kinds import KINDS
from airflow_provider_cio.sync.send.tuning import tuned_for_sync
from airflow_provider_cio.sync.send.workspace import DryRunWorkspace, SyncWorkspace
from airflow_provider_cio.sync.settings import SyncSettings

log = logging.getLogger(__name__)


class SyncJob:
    """Runs one sync of an executed cursor into a workspace and reports on it.

    :param settings: how to read and send rows.
    :param workspace: the workspace (a ``CustomerIOHook``); unused in a dry run.
    :param segment: the manual segment to add synced people to, if any.
    :param progress: called with a :class:`SyncProgress` every ``progress_interval`` seconds.
    :param workdir: where temporary files go.
    :param mirror: where a mirror sync keeps its snapshots (needed when ``settings.sync_mode`` is
        ``mirror``); after a successful run, ``job.mirror.new_pointer`` is the snapshot to record.
    """

    def __init__(
        self,
        settings: SyncSettings,
        workspace: SyncWorkspace,
        *,
        segment: SegmentTarget | None = None,
        progress: Callable[[SyncProgress], None] | None = None,
        progress_interval: float = 10.0,
        workdir: str | None = None,
        logger: logging.Logger | Any = log,
        mirror: MirrorOptions | None = None,
    ) -> None:
        if settings.sync_mode == "mirror" and mirror is None:
            raise ValueError("a mirror sync needs MirrorOptions (where its snapshots are kept)")
        self.settings = settings
        self.mirror_options = mirror if settings.sync_mode == "mirror" else None
        self.workspace = workspace
        self.segment = segment
        self.progress = progress
        self.progress_interval = progress_interval
        self.workdir = workdir
        self.log = logger
        self.planner = SyncPlanner(settings)
        self.errors = ErrorLog(workdir)
        """The failed rows, in row order once :meth:`run` returns."""
        self.plan: ColumnPlan | None = None
        self.engine: SyncEngine | None = None
        self.mirror: MirrorRun | None = None
        self.failure: BaseException | None = None

    def text_converters(self) -> dict[ColumnType, Converter]:
        """Per column type, how the sync converts the server's text (see :meth:`SyncPlanner.text_converters`)."""
        return self.planner.text_converters()

    def run(self, cursor: Any, last_sync_time: int = 0) -> SyncReport:
        """Sync every row of ``cursor``; return the report (check ``report.failed``)."""
        started = time.monotonic()
        started_at = int(time.time())
        settings = self.settings
        columns = source_columns(cursor)
        plan = self.plan = self.planner.columns(columns)
        for note in plan.ignored:
            self.log.info("Column not sent: %s", note)
        mirror = self.mirror = self._mirror(columns)
        engine = self.engine = SyncEngine(
            self.planner.builder(plan, columns, mirror),
            DryRunWorkspace() if settings.dry_run else self.workspace,
            concurrency=settings.concurrency,
            max_concurrency=settings.max_concurrency,
            fetch_size=settings.fetch_size,
            max_rows=settings.max_rows,
            progress=self.progress,
            progress_interval=self.progress_interval,
            workdir=self.workdir,
            settled=mirror.settled if mirror is not None else None,
            errors=self.errors,
        )
        report = SyncReport(
            import_type=settings.import_type,
            last_sync_time=last_sync_time,
            dry_run=settings.dry_run,
            suppressed_fail=settings.on_suppressed == "fail",
            sync_mode=settings.sync_mode,
        )
        context = SyncContext(settings, self.workspace, engine, report, started_at, self.log)
        try:
            with tuned_for_sync():
                result = engine.run(cursor)
                if result.error is not None:
                    raise result.error
                for step in self.steps(mirror):
                    step.run(context)
        except Exception as error:  # reported; the operator pushes the report, then fails the task
            self.failure = error
            report.error = f"{type(error).__name__}: {error}"
        except BaseException:  # interrupted: keep what the workspace accepted, for the next run
            if mirror is not None:
                mirror.checkpoint()
            raise
        count(report, engine, self.workspace, settings)
        if mirror is not None:
            finish_mirror(mirror, report, engine, settings)
        report.duration_seconds = time.monotonic() - started
        return report

    def steps(self, mirror: MirrorRun | None) -> list[AfterSyncStep]:
        """The steps after the rows were sent, in the order they run."""
        steps: list[AfterSyncStep] = []
        if not self.settings.dry_run:
            steps.append(TraceLateFailures())
            if self.segment is not None and self.segment.named:
                steps.append(FillSegment(self.segment))
        if mirror is not None:
            steps.append(MirrorRemovals(mirror))
        return steps

    def _mirror(self, columns: list[SourceColumn]) -> MirrorRun | None:
        """The mirror side of a mirror sync, its last snapshot loaded; None for an upsert sync."""
        if self.mirror_options is None:
            return None
        return self.planner.mirror(
            self.mirror_options, columns, segment=self.segment, workdir=self.workdir, logger=self.log
        )

    def cancel(self, reason: BaseException | None = None) -> None:
        """Stop the sync as soon as possible (from another thread).

        :param reason: the error to report; recorded before the cancellation makes anything else fail (a
            killed query, an interrupted request), so the report says why the sync stopped.
        """
        if self.engine is None:
            return
        if reason is None:
            self.engine.cancel()
        else:
            self.engine.fail(reason)

    def close(self) -> None:
        """Remove temporary files."""
        if self.engine is not None:
            self.engine.close()
        self.errors.close()
        if self.mirror is not None:
            self.mirror.close()


def count(report: SyncReport, engine: SyncEngine, workspace: SyncWorkspace, settings: SyncSettings) -> None:
    """Fill the report's counts from the engine's result and the error log."""
    result = engine.result
    by_type = engine.errors.counts_by_type()
    report.errors_by_type = {kind: count for kind, count in by_type.items() if kind != SUPPRESSED}
    report.rows_failed = sum(report.errors_by_type.values())
    report.rows_read = result.rows_read
    report.rows_not_sent = result.rows_not_sent
    report.row_limit_reached = result.row_limit_reached
    report.requests_sent = workspace.requests_sent
    if settings.dry_run:
        report.would_send = {"rows": result.rows_accepted, "ops": result.ops_sent, "batches": result.batches_sent}
        return
    late_failed = by_type.get(FAILED_ATTRIBUTE_CHANGE, 0)
    report.rows_sent = result.rows_accepted - late_failed - report.rows_suppressed
    report.ops_sent, report.batches_sent = result.ops_sent, result.batches_sent


def finish_mirror(mirror: MirrorRun, report: SyncReport, engine: SyncEngine, settings: SyncSettings) -> None:
    """Count the unchanged rows; after a successful run, store the new snapshot (else a checkpoint)."""
    report.rows_unchanged = mirror.rows_unchanged
    if settings.dry_run:
        return
    if KINDS[settings.import_type].failed_changes:  # a late failed change: the row is sent again next run
        late = [e.identifier for e in engine.errors if e.error_type == FAILED_ATTRIBUTE_CHANGE]
        mirror.mark_dirty([person_key(settings.identify_by, key) for key in late])
    if report.failed:
        mirror.checkpoint()
        return
    pointer = mirror.write_snapshot()
    report.snapshot = pointer["name"]
