"""What every sync operator shares: ``last_sync_time``, the MySQL stream, the report, the error CSV.

``last_sync_time`` is the start (Unix seconds, rounded down) of the most recent earlier DagRun in which
this same task succeeded, minus ``lookback_seconds``; 0 before the first success. A failed run, a run
with failed rows and a skipped run never advance it; manual runs read and advance it like scheduled
ones. Each successful sync leaves its DagRun's start as an XCom of the task (key ``cio_sync_watermark``,
``cio_sync_watermark_<map index>`` for a mapped task); the next sync takes the greatest of them
(docs/scheduling.md says why not "the latest by logical date").
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseOperator, ObjectStoragePath
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from airflow_provider_cio.assets import announce_sync, check_outlets, records_name, workspace_outlets
from airflow_provider_cio.hooks.customerio import (
    CustomerIOError,
    CustomerIOHook,
    CustomerIOUnavailableError,
    RetryPolicy,
)
from airflow_provider_cio.hooks.mysql_errors import is_connection_error, is_mysql_error, mysql_message
from airflow_provider_cio.hooks.mysql_stream import MySQLQueryStream
from airflow_provider_cio.operators.lifeline import arm
from airflow_provider_cio.operators.links import ErrorReportLink
from airflow_provider_cio.storage import ObjectStore, error_report_uri, snapshot_folder
from airflow_provider_cio.sync.columns import IdentifyBy, ImportType, QueryError
from airflow_provider_cio.sync.engine import SyncProgress
from airflow_provider_cio.sync.job import SegmentTarget, SyncJob, SyncSettings, check_choice
from airflow_provider_cio.sync.limits import MAX_ROWS
from airflow_provider_cio.sync.mirror import MassRemovalError, MirrorOptions, OnRemoved, SyncMode
from airflow_provider_cio.sync.ops import EmptyValues
from airflow_provider_cio.sync.report import SyncReport

if TYPE_CHECKING:
    from datetime import datetime

    import jinja2
    from airflow.providers.openlineage.extractors import OperatorLineage
    from airflow.sdk import Context

WATERMARK_KEY = "cio_sync_watermark"
SNAPSHOT_KEY = "cio_mirror_snapshot"


def watermark_key(map_index: int | None, key: str = WATERMARK_KEY) -> str:
    """The XCom key holding a sync task's watermark (one per map index of a mapped task)."""
    return key if map_index is None or map_index < 0 else f"{key}_{map_index}"


def latest_snapshot(pointers: Sequence[Any], run_start: datetime | None) -> dict[str, Any] | None:
    """The snapshot pointer recorded by the latest successful run that started before ``run_start``."""
    limit = run_start.timestamp() if run_start is not None else float("inf")
    earlier = [p for p in pointers if isinstance(p, dict) and p.get("run_start", 0) <= limit]
    return max(earlier, key=lambda p: p.get("run_start", 0), default=None)


def latest_watermark(watermarks: Sequence[Any], run_start: datetime | None) -> int:
    """The greatest watermark (Unix seconds) not after ``run_start``, or 0 when there is none."""
    limit = run_start.timestamp() if run_start is not None else float("inf")
    earlier = [int(value) for value in watermarks if value is not None and int(value) <= limit]
    return max(earlier, default=0)


