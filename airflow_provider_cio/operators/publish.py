"""What a sync task leaves behind: the task log's lines, the report (XCom), the error CSV, the advanced
``last_sync_time`` and snapshot pointer of a success, and the task's failure otherwise."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

from airflow.sdk import ObjectStoragePath
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from airflow_provider_cio.assets import announce_sync, check_outlets, workspace_outlets
from airflow_provider_cio.operators.last_sync_time import record_watermark
from airflow_provider_cio.operators.retry_advice import task_failure
from airflow_provider_cio.operators.snapshots import record_snapshot
from airflow_provider_cio.storage import error_report_uri
from airflow_provider_cio.sync.account.report import SyncReport

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_cio.hooks.customerio import CustomerIOHook
    from airflow_provider_cio.sources.registry import Source
    from airflow_provider_cio.sync.account.failed_rows import ErrorLog
    from airflow_provider_cio.sync.account.result import SyncProgress
    from airflow_provider_cio.sync.after_sync import SegmentTarget
    from airflow_provider_cio.sync.convert.columns import ImportType
    from airflow_provider_cio.sync.engine import SyncEngine
    from airflow_provider_cio.sync.mirror.run import MirrorRun
    from airflow_provider_cio.sync.settings import SyncSettings


def report_settings(
    settings: SyncSettings, segment: SegmentTarget | None, customerio_conn_id: str, source_conn_id: str
) -> dict[str, Any]:
    """The settings a report carries for the syncs page (names and choices, never secrets).

    :param source_conn_id: the connection of the source the query runs on (its ``conn_id``).
    """
    return {
        "customerio_conn_id": customerio_conn_id,
        "source_conn_id": source_conn_id,
        "identify_by": settings.identify_by,
        "event_name": settings.event_name,
        "update_only": settings.update_only,
        "empty_values": settings.empty_values,
        "on_removed": settings.on_removed if settings.sync_mode == "mirror" else None,
        "segment_name": segment.segment_name if segment is not None else None,
        "segment_id": segment.segment_id if segment is not None else None,
    }


@dataclass
class ReportPublisher:
    """Publishes one run of a sync task.

    :param context: the running task's context.
    :param task_id: the sync task's id (the error CSV's default path names it).
    :param import_type: the records the sync writes (people, objects, relationships).
    :param dry_run: whether nothing was sent (the log says "would be sent"; nothing is advanced).
    :param outlets: the task's outlets (a successful sync announces its ``customerio://`` assets).
    :param settings: the settings the report carries (:func:`report_settings`).
    :param log: the task log.
    :param error_report_path: the operator's ``error_report_path`` (rendered), or None for the default.
    """

    context: Context
    task_id: str
    import_type: ImportType
    dry_run: bool
    outlets: list[Any]
    settings: dict[str, Any]
    log: Any
    error_report_path: str | None = None
    data: dict[str, Any] | None = None
    """The report as pushed to XCom (for OpenLineage), once there is one."""

    def log_start(self, customerio_conn_id: str, source_name: str, last_sync_time: int) -> None:
        """The task log's first line: what is synced, from where, into which workspace, since when."""
        self.log.info(
            "Syncing %s into the workspace of connection %r from %s; last_sync_time=%d%s",
            self.import_type,
            customerio_conn_id,
            source_name,
            last_sync_time,
            " (dry run: nothing is sent)" if self.dry_run else "",
        )

    def check_outlets(self, hook: CustomerIOHook, records: str) -> None:
        """Fail the task before anything is sent when an outlet names another workspace or other records.

        :param hook: the workspace hook (its connection is read only when the task has such outlets).
        :param records: the records the sync writes, as its ``customerio://`` asset names them.
        """
        outlets = workspace_outlets(self.outlets)
        if not outlets:
            return
        try:
            check_outlets(outlets, hook.settings, records)
        except ValueError as error:
            raise AirflowFailException(str(error)) from None

    def log_progress(self, progress: SyncProgress) -> None:
        """A task log line: rows read, rows the workspace accepted so far, rows read per second, rows in flight."""
        self.log.info(
            "Progress: %d rows read, %d %s, %.0f rows/s, %d in flight",
            progress.rows_read,
            progress.rows_accepted,
            "would be sent" if self.dry_run else "sent",
            progress.rows_per_second,
            progress.rows_in_flight,
        )

    def log_stopped(self, error: BaseException, engine: SyncEngine | None) -> None:
        """Say in the task log how far the sync got when Airflow stopped it (it pushes no report then)."""
        self.log.warning(
            "The sync was stopped (%s) after %d rows read and %d sent; no report is pushed and last_sync_time "
            "is not advanced: the next run sends these rows again",
            type(error).__name__,
            engine.result.rows_read if engine is not None else 0,
            engine.result.rows_accepted if engine is not None else 0,
        )

    def write_error_report(self, errors: ErrorLog) -> str:
        """Write the failed rows as CSV to ``error_report_path`` (or the default path); return its URI."""
        context = self.context
        uri = self.error_report_path or error_report_uri(
            context["dag"].dag_id, self.task_id, context["run_id"], context["ti"].map_index
        )
        path = ObjectStoragePath(uri)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w") as out:
            errors.write_csv(out)
        self.log.info("Error report: %s (%d rows)", uri, errors.count)
        return uri

    def fail_before_sending(self, last_sync_time: int, message: str, *, retry: bool) -> NoReturn:
        """Push a report of a sync that sent nothing, and fail the task (with Airflow's retries if ``retry``)."""
        report = SyncReport(
            import_type=self.import_type, last_sync_time=last_sync_time, error=message, settings=self.settings
        )
        self.data = report.to_xcom()
        self.context["ti"].xcom_push(key="return_value", value=self.data)
        raise (AirflowException if retry else AirflowFailException)(f"{message}. Nothing was sent.")

    def publish(
        self, report: SyncReport, mirror: MirrorRun | None, failure: BaseException | None, source: Source
    ) -> dict[str, Any]:
        """Log and return the report; advance ``last_sync_time`` on success, else push it and fail the task.

        :param mirror: the run's mirror (its snapshot pointer is recorded on success), None for upsert.
        :param failure: the exception that stopped the sync, if any.
        :param source: the source the query ran on (it judges whether a retry may help with its driver's errors).
        """
        self.log.info("%s", report.summary())
        report.settings = self.settings
        data = self.data = report.to_xcom()
        if not report.failed:
            announce_sync(self.context, self.outlets, data, self.import_type, self.dry_run)
            if not self.dry_run:
                record_watermark(self.context)
                record_snapshot(self.context, mirror, self.log)
            return data
        self.context["ti"].xcom_push(key="return_value", value=data)
        raise task_failure(report, failure, source)
