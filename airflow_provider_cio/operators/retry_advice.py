"""Whether a failed sync task is worth running again: Airflow's ``retries`` act, or the task fails for good."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow.sdk.exceptions import AirflowException, AirflowFailException

from airflow_provider_cio.hooks.customerio.errors import CustomerIOError, CustomerIOUnavailableError
from airflow_provider_cio.sources.mysql.errors import is_connection_error, is_mysql_error
from airflow_provider_cio.sync.mirror.run import MassRemovalError

if TYPE_CHECKING:
    from airflow_provider_cio.sync.account.report import SyncReport


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


def task_failure(report: SyncReport, failure: BaseException | None, source_retry: bool | None) -> AirflowException:
    """The exception that fails the task of a failed sync, with the report's failure message.

    ``AirflowException`` (Airflow's ``retries`` act) when the sync stopped before any row failed and a
    retry may help; ``AirflowFailException`` (no retry) when rows failed, the row limit was reached, or
    the error is one a retry cannot fix.

    :param failure: the exception that stopped the sync, if any.
    :param source_retry: the source operator's verdict when ``failure`` is its driver's.
    """
    message = report.failure_message()
    if report.error and not (report.rows_failed or report.row_limit_reached) and retry_may_help(failure, source_retry):
        return AirflowException(message)
    return AirflowFailException(message)
