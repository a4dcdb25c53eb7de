"""CustomerIOHook: the only code that speaks HTTP to a Customer.io workspace.

Connection type ``customerio`` (default connection id ``customerio_default``):

- ``login``: the workspace's Site ID; ``password``: its Track API key;
- extra ``region``: ``us`` (default) or ``eu``, choosing Customer.io's hosts;
- extra ``app_api_key`` (secret): needed to find or create segments and to read the activity log;
- extra ``ca_bundle``: path of a CA bundle for HTTPS verification (verification is always on);
- extra ``requests_per_second``: the most Track API requests per second the hook sends, retries
  included (default 100, Customer.io's fair-use limit); a 429 slows it further (see ``pacing``);
- ``host`` (with optional ``port``, and ``schema`` = ``http`` or ``https``): one base URL for both APIs,
  for the workspace emulator or a proxy.

Example, as an environment variable::

    AIRFLOW_CONN_CUSTOMERIO_DEFAULT='{"conn_type": "customerio", "login": "SITE_ID",
        "password": "TRACK_API_KEY", "extra": {"region": "eu", "app_api_key": "APP_API_KEY"}}'
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from functools import cached_property
from typing import Any

import requests
from airflow.sdk import BaseHook

from airflow_provider_cio.hooks.customerio.activities import iter_activities
from airflow_provider_cio.hooks.customerio.connection import WorkspaceSettings, parse_connection
from airflow_provider_cio.hooks.customerio.errors import (
    CustomerIOAuthError,
    CustomerIOCancelledError,
    CustomerIOError,
    CustomerIOUnavailableError,
    cancelled_error,
)
from airflow_provider_cio.hooks.customerio.http import THROTTLED_STATUSES, RetryPolicy, WorkspaceSender, json_body
from airflow_provider_cio.hooks.customerio.segments import ManualSegments
from airflow_provider_cio.sync.account.outcomes import OpError

__all__ = [
    "CustomerIOAuthError",
    "CustomerIOCancelledError",
    "CustomerIOError",
    "CustomerIOHook",
    "CustomerIOUnavailableError",
    "RetryPolicy",
    "WorkspaceSettings",
    "parse_connection",
]


class CustomerIOHook(BaseHook):
    """Talk to a Customer.io workspace: batches of ops, manual segments and the activity log.

    One pooled HTTP session serves every call; requests that fail with 408, 429, 5xx or a dropped
    connection are retried with exponential backoff and jitter, never sooner than ``Retry-After``,
    within the bounds of ``retry``. Other 4xx answers are not retried.

    :param customerio_conn_id: the ``customerio`` connection to use.
    :param timeout: seconds to wait for each HTTP response before retrying.
    :param retry: the retry bounds (see :class:`RetryPolicy`).
    :param max_connections: size of the HTTP connection pool (one per concurrent request).
    """

    conn_name_attr = "customerio_conn_id"
    default_conn_name = "customerio_default"
    conn_type = "customerio"
    hook_name = "Customer.io"

    def __init__(
        self,
        customerio_conn_id: str = default_conn_name,
        *,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        max_connections: int = 8,
    ) -> None:
        super().__init__()
        self.customerio_conn_id = customerio_conn_id
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.max_connections = max_connections
        self.requests_sent = 0
        """HTTP requests made so far, retries included (for the report)."""
        self.throttled_responses = 0
        """Answers 429 or 503 so far: the engine slows down when this grows."""
        self._cancelled = threading.Event()
        self._count_lock = threading.Lock()
        self._sender_lock = threading.Lock()
        self._sender: WorkspaceSender | None = None

    @cached_property
    def settings(self) -> WorkspaceSettings:
        """The workspace settings read from the connection."""
        return parse_connection(self.get_connection(self.customerio_conn_id))

    @property
    def sender(self) -> WorkspaceSender:
        """Sends this hook's requests: one session and one pace, whichever thread sends first."""
        with self._sender_lock:
            if self._sender is None:
                self._sender = WorkspaceSender(
                    self.settings,
                    timeout=self.timeout,
                    retry=self.retry,
                    max_connections=self.max_connections,
                    cancelled=self._cancelled,
                    log=self.log,
                    on_attempt=self._count_attempt,
                    on_answer=self._count_answer,
                )
            return self._sender

    @property
    def session(self) -> requests.Session:
        """The pooled HTTP session shared by every call of this hook."""
        return self.sender.session

    @cached_property
    def segments(self) -> ManualSegments:
        """The workspace's manual segments."""
        return ManualSegments(self.sender)

    def get_conn(self) -> requests.Session:
        """Return the pooled HTTP session."""
        return self.session

    def cancel(self) -> None:
        """Stop waiting for retries and close the session (called from ``on_kill``)."""
        self._cancelled.set()
        self.close()

    def close(self) -> None:
        """Close the pooled connections."""
        if self._sender is not None:
            self._sender.close()

    def cancelled_error(self) -> CustomerIOCancelledError:
        """The error a cancelled sync reports (``on_kill`` records it before anything else can fail)."""
        return cancelled_error(self.customerio_conn_id)

    # Connection test -------------------------------------------------------------------------

    def test_connection(self) -> tuple[bool, str]:
        """Check the Site ID and Track API key with ``GET /api/v1/accounts/region``."""
        try:
            body = self.sender.request("GET", "track", "/api/v1/accounts/region")
        except CustomerIOError as error:
            return False, str(error)
        return True, f"Credentials accepted; the workspace is in region {body.get('region', '?')!r}."

    # Track API: batches -----------------------------------------------------------------------

    def send_batch(self, ops: Sequence[bytes]) -> list[OpError]:
        """Send JSON-encoded ops in one ``POST /api/v2/batch`` and return the ones refused.

        A ``207`` lists the refused ops; any other 2xx means all were accepted. A request refused as
        a whole (``400``) refuses every op in it. A ``413`` is never sent again as is: the batch is
        split in halves, and an op that is too large on its own is refused with reason ``too_large``.
        """
        if not ops:
            return []
        body = b'{"batch":[' + b",".join(ops) + b"]}"
        response = self.sender.send("POST", "track", "/api/v2/batch", body)
        if response.status_code == 413:
            if len(ops) == 1:
                return [OpError(0, "too_large", "", "the op is larger than the workspace accepts")]
            middle = len(ops) // 2
            later = self.send_batch(ops[middle:])
            return self.send_batch(ops[:middle]) + [
                OpError(e.index + middle, e.reason, e.field, e.message) for e in later
            ]
        payload = json_body(response)
        if response.status_code == 400:
            first = (payload.get("errors") or [{}])[0]
            reason = first.get("reason") or "invalid"
            message = first.get("message") or "the workspace refused the whole batch"
            return [OpError(i, reason, first.get("field") or "", message) for i in range(len(ops))]
        self.sender.raise_for_status(response, payload)
        return [
            OpError(int(e.get("batch_index", 0)), e.get("reason") or "", e.get("field") or "", e.get("message") or "")
            for e in payload.get("errors") or []
        ]

    # Manual segments --------------------------------------------------------------------------

    def add_to_segment(self, segment_id: int | str, ids: Iterable[str], id_type: str = "id") -> int:
        """Add people to a manual segment, 1000 identifiers a call; return how many were sent.

        :param id_type: what ``ids`` hold: ``id``, ``email`` or ``cio_id``.
        """
        return self.segments.add(segment_id, ids, id_type)

    def remove_from_segment(self, segment_id: int | str, ids: Iterable[str], id_type: str = "id") -> int:
        """Remove people from a manual segment, 1000 identifiers a call; return how many were sent."""
        return self.segments.remove(segment_id, ids, id_type)

    def list_segments(self) -> list[dict[str, Any]]:
        """All segments of the workspace (App API)."""
        return self.segments.all_segments()

    def find_manual_segment(self, name: str) -> dict[str, Any] | None:
        """The manual segment called ``name``, or None (App API)."""
        return self.segments.find_manual(name)

    def create_segment(self, name: str, description: str = "") -> dict[str, Any]:
        """Create a manual segment (App API) and return it."""
        return self.segments.create(name, description)

    def ensure_manual_segment(self, name: str, description: str = "") -> int:
        """The id of the manual segment called ``name``, created when it does not exist yet."""
        return self.segments.ensure_manual(name, description)

    # Activity log -----------------------------------------------------------------------------

    def iter_activities(self, activity_type: str, since: int) -> Iterator[dict[str, Any]]:
        """Activities of ``activity_type`` with a timestamp at or after ``since`` (App API, newest first)."""
        yield from iter_activities(self.sender, activity_type, since)

    @property
    def can_read_activities(self) -> bool:
        """Whether the connection has the App API key needed to read the activity log."""
        return bool(self.settings.app_api_key)

    # Counts for the report and the engine -----------------------------------------------------

    def _count_attempt(self) -> None:
        with self._count_lock:
            self.requests_sent += 1

    def _count_answer(self, status: int) -> None:
        if status in THROTTLED_STATUSES:
            with self._count_lock:
                self.throttled_responses += 1
