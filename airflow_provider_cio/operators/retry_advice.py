"""Whether a failed sync task is worth running again: Airflow's ``retries`` act, or the task fails for good."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow.sdk.exceptions import AirflowException, AirflowFailException

from airflow_provider_cio.hooks.customerio.errors import CustomerIOError, CustomerIOUnavailableError
from airflow_provider_cio.sync.mirror.removal_guard import MassRemovalError

if TYPE_CHECKING:
    from airflow_provider_cio.sources.registry import Source
    from airflow_provider_cio.sync.account.report import SyncReport


def retry_may_help(error: BaseException | None, source: Source) -> bool:
    """Whether running the task again may succeed: a service was unavailable rather than refusing us.

    Refused credentials, a failed TLS verification, a request the workspace refuses and source errors
    about the query fail the task without retries; an unreachable or overloaded workspace or database
    server, and anything unexpected, leave Airflow's ``retries`` to act.

    :param source: the source the query ran on: its verdict decides when ``error`` is its driver's.
    """
    if error is not None and source.is_source_error(error):
        return source.source_retry_may_help(error)
    if isinstance(error, CustomerIOError):
        return isinstance(error, CustomerIOUnavailableError)
    return not isinstance(error, MassRemovalError)


def task_failure(report: SyncReport, failure: BaseException | None, source: Source) -> AirflowException:
    """The exception that fails the task of a failed sync, with the report's failure message.

    ``AirflowException`` (Airflow's ``retries`` act) when the sync stopped before any row failed and a
    retry may help; ``AirflowFailException`` (no retry) when rows failed, the row limit was reached, or
    the error is one a retry cannot fix.

    :param failure: the exception that stopped the sync, if any.
    :param source: the source the query ran on (it judges its driver's errors).
    """
    message = report.failure_message()
    if report.error and not (report.rows_failed or report.row_limit_reached) and retry_may_help(failure, source):
        return AirflowException(message)
    return AirflowFailException(message)
