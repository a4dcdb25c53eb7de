"""BaseSyncOperator: what every sync operator shares, a thin shell over the parts of this package.

Its arguments are checked here, at DAG parse time. ``last_sync_time`` comes from
:mod:`~airflow_provider_cio.operators.last_sync_time`, the query's rows from the source the operator holds
(``self.source``, from :func:`~airflow_provider_cio.sources.registry.source_for` when the task runs), a mirror's
last snapshot from :mod:`~airflow_provider_cio.operators.snapshots`; a
:class:`~airflow_provider_cio.operators.run.SyncTaskRun` runs the sync and a
:class:`~airflow_provider_cio.operators.publish.ReportPublisher` leaves its report behind.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseOperator

from airflow_provider_cio.assets import records_name
from airflow_provider_cio.hooks.customerio import CustomerIOHook, RetryPolicy
from airflow_provider_cio.operators.last_sync_time import check_last_sync_time_arguments, resolve_last_sync_time
from airflow_provider_cio.operators.links import ErrorReportLink
from airflow_provider_cio.operators.openlineage import SyncLineage
from airflow_provider_cio.operators.publish import ReportPublisher, report_settings
from airflow_provider_cio.operators.run import SyncTaskRun
from airflow_provider_cio.operators.snapshots import mirror_options
from airflow_provider_cio.sources.registry import Source, SourceOptions, source_for
from airflow_provider_cio.sync.after_sync import SegmentTarget
from airflow_provider_cio.sync.convert.columns import IdentifyBy, ImportType
from airflow_provider_cio.sync.job import SyncJob
from airflow_provider_cio.sync.limits import MAX_ROWS
from airflow_provider_cio.sync.mirror.options import OnRemoved, SyncMode
from airflow_provider_cio.sync.records.ops import EmptyValues
from airflow_provider_cio.sync.settings import SyncSettings, check_choice

if TYPE_CHECKING:
    import jinja2
    from airflow.sdk import Context

CONN_PARAMETERS = ("conn_id", "mysql_conn_id", "postgres_conn_id")
"""The connection parameters of the sync operators: each operator takes one of them."""


def refuse_other_connections(kwargs: Mapping[str, Any], reads: str) -> None:
    """Refuse another operator's connection parameter at DAG parse time.

    :param reads: the operator's own connection parameter, as the message names it.
    :raises TypeError: naming both parameters.
    """
    for name in CONN_PARAMETERS:
        if name in kwargs:
            raise TypeError(f"this operator reads {reads}; {name} does not apply")


class BaseSyncOperator(SyncLineage, BaseOperator):
    """Runs a query on a SQL connection and syncs its rows into a Customer.io workspace (the sync operators' base).

    It holds its source (``self.source``): the connection's type picks it when the task runs (docs/sources.md).

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
    :param conn_id: the Airflow connection to read from (default ``mysql_default``).
    :param customerio_conn_id: the ``customerio`` connection of the workspace.
    :param identify_by: how people are identified: ``id``, ``email`` or ``phone`` (E.164: ``+14155550123``).
    :param update_only: people only: update people who exist, create nobody (ops carry ``"_update": true``).
    :param object_type_id: the object type of rows without an ``object_type_id`` column (default "1").
    :param empty_values: NULL and empty values: ``ignore`` (keep what the workspace has) or ``delete``.
    :param json_columns: columns holding JSON text to send as nested values (e.g. MariaDB reports JSON
        columns as text; a JSON type the source reports is recognised on its own).
    :param timezone: the time zone naive date and time values are read in (default UTC).
    :param lookback_seconds: seconds subtracted from ``last_sync_time``, for transactions that commit
        late and for clock skew between Airflow and the database: rows may be sent twice, never lost.
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
    :param fetch_size: rows fetched from the source at a time.
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
    source_kind: ClassVar[str | None] = None
    """The source the operator is bound to (``mysql``, ``postgres``) whatever the connection type (None: its type)."""

    def __init__(
        self,
        *,
        sql: str,
        conn_id: str = "mysql_default",
        customerio_conn_id: str = CustomerIOHook.default_conn_name,
        identify_by: IdentifyBy = "id",
        update_only: bool = False,
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
        refuse_other_connections(kwargs, "conn_id (any SQL connection)")
        super().__init__(**kwargs)
        if empty_values is None:  # a mirror removes what became NULL, so the workspace equals the query
            empty_values = "delete" if sync_mode == "mirror" else "ignore"
        if on_removed is None:
            on_removed = self.mirror_on_removed if sync_mode == "mirror" else "ignore"
        check_choice("on_removed", on_removed, self.on_removed_choices)  # this operator's; SyncSettings: all
        check_last_sync_time_arguments(sql, sync_mode, lookback_seconds)
        if request_attempts < 1:
            raise ValueError(f"request_attempts must be at least 1, not {request_attempts}")
        self.sql = sql
        self.conn_id = conn_id
        self.customerio_conn_id = customerio_conn_id
        self.identify_by = identify_by
        self.update_only = update_only
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
        self._run: SyncTaskRun | None = None
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
            update_only=self.update_only,
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

    def segment(self) -> SegmentTarget | None:
        """The manual segment to fill (people syncs only)."""
        return None

    @cached_property
    def source(self) -> Source:
        """The source the query runs on, bound to ``conn_id`` when the task runs (never at DAG parse time)."""
        return source_for(self.conn_id, self.source_options(), kind=self.source_kind)

    def source_options(self) -> SourceOptions:
        """The settings the source reads (the PostgreSQL operators add ``statement_timeout``)."""
        return SourceOptions(timezone=self.timezone)

    def _do_render_template_fields(
        self,
        parent: Any,
        template_fields: Iterable[str],
        context: Context,
        jinja_env: jinja2.Environment,
        seen_oids: set[int],
    ) -> None:
        """Resolve ``last_sync_time`` (operators/last_sync_time.py) into the context (once), then render the
        templated fields.

        Airflow renders a plain task and each instance of a mapped (``.expand()``) task through this
        method; ``render_template_fields`` is not called for mapped tasks.
        """
        if "last_sync_time" not in context:
            last_sync_time = resolve_last_sync_time(context, self.task_id, self.lookback_seconds)
            context["last_sync_time"] = last_sync_time  # type: ignore[typeddict-unknown-key]
        super()._do_render_template_fields(parent, template_fields, context, jinja_env, seen_oids)

    def execute(self, context: Context) -> dict[str, Any]:
        """Run the sync; push the report; fail the task (without retry) when any row failed."""
        last_sync_time = int(context.get("last_sync_time") or 0)  # type: ignore[call-overload]
        settings = self.settings()
        publisher = ReportPublisher(
            context,
            task_id=self.task_id,
            import_type=self.import_type,
            dry_run=self.dry_run,
            outlets=self.outlets,
            settings=report_settings(settings, self.segment(), self.customerio_conn_id, self.source.conn_id),
            log=self.log,
            error_report_path=self.error_report_path,
        )
        publisher.log_start(self.customerio_conn_id, self.source.name, last_sync_time)
        publisher.check_outlets(self.hook, records_name(self.import_type, self.object_type_id))
        job = SyncJob(
            settings,
            self.hook,
            segment=self.segment(),
            progress=publisher.log_progress,
            progress_interval=self.progress_interval,
            workdir=tempfile.gettempdir(),
            logger=self.log,
            mirror=mirror_options(context, self.task_id, settings, self.snapshot_base, self.checkpoint_interval),
        )
        self._run = SyncTaskRun(job, self.source.open_stream(), self.source, publisher=publisher, hook=self.hook)
        return self._run.run(self.sql, last_sync_time)

    def sync_report(self) -> dict[str, Any] | None:
        """The report of this task's sync (its XCom ``return_value``), once it has one."""
        return self._run.publisher.data if self._run is not None else None

    def on_kill(self) -> None:
        """Stop reading and sending: cancel the query on the source and cancel in-flight requests."""
        if self._run is not None:
            self._run.cancel()
        elif "hook" in self.__dict__:
            self.hook.cancel()
