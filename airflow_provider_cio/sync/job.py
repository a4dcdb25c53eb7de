"""One sync from start to end: plan the columns, stream the rows, trace late failures, fill the segment.

:class:`SyncJob` is what the operators run, free of Airflow so it can be tested and reused alone::

    job = SyncJob(SyncSettings(import_type="people", identify_by="email"), hook)
    report = job.run(cursor)          # cursor: an executed DB-API cursor
    job.errors.write_csv(out)         # when report.rows_failed
    job.close()
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields, replace
from functools import cache
from typing import Any, Literal, Protocol, get_args, get_origin, get_type_hints

from airflow_provider_cio.sync.columns import ColumnPlan, IdentifyBy, ImportType, plan_columns
from airflow_provider_cio.sync.engine import CancellableWorkspace, DryRunWorkspace, SyncEngine, SyncProgress
from airflow_provider_cio.sync.errors import ErrorLog
from airflow_provider_cio.sync.limits import MAX_ROWS
from airflow_provider_cio.sync.mirror import (
    MirrorOptions,
    MirrorRun,
    OnRemoved,
    SyncMode,
    check_max_removed,
)
from airflow_provider_cio.sync.ops import EmptyValues, ObjectOps, OpBuilder, PeopleOps
from airflow_provider_cio.sync.outcomes import FAILED_ATTRIBUTE_CHANGE, SUPPRESSED
from airflow_provider_cio.sync.raw_columns import ConvertingBuilder, RawColumns, raw_converters
from airflow_provider_cio.sync.reconcile import ActivityLog, settled_activities, trace_to_rows
from airflow_provider_cio.sync.report import SyncReport
from airflow_provider_cio.sync.values import ValueRules

OnSuppressed = Literal["succeed", "fail"]
log = logging.getLogger(__name__)


def check_choice(name: str, value: Any, choices: Sequence[str]) -> None:
    """A clear error for a setting outside its choices (raised at DAG parse time by the operators).

    :raises ValueError: ``value`` is not one of ``choices``.
    """
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, not {value!r}")


@dataclass(frozen=True)
class SyncSettings:
    """How a sync reads and sends rows (the operators' parameters of the same names).

    :param import_type: ``people``, ``objects`` or ``relationships``.
    :param identify_by: how people are identified: ``id`` or ``email``.
    :param object_type_id: the object type of rows without an ``object_type_id`` column value.
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
        the last successful sync; remove what left the query, see :mod:`~airflow_provider_cio.sync.mirror`).
    :param on_removed: mirror mode: what happens to rows that left the query (``ignore``, ``delete``,
        ``suppress``).
    :param max_removed: mirror mode: the most rows one run may remove (a count, or ``"N%"`` of the
        previous snapshot).
    """

    import_type: ImportType
    identify_by: IdentifyBy = "id"
    object_type_id: str = "1"
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


@cache
def literal_choices(cls: type) -> dict[str, tuple[str, ...]]:
    """``field name -> allowed values`` for each field of a dataclass whose type is a ``Literal``."""
    hints = get_type_hints(cls)
    return {item.name: get_args(hints[item.name]) for item in fields(cls) if get_origin(hints[item.name]) is Literal}


class SyncWorkspace(CancellableWorkspace, ActivityLog, Protocol):
    """The workspace a :class:`SyncJob` syncs into: ``CustomerIOHook``, or a test double with the same methods."""

    requests_sent: int
    """HTTP requests made so far (for the report)."""

    @property
    def can_read_activities(self) -> bool:
        """Whether the activity log can be read (the connection has an App API key)."""
        ...

    def ensure_manual_segment(self, name: str, description: str = "") -> int:
        """The id of the manual segment of this name, created when missing."""
        ...

    def add_to_segment(self, segment_id: int | str, ids: Iterable[str], id_type: str = "id") -> int:
        """Add people to a manual segment; return how many were sent."""
        ...

    def remove_from_segment(self, segment_id: int | str, ids: Iterable[str], id_type: str = "id") -> int:
        """Remove people from a manual segment (mirror mode); return how many were sent."""
        ...


@dataclass
class SegmentTarget:
    """The manual segment synced people are added to: by id, or by name (created when missing)."""

    segment_id: int | None = None
    segment_name: str | None = None
    description: str = field(default="People synced from MySQL or PostgreSQL by Airflow (airflow-provider-cio).")


def builder_for(plan: ColumnPlan, settings: SyncSettings) -> OpBuilder:
    """The op builder for the query's import type."""
    if plan.import_type == "people":
        return PeopleOps(plan, settings.empty_values)
    if plan.import_type == "objects":
        return ObjectOps(plan, settings.object_type_id, settings.empty_values)
    from airflow_provider_cio.sync.relationships import RelationshipOps

    return RelationshipOps(plan, settings.object_type_id, settings.empty_values)


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
        self.mirror_options = mirror
        self.mirror: MirrorRun | None = None
        self.workspace = workspace
        self.segment = segment
        self.progress = progress
        self.progress_interval = progress_interval
        self.workdir = workdir
        self.log = logger
        self.values = ValueRules(settings.timezone)
        self.plan: ColumnPlan | None = None
        self.engine: SyncEngine | None = None
        self.failure: BaseException | None = None
        self._started_at = 0

    @property
    def errors(self) -> ErrorLog:
        """The failed rows (available once :meth:`run` has planned the columns)."""
        assert self.engine is not None, "run() first"
        return self.engine.errors

    def text_converters(self) -> dict[int, Any]:
        """Converters for the MySQL driver: leave dates, times and decimals as the text the server sent.

        :meth:`run` converts them a column of a block at a time (:mod:`~airflow_provider_cio.sync.raw_columns`),
        which costs less than the driver converting each value as it reads; a mirror sync converts only
        the rows it sends. A cursor opened without them hands over the driver's usual objects, which
        the sync converts by type.
        """
        return raw_converters(self.values.text_converters())

    def plan_for(self, description: Any) -> ColumnPlan:
        """Check the query's columns against the rules (raises ``QueryError``)."""
        settings = self.settings
        return plan_columns(
            description,
            settings.import_type,
            settings.identify_by,
            json_columns=settings.json_columns,
            values=self.values,
        )

    def run(self, cursor: Any, last_sync_time: int = 0) -> SyncReport:
        """Sync every row of ``cursor``; return the report (check ``report.failed``)."""
        started = time.monotonic()
        self._started_at = int(time.time())
        settings = self.settings
        self.plan = self.plan_for(cursor.description)
        for note in self.plan.ignored:
            self.log.info("Column not sent: %s", note)
        workspace = DryRunWorkspace() if settings.dry_run else self.workspace
        builder = builder_for(self.plan, settings)
        raw = RawColumns.for_description(cursor.description, self.values)
        if raw is not None:
            builder = ConvertingBuilder(builder, raw)
        if self.mirror_options is not None and settings.sync_mode == "mirror":
            self.mirror = self._start_mirror(cursor.description)
            builder = self.mirror.wrap(builder, self.plan, settings.object_type_id, raw)
        self.engine = SyncEngine(
            builder,
            workspace,
            concurrency=settings.concurrency,
            max_concurrency=settings.max_concurrency,
            fetch_size=settings.fetch_size,
            max_rows=settings.max_rows,
            progress=self.progress,
            progress_interval=self.progress_interval,
            workdir=self.workdir,
            settled=self.mirror.settled if self.mirror is not None else None,
        )
        report = SyncReport(
            import_type=settings.import_type,
            last_sync_time=last_sync_time,
            dry_run=settings.dry_run,
            suppressed_fail=settings.on_suppressed == "fail",
            sync_mode=settings.sync_mode,
        )
        try:
            result = self.engine.run(cursor)
            if result.error is not None:
                raise result.error
            if not settings.dry_run:
                suppressed_rows = self._trace_late_failures(report)
                self._fill_segment(report, suppressed_rows)
            if self.mirror is not None:
                self._handle_removed(report)
        except Exception as error:  # reported; the operator pushes the report, then fails the task
            self.failure = error
            report.error = f"{type(error).__name__}: {error}"
        except BaseException:  # interrupted: keep what the workspace accepted, for the next run
            if self.mirror is not None:
                self.mirror.checkpoint()
            raise
        self._count(report)
        if self.mirror is not None:
            self._finish_mirror(report)
        report.duration_seconds = time.monotonic() - started
        return report

    def _start_mirror(self, description: Any) -> MirrorRun:
        """Load the task's last snapshot, with what stopped runs delivered since."""
        assert self.mirror_options is not None
        settings, target = self.settings, self.segment
        segment = None if target is None else [target.segment_id, target.segment_name]
        keys = [settings.import_type, settings.identify_by, settings.object_type_id, segment]
        values = [
            [column[0] for column in description],
            settings.empty_values,
            settings.json_columns,
            settings.timezone,
        ]
        mirror = MirrorRun(
            replace(self.mirror_options, segment=bool(segment)),
            import_type=settings.import_type,
            identify_by=settings.identify_by,
            key_fingerprint=fingerprint(keys),
            value_fingerprint=fingerprint(values),
            workdir=self.workdir,
            dry_run=settings.dry_run,
            logger=self.log,
        )
        mirror.load()
        return mirror

    def _handle_removed(self, report: SyncReport) -> None:
        """Rows of the last snapshot that left the query: out of the segment, then ``on_removed``."""
        mirror = self.mirror
        assert mirror is not None and self.engine is not None
        if self.engine.stopped or self.engine.result.row_limit_reached:  # rows not read are not removed
            return
        removed = mirror.removed_count()
        if not removed:
            return
        if not mirror.acts_on_removals:
            for chunk in mirror.removed_keys():
                mirror.forget_removed(chunk)
            return
        mirror.check_guard(removed)
        if self.settings.dry_run:
            report.would_remove = removed
            return
        keys = [key for chunk in mirror.removed_keys() for key in chunk]  # at most max_removed
        if report.segment_id is not None:
            report.people_removed_from_segment = self.workspace.remove_from_segment(
                report.segment_id, keys, id_type=self.settings.identify_by
            )
            self.log.info("Removed %d people from segment %s", report.people_removed_from_segment, report.segment_id)
        if mirror.options.on_removed == "ignore":
            mirror.forget_removed(keys)
            return
        mirror.forget_removed(mirror.remove(self.workspace, keys))
        report.rows_removed = mirror.rows_removed
        report.removals_failed = len(mirror.removals_refused)
        for refused in mirror.removals_refused[:20]:
            self.log.warning("Not removed: %s (%s)", refused.identifier, refused.message)
        self.log.info(
            "Removed (%s) %d %s that left the query",
            mirror.options.on_removed,
            report.rows_removed,
            self.settings.import_type,
        )

    def _finish_mirror(self, report: SyncReport) -> None:
        """Count the unchanged rows; after a successful run, store the new snapshot."""
        mirror = self.mirror
        assert mirror is not None
        report.rows_unchanged = mirror.rows_unchanged
        if self.settings.dry_run:
            return
        if self.engine is not None and self.settings.import_type == "people":
            late = [e.identifier for e in self.engine.errors if e.error_type == FAILED_ATTRIBUTE_CHANGE]
            mirror.mark_dirty([key.lower() if self.settings.identify_by == "email" else key for key in late])
        if report.failed:
            mirror.checkpoint()
            return
        pointer = mirror.write_snapshot()
        report.snapshot = pointer["name"]

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
        if self.mirror is not None:
            self.mirror.close()

    def _count(self, report: SyncReport) -> None:
        """Fill the report's counts from the engine's result and the error log."""
        assert self.engine is not None
        result = self.engine.result
        by_type = self.engine.errors.counts_by_type()
        report.errors_by_type = {kind: count for kind, count in by_type.items() if kind != SUPPRESSED}
        report.rows_failed = sum(report.errors_by_type.values())
        report.rows_read = result.rows_read
        report.rows_not_sent = result.rows_not_sent
        report.row_limit_reached = result.row_limit_reached
        report.requests_sent = self.workspace.requests_sent
        if self.settings.dry_run:
            report.would_send = {"rows": result.rows_accepted, "ops": result.ops_sent, "batches": result.batches_sent}
            return
        late_failed = by_type.get(FAILED_ATTRIBUTE_CHANGE, 0)
        report.rows_sent = result.rows_accepted - late_failed - report.rows_suppressed
        report.ops_sent, report.batches_sent = result.ops_sent, result.batches_sent

    def _trace_late_failures(self, report: SyncReport) -> set[int]:
        """Read the activity log for failed attribute changes and suppressed people; return suppressed rows."""
        settings = self.settings
        if settings.import_type != "people":
            return set()
        if not self.workspace.can_read_activities:
            self.log.warning(
                "The connection has no App API key: failed attribute changes and suppressed people cannot be "
                "seen, so they are counted as sent. Add the app_api_key extra to report them per row."
            )
            return set()
        assert self.engine is not None
        activities = settled_activities(
            self.workspace,
            self._started_at,
            settle_seconds=settings.activity_settle_seconds,
            timeout=settings.activity_timeout,
        )
        late = trace_to_rows(activities, settings.identify_by, self.engine.identifiers, self.engine.errors)
        report.failed_changes_checked = True
        self.engine.errors.add(late.failed)
        report.rows_suppressed = len(late.suppressed)
        if settings.on_suppressed == "fail":
            self.engine.errors.add(late.suppressed)
        return {error.row_number for error in late.suppressed}

    def _fill_segment(self, report: SyncReport, suppressed_rows: set[int]) -> None:
        """Add the people this sync applied to the manual segment."""
        target = self.segment
        if target is None or (target.segment_id is None and not target.segment_name):
            return
        if target.segment_id is not None:
            segment_id = int(target.segment_id)
        else:
            segment_id = self.workspace.ensure_manual_segment(target.segment_name or "", target.description)
        report.segment_id = segment_id
        report.people_added_to_segment = self.workspace.add_to_segment(
            segment_id, self._applied_people(suppressed_rows), id_type=self.settings.identify_by
        )
        self.log.info("Added %d people to segment %s", report.people_added_to_segment, segment_id)

    def _applied_people(self, suppressed_rows: set[int]) -> Iterator[str]:
        assert self.engine is not None
        errors = self.engine.errors
        for row_number, key in self.engine.identifiers:
            if not errors.has(row_number) and row_number not in suppressed_rows:
                yield key


def fingerprint(parts: Any) -> str:
    """A short stable hash of settings (to tell whether a snapshot was made with the same ones)."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]
