"""The errors of :class:`~airflow_provider_cio.hooks.customerio.CustomerIOHook`.

A DAG author catches :class:`CustomerIOError`; the sync operators read the kind to decide whether
Airflow's ``retries`` may help (only :class:`CustomerIOUnavailableError` says so).
"""

from __future__ import annotations

from airflow.sdk.exceptions import AirflowException


class CustomerIOError(AirflowException):
    """The workspace refused a request in a way no retry can fix."""


class CustomerIOAuthError(CustomerIOError):
    """The workspace refused the connection's credentials."""


class CustomerIOUnavailableError(CustomerIOError):
    """The workspace kept failing until the retry budget ran out."""


class CustomerIOCancelledError(CustomerIOError):
    """The hook was cancelled (task killed or timed out) while waiting to retry."""


def cancelled_error(conn_id: str) -> CustomerIOCancelledError:
    """The error of a request cancelled on the connection ``conn_id`` (the sync was stopped)."""
    return CustomerIOCancelledError(f"requests to connection {conn_id!r} were cancelled")
