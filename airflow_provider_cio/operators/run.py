"""SyncTaskRun: one execution of a sync task, from the source's query to the published report."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from airflow_provider_cio.operators.lifeline import arm
from airflow_provider_cio.sync.convert.column_types import ColumnType
from airflow_provider_cio.sync.convert.columns import QueryError

if TYPE_CHECKING:
    from airflow_provider_cio.hooks.customerio import CustomerIOHook
    from airflow_provider_cio.operators.publish import ReportPublisher
    from airflow_provider_cio.sources.registry import Source
    from airflow_provider_cio.sync.job import SyncJob


class QueryStream(Protocol):
    """The source's reader of one query (``MySQLQueryStream``, ``PostgresQueryStream``, ``DbApiQueryStream``)."""

    def execute(self, sql: str, server_text: Collection[ColumnType] | None = None) -> Any:
        """Run the query; return its cursor (``columns`` in neutral types, ``description``, ``fetchmany``).

        :param server_text: column types the sync takes as the text the server sent, if the source can.
        """
        ...

    def cancel(self) -> None:
        """Stop the query on the server (from another thread)."""
        ...

    def close(self, *, finished: bool) -> None:
        """End the query's transaction and connection."""
        ...


@dataclass
class SyncTaskRun:
    """Runs the query into the job, then publishes the report; closes the stream, the job and the hook.

    The sync dies with the process that supervises the task (:func:`~.lifeline.arm`). A query the
    rules refuse, or a source error before anything was sent, fails the task with a report saying so.

    :param job: the sync, set up with the task's settings, workspace, segment and mirror.
    :param stream: the source's stream for this run (``execute``, ``cancel``, ``close``).
    :param source: the source the query runs on: tells its driver's errors apart, words them, and says whether a
        retry may help.
    :param publisher: leaves the report, the error CSV and the watermark behind, or fails the task.
    :param hook: the workspace hook, closed at the end and cancelled with the run.
    """

    job: SyncJob
    stream: QueryStream
    source: Source
    publisher: ReportPublisher
    hook: CustomerIOHook

    def run(self, sql: str, last_sync_time: int) -> dict[str, Any]:
        """Sync the rows of ``sql`` and publish the report (the task's return value); raise to fail the task."""
        job, publisher, source = self.job, self.publisher, self.source
        finished = False
        lifeline = arm(self.cancel)  # the sync dies with the process supervising this task (no orphan)
        try:
            try:
                cursor = self.stream.execute(sql, job.text_converters())
                report = job.run(cursor, last_sync_time)
            except QueryError as error:
                publisher.fail_before_sending(last_sync_time, str(error), retry=False)
            except Exception as error:
                if not source.is_source_error(error):
                    raise
                message = source.source_message(error)
                publisher.fail_before_sending(last_sync_time, message, retry=source.source_retry_may_help(error))
            except BaseException as error:  # the task's execution_timeout, or the task killed
                publisher.log_stopped(error, job.engine)
                raise
            if job.failure is not None and source.is_source_error(job.failure):
                report.error = source.source_message(job.failure)
            finished = not report.error and not report.row_limit_reached
            if job.errors.count:  # failed rows, and suppressed people under on_suppressed="fail"
                report.error_report = publisher.write_error_report(job.errors)
        finally:
            lifeline.disarm()
            self.stream.close(finished=finished)
            job.close()
            self.hook.close()
        return publisher.publish(report, job.mirror, job.failure, source)

    def cancel(self) -> None:
        """Stop reading and sending: cancel the query on the source and cancel in-flight requests."""
        self.job.cancel(self.hook.cancelled_error())
        self.hook.cancel()
        self.stream.cancel()