class BaseSyncOperator(BaseOperator):
    """Runs a query on MySQL and syncs its rows into a Customer.io workspace (base of the sync operators).

    Run one sync per workspace at a time. Give every sync task of a workspace the same one-slot pool,
    ``pool=workspace_pool("customerio_default")`` (from ``airflow_provider_cio.pools``), and give the
    DAG ``max_active_runs=1, catchup=False``.

    .. warning::
        Create the pool before the DAG's first run: ``cio-retl create-pool --conn-id customerio_default``.
        A task that names a pool that does not exist is never started. It waits in ``scheduled``
        forever, nothing fails, and only the scheduler's log says why ("Tasks using non-existent pool
        ... will not be scheduled"). The task cannot detect this itself, because it never runs.
        ``dag.test()`` ignores pools, so tests do not catch it either.

    ``last_sync_time`` is the start of the last DagRun in which this task succeeded (docs/scheduling.md).

    :param sql: the SELECT query, or a path ending in ``.sql`` (templated). ``{{ last_sync_time }}`` is
        the start of the last successful sync in Unix seconds (0 before the first).
    :param mysql_conn_id: the Airflow MySQL connection to read from.
    :param customerio_conn_id: the ``customerio`` connection of the workspace.
    :param identify_by: how people are identified: ``id`` or ``email``.
    :param object_type_id: the object type of rows without an ``object_type_id`` column (default "1").
    :param empty_values: NULL and empty values: ``ignore`` (keep what the workspace has) or ``delete``.
    :param json_columns: columns holding JSON text to send as nested values (MariaDB reports JSON
        columns as text; MySQL's JSON type is recognised on its own).
    :param timezone: the time zone naive DATETIME and DATE values are read in (default UTC).
    :param lookback_seconds: seconds subtracted from ``last_sync_time``, for transactions that commit
        late and for clock skew between Airflow and MySQL: rows may be sent twice, never lost.
    :param error_report_path: where the error CSV is written (templated; any ``ObjectStoragePath`` URI,
        e.g. ``s3://conn@bucket/key.csv``). Default: under ``<[customerio] storage_base>/cio_error_reports/``.
    :param sync_mode: ``upsert`` (default): every row of the query is sent (filter it on
        ``{{ last_sync_time }}``). ``mirror``: the query returns the whole desired set on every run; only
        the rows that changed since the last successful run are sent, and rows that left the query are
        handled as ``on_removed`` says (docs/mirror.md).
    :param on_removed: mirror mode: what happens in the workspace to a row that left the query (see the
        operator's choices and defaults).
    :param max_removed: mirror mode: the most rows one run may remove, a count or ``"N%"`` of the last
        snapshot (default ``"10%"``). A run that would remove more removes nothing and fails.
    :param snapshot_base: mirror mode: the ``ObjectStoragePath`` URI under which snapshots are kept,
        overriding ``[customerio] storage_base`` (snapshots go to ``<base>/cio_snapshots/<dag>/<task>``).
    :param checkpoint_interval: mirror mode: seconds between checkpoints of the rows the workspace
        accepted, from which a stopped run resumes (0: after every answered batch).
    :param dry_run: read, check and build everything, send nothing; the report says what would be sent.
    :param concurrency: batch requests in flight at once, fixed. Default: adapt to the workspace's
        answers (more while it answers promptly, fewer on 429, 503 or rising latency), up to
        ``max_concurrency``.
    :param max_concurrency: the most batch requests in flight when ``concurrency`` is not set.
    :param fetch_size: rows fetched from MySQL at a time.
    :param max_rows: the most rows one sync sends (at most 10,000,000); a query returning more fails
        after sending that many.
    :param request_timeout: seconds to wait for each workspace response before retrying.
    :param request_attempts: attempts per workspace request, the first included. A 408, 429, 5xx answer,
        a timeout or a dropped connection is retried with exponential backoff, never sooner than the
        answer's ``Retry-After``, for at most 300 s per request; when every attempt failed the sync stops,
        reports what it sent, and the task fails (with Airflow's ``retries``, if any).
    :param progress_interval: seconds between progress lines in the task log.
    """

    template_fields: Sequence[str] = ("sql", "error_report_path")
    template_ext: Sequence[str] = (".sql",)
    template_fields_renderers: ClassVar[dict[str, str]] = {"sql": "sql"}
    ui_color = "#ffcc5c"
    operator_extra_links = (ErrorReportLink(),)
    import_type: ImportType = "people"
    # The public parameter shadows BaseOperator.dry_run(), a method Airflow 3 never calls.
    dry_run: bool  # type: ignore[assignment]
    on_removed_choices: ClassVar[tuple[OnRemoved, ...]] = ("ignore", "delete")
    mirror_on_removed: ClassVar[OnRemoved] = "ignore"
    """``on_removed`` when the DAG does not set it, in mirror mode."""

    def __init__(
        self,
        *,
        sql: str,
        mysql_conn_id: str = "mysql_default",
        customerio_conn_id: str = CustomerIOHook.default_conn_name,
        identify_by: IdentifyBy = "id",
        object_type_id: str = "1",
        empty_values: EmptyValues | None = None,
        json_columns: Sequence[str] = (),
        timezone: str = "UTC",
        lookback_seconds: int = 0,
        error_report_path: str | None = None,
        dry_run: bool = False,
        concurrency: int | None = None,
        max_concurrency: int = 16,
        fetch_size: int = 5000,
        max_rows: int = MAX_ROWS,
        request_timeout: float = 60.0,
        request_attempts: int = RetryPolicy.max_attempts,
        progress_interval: float = 10.0,
        sync_mode: SyncMode = "upsert",
        on_removed: OnRemoved | None = None,
        max_removed: int | str = "10%",
        snapshot_base: str | None = None,
        checkpoint_interval: float = 10.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if empty_values is None:  # a mirror removes what became NULL, so the workspace equals the query
            empty_values = "delete" if sync_mode == "mirror" else "ignore"
        if on_removed is None:
            on_removed = self.mirror_on_removed if sync_mode == "mirror" else "ignore"
        check_choice("on_removed", on_removed, self.on_removed_choices)  # this operator's; SyncSettings: all
        if sync_mode == "mirror" and "last_sync_time" in sql:
            raise ValueError(
                "sync_mode='mirror' compares the whole result of the query on every run: remove the "
                "{{ last_sync_time }} filter (rows it leaves out would count as removed)"
            )
        if lookback_seconds < 0:
            raise ValueError(f"lookback_seconds must be 0 or more, not {lookback_seconds}")
        if request_attempts < 1:
            raise ValueError(f"request_attempts must be at least 1, not {request_attempts}")
        self.sql = sql
        self.mysql_conn_id = mysql_conn_id
        self.customerio_conn_id = customerio_conn_id
        self.identify_by = identify_by
        self.object_type_id = str(object_type_id)
        self.empty_values = empty_values
        self.json_columns = tuple(json_columns)
        self.timezone = timezone
        self.lookback_seconds = lookback_seconds
        self.error_report_path = error_report_path
        self.dry_run = dry_run
        self.concurrency = concurrency
        self.max_concurrency = max_concurrency
        self.fetch_size = fetch_size
        self.max_rows = max_rows
        self.request_timeout = request_timeout
        self.request_attempts = request_attempts
        self.progress_interval = progress_interval
        self.sync_mode = sync_mode
        self.on_removed = on_removed
        self.max_removed = max_removed
        self.snapshot_base = snapshot_base
        self.checkpoint_interval = checkpoint_interval
        self._job: SyncJob | None = None
        self._stream: Any = None
        self._report: dict[str, Any] | None = None
        BaseSyncOperator.settings(self)  # checks the shared settings at DAG parse time (ValueError)

    @cached_property
    def hook(self) -> CustomerIOHook:
        """The workspace hook."""
        return CustomerIOHook(
            self.customerio_conn_id,
            timeout=self.request_timeout,
            retry=RetryPolicy(max_attempts=self.request_attempts),
            max_connections=max(2, self.concurrency or self.max_concurrency),
        )

    def settings(self) -> SyncSettings:
        """The sync settings of this task (the subclasses add theirs)."""
        return SyncSettings(
            import_type=self.import_type,
            identify_by=self.identify_by,
            object_type_id=self.object_type_id,
            empty_values=self.empty_values,
            json_columns=self.json_columns,
            timezone=self.timezone,
            concurrency=self.concurrency,
            max_concurrency=self.max_concurrency,
            fetch_size=self.fetch_size,
            max_rows=self.max_rows,
            dry_run=self.dry_run,
            sync_mode=self.sync_mode,
            on_removed=self.on_removed,
            max_removed=self.max_removed,
        )

    def mirror_options(self, context: Context) -> MirrorOptions | None:
        """Where this task's snapshots live and which one its last successful run recorded (mirror mode)."""
        if self.sync_mode != "mirror":
            return None
        ti = context["ti"]
        folder = snapshot_folder(context["dag"].dag_id, self.task_id, ti.map_index, self.snapshot_base)
        key = watermark_key(ti.map_index, SNAPSHOT_KEY)
        pulled = ti.xcom_pull(task_ids=self.task_id, key=key, include_prior_dates=True)
        pointer = latest_snapshot(pulled if isinstance(pulled, list) else [pulled], context["dag_run"].start_date)
        return MirrorOptions(
            on_removed=self.on_removed,
            max_removed=self.max_removed,
            store=ObjectStore(folder),
            pointer=pointer,
            checkpoint_interval=self.checkpoint_interval,
        )

    def segment(self) -> SegmentTarget | None:
        """The manual segment to fill (people syncs only)."""
        return None

    # last_sync_time -------------------------------------------------------------------------------

    def _do_render_template_fields(
        self,
        parent: Any,
        template_fields: Iterable[str],
        context: Context,
        jinja_env: jinja2.Environment,
        seen_oids: set[int],
    ) -> None:
        """Resolve ``last_sync_time`` into the context (once), then render the templated fields.

        Airflow renders a plain task and each instance of a mapped (``.expand()``) task through this
        method; ``render_template_fields`` is not called for mapped tasks.
        """
        if "last_sync_time" not in context:
            context["last_sync_time"] = self.resolve_last_sync_time(context)  # type: ignore[typeddict-unknown-key]
        super()._do_render_template_fields(parent, template_fields, context, jinja_env, seen_oids)

    def resolve_last_sync_time(self, context: Context) -> int:
        """The start of this task's last successful sync (minus the look-back), or 0.

        Every earlier watermark of the task is read and the greatest that is not after this run's start
        wins. Airflow's "latest XCom" orders runs by logical date, which a manual run does not have: it
        would hide a manual run's sync from the next scheduled run (or, on PostgreSQL, pin every later
        run to the manual run's start).
        """
        ti = context["ti"]
        pulled = ti.xcom_pull(task_ids=self.task_id, key=watermark_key(ti.map_index), include_prior_dates=True)
        run_start = context["dag_run"].start_date
        latest = latest_watermark(pulled if isinstance(pulled, list) else [pulled], run_start)
        return max(0, latest - self.lookback_seconds) if latest else 0

    # lineage --------------------------------------------------------------------------------------

    def get_openlineage_facets_on_start(self) -> OperatorLineage:
        """OpenLineage: the query's MySQL tables in, the workspace's records out (operators/lineage.py)."""
        from airflow_provider_cio.operators.lineage import sync_lineage

        return sync_lineage(self, None)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage:
        """OpenLineage at the end: the lineage with the sync's counts (rows sent, failed, by error type)."""
        from airflow_provider_cio.operators.lineage import sync_lineage

        return sync_lineage(self, self._report)

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> OperatorLineage:
        """OpenLineage for a failed sync: the counts of its report, when it got as far as one."""
        from airflow_provider_cio.operators.lineage import sync_lineage

        return sync_lineage(self, self._report)

    # execute --------------------------------------------------------------------------------------

    def execute(self, context: Context) -> dict[str, Any]:
        """Run the sync; push the report; fail the task (without retry) when any row failed."""
        last_sync_time = int(context.get("last_sync_time") or 0)  # type: ignore[call-overload]
        self.log.info(
            "Syncing %s into the workspace of connection %r from %s; last_sync_time=%d%s",
            self.import_type,
            self.customerio_conn_id,
            self.source_name(),
            last_sync_time,
            " (dry run: nothing is sent)" if self.dry_run else "",
        )
        outlets = workspace_outlets(self.outlets)
        if outlets:  # an outlet naming another workspace or other records fails before anything is sent
            try:
                check_outlets(outlets, self.hook.settings, records_name(self.import_type, self.object_type_id))
            except ValueError as error:
                raise AirflowFailException(str(error)) from None
        self._job = SyncJob(
            self.settings(),
            self.hook,
            segment=self.segment(),
            progress=self._log_progress,
            progress_interval=self.progress_interval,
            workdir=tempfile.gettempdir(),
            logger=self.log,
            mirror=self.mirror_options(context),
        )
        self._stream = self.open_stream()
        finished = False
        lifeline = arm(self.on_kill)  # the sync dies with the process supervising this task (no orphan)
        try:
            try:
                cursor = self._stream.execute(self.sql, self._job.text_converters())
                report = self._job.run(cursor, last_sync_time)
            except QueryError as error:
                self._fail_before_sending(context, last_sync_time, str(error), retry=False)
            except Exception as error:
                if not self.is_source_error(error):
                    raise
                message = self.source_message(error)
                self._fail_before_sending(context, last_sync_time, message, retry=self.source_retry_may_help(error))
            except BaseException as error:  # the task's execution_timeout, or the task killed
                self._log_stopped(error)
                raise
            if self._job.failure is not None and self.is_source_error(self._job.failure):
                report.error = self.source_message(self._job.failure)
            finished = not report.error and not report.row_limit_reached
            if self._job.errors.count:  # failed rows, and suppressed people under on_suppressed="fail"
                report.error_report = self._write_error_report(context)
        finally:
            lifeline.disarm()
            self._stream.close(finished=finished)
            self._job.close()
            self.hook.close()
        return self._publish(context, report)

    # the source (the Postgres operators override these) --------------------------------------------

    def open_stream(self) -> Any:
        """The stream the query runs in (``execute``, ``cancel``, ``close``): MySQL's here."""
        return MySQLQueryStream(self.mysql_conn_id)

    def source_lineage(self) -> OperatorLineage:
        """OpenLineage: the tables the rendered query reads, named for the source connection."""
        from airflow_provider_cio.operators.lineage import mysql_lineage

        return mysql_lineage(self.sql, self.mysql_conn_id)

    def source_name(self) -> str:
        """The source connection, as the task log names it."""
        return f"MySQL connection {self.mysql_conn_id!r}"

    def is_source_error(self, error: BaseException) -> bool:
        """Whether an exception is the source driver's."""
        return is_mysql_error(error)

    def source_message(self, error: BaseException) -> str:
        """A source driver error as a sentence naming the connection and saying what to fix."""
        return mysql_message(error, self.mysql_conn_id)

    def source_retry_may_help(self, error: BaseException) -> bool:
        """Whether a source driver error is about the connection (a retry may help) rather than the query."""
        return is_connection_error(error)

    def on_kill(self) -> None:
        """Stop reading and sending: cancel the query on the source and cancel in-flight requests."""
        if self._job is not None:
            self._job.cancel(self.hook.cancelled_error())
        if "hook" in self.__dict__:
            self.hook.cancel()
        if self._stream is not None:
            self._stream.cancel()

    def _log_stopped(self, error: BaseException) -> None:
        """Say in the task log how far the sync got when Airflow stopped it (it pushes no report then)."""
        engine = self._job.engine if self._job is not None else None
        self.log.warning(
            "The sync was stopped (%s) after %d rows read and %d sent; no report is pushed and last_sync_time "
            "is not advanced: the next run sends these rows again",
            type(error).__name__,
            engine.result.rows_read if engine is not None else 0,
            engine.result.rows_accepted if engine is not None else 0,
        )

    def _publish(self, context: Context, report: SyncReport) -> dict[str, Any]:
        self.log.info("%s", report.summary())
        report.settings = self.report_settings()
        data = self._report = report.to_xcom()
        if not report.failed:
            announce_sync(context, self.outlets, data, self.import_type, self.dry_run)
            if not self.dry_run:
                ti = context["ti"]
                start = context["dag_run"].start_date
                assert start is not None, "a running DagRun has started"
                ti.xcom_push(key=watermark_key(ti.map_index), value=int(start.timestamp()))
                self._record_snapshot(context)
            return data
        context["ti"].xcom_push(key="return_value", value=data)
        message = report.failure_message()
        failure = self._job.failure if self._job is not None else None
        retry = self.source_retry_may_help(failure) if failure and self.is_source_error(failure) else None
        if report.error and not (report.rows_failed or report.row_limit_reached) and retry_may_help(failure, retry):
            raise AirflowException(message)
        raise AirflowFailException(message)

    def report_settings(self) -> dict[str, Any]:
        """The settings the report carries for the syncs page (names and choices, never secrets)."""
        settings = self.settings()
        segment = self.segment()
        return {
            "customerio_conn_id": self.customerio_conn_id,
            "source_conn_id": getattr(self, "postgres_conn_id", None) or self.mysql_conn_id,
            "identify_by": settings.identify_by,
            "empty_values": settings.empty_values,
            "on_removed": settings.on_removed if settings.sync_mode == "mirror" else None,
            "segment_name": segment.segment_name if segment is not None else None,
            "segment_id": segment.segment_id if segment is not None else None,
        }

    def _record_snapshot(self, context: Context) -> None:
        """Point the task at the snapshot this successful mirror run stored, then drop older files."""
        mirror = self._job.mirror if self._job is not None else None
        if mirror is None or mirror.new_pointer is None:
            return
        ti = context["ti"]
        start = context["dag_run"].start_date
        assert start is not None, "a running DagRun has started"
        pointer = {**mirror.new_pointer, "run_start": start.timestamp()}
        ti.xcom_push(key=watermark_key(ti.map_index, SNAPSHOT_KEY), value=pointer)
        try:
            mirror.clean_up(mirror.options.pointer)
        except Exception as error:  # leftovers cost storage only: the pointer names the snapshot to use
            self.log.warning("Could not delete old snapshot files (%s): %s", type(error).__name__, error)

    def _fail_before_sending(self, context: Context, last_sync_time: int, message: str, *, retry: bool) -> None:
        report = SyncReport(
            import_type=self.import_type, last_sync_time=last_sync_time, error=message, settings=self.report_settings()
        )
        self._report = report.to_xcom()
        context["ti"].xcom_push(key="return_value", value=self._report)
        raise (AirflowException if retry else AirflowFailException)(f"{message}. Nothing was sent.")

    def _write_error_report(self, context: Context) -> str:
        assert self._job is not None
        uri = self.error_report_path or error_report_uri(
            context["dag"].dag_id, self.task_id, context["run_id"], context["ti"].map_index
        )
        path = ObjectStoragePath(uri)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w") as out:
            self._job.errors.write_csv(out)
        self.log.info("Error report: %s (%d rows)", uri, self._job.errors.count)
        return uri

    def _log_progress(self, progress: SyncProgress) -> None:
        """A task log line: rows read, rows the workspace accepted so far, rows read per second, rows in flight."""
        self.log.info(
            "Progress: %d rows read, %d %s, %.0f rows/s, %d in flight",
            progress.rows_read,
            progress.rows_accepted,
            "would be sent" if self.dry_run else "sent",
            progress.rows_per_second,
            progress.rows_in_flight,
        )


def retry_may_help(error: BaseException | None, source_retry: bool | None = None) -> bool:
    """Whether running the task again may succeed: a service was unavailable rather than refusing us.

    Refused credentials, a failed TLS verification, a request the workspace refuses and MySQL errors
    about the query fail the task without retries; an unreachable or overloaded workspace or MySQL
    server, and anything unexpected, leave Airflow's ``retries`` to act.

    :param source_retry: the source operator's verdict when ``error`` is its driver's.
    """
    if source_retry is not None:
        return source_retry
    if isinstance(error, CustomerIOError):
        return isinstance(error, CustomerIOUnavailableError)
    if isinstance(error, MassRemovalError):
        return False
    if error is not None and is_mysql_error(error):
        return is_connection_error(error)
    return True
