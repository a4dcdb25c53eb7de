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

import os
import random
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import orjson
import requests
from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowException
from requests.adapters import HTTPAdapter

from airflow_provider_cio.hooks.pacing import RequestPacer
from airflow_provider_cio.sync.outcomes import OpError

REGION_HOSTS = {
    "us": ("https://track.customer.io", "https://api.customer.io"),
    "eu": ("https://track-eu.customer.io", "https://api-eu.customer.io"),
}
RETRIED_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
THROTTLED_STATUSES = frozenset({429, 503})
DEFAULT_REQUESTS_PER_SECOND = 100.0
"""Customer.io's fair-use limit for the Track API, per workspace."""
SEGMENT_CHUNK = 1000
ACTIVITY_PAGE = 100


class CustomerIOError(AirflowException):
    """The workspace refused a request in a way no retry can fix."""


class CustomerIOAuthError(CustomerIOError):
    """The workspace refused the connection's credentials."""


class CustomerIOUnavailableError(CustomerIOError):
    """The workspace kept failing until the retry budget ran out."""


class CustomerIOCancelledError(CustomerIOError):
    """The hook was cancelled (task killed or timed out) while waiting to retry."""


@dataclass(frozen=True)
class WorkspaceSettings:
    """Everything the hook needs from a connection. Secrets are kept out of ``repr``."""

    conn_id: str
    site_id: str
    track_url: str
    app_url: str
    verify: bool | str
    api_key: str = ""
    app_api_key: str = ""
    requests_per_second: float = DEFAULT_REQUESTS_PER_SECOND
    region: str = "us"

    def __repr__(self) -> str:
        return (
            f"WorkspaceSettings(conn_id={self.conn_id!r}, site_id={self.site_id!r}, "
            f"track_url={self.track_url!r}, app_url={self.app_url!r}, "
            f"app_api_key={'set' if self.app_api_key else 'unset'})"
        )


@dataclass(frozen=True)
class RetryPolicy:
    """How long the hook keeps retrying 408, 429, 5xx and dropped connections.

    :param max_attempts: attempts per request, the first one included.
    :param base_delay: seconds before the first retry; doubles each time (full jitter).
    :param max_delay: cap of one backoff wait (a longer ``Retry-After`` is still honoured).
    :param max_total: seconds a request may spend retrying in all, waits included.
    """

    max_attempts: int = 8
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_total: float = 300.0

    def backoff(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before attempt ``attempt + 1``: jittered exponential, never below Retry-After."""
        jittered = random.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))
        return max(jittered, retry_after or 0.0)


def extra_value(extra: dict[str, Any], name: str) -> Any:
    """Read a connection extra stored either plainly or as ``extra__customerio__<name>``."""
    value = extra.get(name)
    if value in (None, ""):
        value = extra.get(f"extra__customerio__{name}")
    return value if value not in ("",) else None


def parse_connection(conn: Any) -> WorkspaceSettings:
    """Turn an Airflow connection of type ``customerio`` into :class:`WorkspaceSettings`.

    :raises CustomerIOError: when the Site ID or Track API key is missing, the region is unknown or the
        ``ca_bundle`` file does not exist.
    """
    extra = conn.extra_dejson or {}
    if not conn.login or not conn.password:
        raise CustomerIOError(
            f"connection {conn.conn_id!r} needs the Site ID as login and the Track API key as password"
        )
    region = (extra_value(extra, "region") or "us").lower()
    if region not in REGION_HOSTS:
        raise CustomerIOError(f"connection {conn.conn_id!r}: region must be 'us' or 'eu', not {region!r}")
    track_url, app_url = REGION_HOSTS[region]
    if conn.host:
        track_url = app_url = base_url(conn.host, conn.port, conn.schema)
    ca_bundle = extra_value(extra, "ca_bundle")
    if ca_bundle and not os.path.exists(ca_bundle):
        raise CustomerIOError(
            f"connection {conn.conn_id!r}: the extra ca_bundle names {ca_bundle!r}, which does not exist on this "
            "worker; give the path of a PEM file holding the CA certificate(s) to trust"
        )
    return WorkspaceSettings(
        conn_id=conn.conn_id,
        site_id=conn.login,
        api_key=conn.password,
        track_url=track_url,
        app_url=app_url,
        app_api_key=extra_value(extra, "app_api_key") or "",
        verify=ca_bundle or True,
        requests_per_second=parse_requests_per_second(conn.conn_id, extra_value(extra, "requests_per_second")),
        region=region,
    )


def parse_requests_per_second(conn_id: str, value: Any) -> float:
    """The extra ``requests_per_second`` as a number over 0 (default 100).

    :raises CustomerIOError: when it is not a number over 0.
    """
    if value is None:
        return DEFAULT_REQUESTS_PER_SECOND
    try:
        rate = float(value)
    except (TypeError, ValueError):
        rate = 0.0
    if not rate > 0 or rate == float("inf"):
        raise CustomerIOError(
            f"connection {conn_id!r}: the extra requests_per_second must be a number over 0 (default 100), "
            f"not {value!r}"
        )
    return rate


def base_url(host: str, port: int | None, scheme: str | None) -> str:
    """The base URL of a ``host`` override: ``host`` may already hold a scheme."""
    url = host.rstrip("/") if "://" in host else f"{scheme or 'https'}://{host}"
    return f"{url}:{port}" if port else url


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
        self.throttled_responses = 0
        """Answers 429 or 503 so far: the engine slows down when this grows."""
        self._cancelled = threading.Event()
        self._count_lock = threading.Lock()

    @cached_property
    def settings(self) -> WorkspaceSettings:
        """The workspace settings read from the connection."""
        return parse_connection(self.get_connection(self.customerio_conn_id))

    @cached_property
    def session(self) -> requests.Session:
        """The pooled HTTP session shared by every call of this hook."""
        session = requests.Session()
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=self.max_connections, max_retries=0)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        session.headers["User-Agent"] = "airflow-provider-cio"
        return session

    @cached_property
    def pacer(self) -> RequestPacer:
        """The pace of Track API requests (the connection's ``requests_per_second``)."""
        return RequestPacer(self.settings.requests_per_second)

    def get_conn(self) -> requests.Session:
        """Return the pooled HTTP session."""
        return self.session

    def cancel(self) -> None:
        """Stop waiting for retries and close the session (called from ``on_kill``)."""
        self._cancelled.set()
        if "session" in self.__dict__:
            self.session.close()

    def close(self) -> None:
        """Close the pooled connections."""
        if "session" in self.__dict__:
            self.session.close()

    # Connection test -------------------------------------------------------------------------

    def test_connection(self) -> tuple[bool, str]:
        """Check the Site ID and Track API key with ``GET /api/v1/accounts/region``."""
        try:
            body = self._request("GET", "track", "/api/v1/accounts/region")
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
        response = self._send("POST", "track", "/api/v2/batch", body)
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
        self._raise_for_status(response, payload)
        return [
            OpError(int(e.get("batch_index", 0)), e.get("reason") or "", e.get("field") or "", e.get("message") or "")
            for e in payload.get("errors") or []
        ]

    # Manual segments --------------------------------------------------------------------------

    def add_to_segment(self, segment_id: int | str, ids: Iterable[str], id_type: str = "id") -> int:
        """Add people to a manual segment, 1000 identifiers a call; return how many were sent.

        :param id_type: what ``ids`` hold: ``id``, ``email`` or ``cio_id``.
        """
        sent = 0
        for chunk in chunked(ids, SEGMENT_CHUNK):
            path = f"/api/v1/segments/{segment_id}/add_customers?id_type={id_type}"
            self._request("POST", "track", path, orjson.dumps({"ids": chunk}))
            sent += len(chunk)
        return sent

    def remove_from_segment(self, segment_id: int | str, ids: Iterable[str], id_type: str = "id") -> int:
        """Remove people from a manual segment, 1000 identifiers a call; return how many were sent."""
        sent = 0
        for chunk in chunked(ids, SEGMENT_CHUNK):
            path = f"/api/v1/segments/{segment_id}/remove_customers?id_type={id_type}"
            self._request("POST", "track", path, orjson.dumps({"ids": chunk}))
            sent += len(chunk)
        return sent

    def list_segments(self) -> list[dict[str, Any]]:
        """All segments of the workspace (App API)."""
        return self._request("GET", "app", "/v1/segments").get("segments") or []

    def find_manual_segment(self, name: str) -> dict[str, Any] | None:
        """The manual segment called ``name``, or None (App API)."""
        for segment in self.list_segments():
            if segment.get("name") == name and segment.get("type", "manual") == "manual":
                return segment
        return None

    def create_segment(self, name: str, description: str = "") -> dict[str, Any]:
        """Create a manual segment (App API) and return it."""
        body = orjson.dumps({"segment": {"name": name, "description": description}})
        return self._request("POST", "app", "/v1/segments", body)["segment"]

    def ensure_manual_segment(self, name: str, description: str = "") -> int:
        """The id of the manual segment called ``name``, created when it does not exist yet."""
        segment = self.find_manual_segment(name) or self.create_segment(name, description)
        return int(segment["id"])

    # Activity log -----------------------------------------------------------------------------

    def iter_activities(self, activity_type: str, since: int) -> Iterator[dict[str, Any]]:
        """Activities of ``activity_type`` with a timestamp at or after ``since`` (App API, newest first)."""
        cursor = ""
        while True:
            path = f"/v1/activities?type={activity_type}&limit={ACTIVITY_PAGE}"
            if cursor:
                path += f"&start={cursor}"
            page = self._request("GET", "app", path)
            for activity in page.get("activities") or []:
                if int(activity.get("timestamp") or 0) < since:
                    return
                yield activity
            cursor = page.get("next") or ""
            if not cursor:
                return

    @property
    def can_read_activities(self) -> bool:
        """Whether the connection has the App API key needed to read the activity log."""
        return bool(self.settings.app_api_key)

    # HTTP plumbing ----------------------------------------------------------------------------

    def _request(self, method: str, api: str, path: str, body: bytes | None = None) -> dict[str, Any]:
        response = self._send(method, api, path, body)
        payload = json_body(response)
        self._raise_for_status(response, payload)
        return payload

    def _send(self, method: str, api: str, path: str, body: bytes | None) -> requests.Response:
        """Send one request, retrying what is worth retrying; return the final response."""
        url, auth_header = self._endpoint(api, path)
        headers = {"Authorization": auth_header, "Content-Type": "application/json"}
        started = time.monotonic()
        pacer = self.pacer if api == "track" else None
        for attempt in range(self.retry.max_attempts):
            self._check_cancelled()
            if pacer is not None:
                pacer.wait(self._cancelled)
                self._check_cancelled()
            outcome = self._attempt(method, url, headers, body)
            if isinstance(outcome, requests.Response):
                self._observe(outcome, pacer)
            if isinstance(outcome, requests.Response) and outcome.status_code not in RETRIED_STATUSES:
                return outcome
            retry_after = retry_after_seconds(outcome)
            wait = self.retry.backoff(attempt, retry_after)
            last = describe(outcome)
            if attempt + 1 >= self.retry.max_attempts or time.monotonic() - started + wait > self.retry.max_total:
                break
            self.log.info("%s %s: %s; retrying in %.1f s", method, path.split("?")[0], last, wait)
            if self._cancelled.wait(wait):
                self._check_cancelled()
        raise CustomerIOUnavailableError(
            f"{method} {path.split('?')[0]} on connection {self.customerio_conn_id!r} kept failing: gave up "
            f"after {attempt + 1} attempts in {time.monotonic() - started:.0f} s (last: {last})"
        )

    def _observe(self, response: requests.Response, pacer: RequestPacer | None) -> None:
        """Count 429 and 503 answers; let the pacer adapt to a Track API answer."""
        status = response.status_code
        if status in THROTTLED_STATUSES:
            with self._count_lock:
                self.throttled_responses += 1
        if pacer is not None:
            pacer.answered(throttled=status == 429, retry_after=retry_after_seconds(response))

    def _attempt(
        self, method: str, url: str, headers: dict[str, str], body: bytes | None
    ) -> requests.Response | requests.RequestException:
        with self._count_lock:
            self.requests_sent += 1
        try:
            # verify per request: requests lets REQUESTS_CA_BUNDLE override a session-level setting
            return self.session.request(
                method, url, data=body, headers=headers, timeout=self.timeout, verify=self.settings.verify
            )
        except requests.exceptions.SSLError as error:
            raise CustomerIOError(
                f"TLS verification of {url.split('?')[0]} failed for connection {self.customerio_conn_id!r}: "
                f"{type(error).__name__}. Set the connection extra ca_bundle to the CA that signed its certificate."
            ) from None
        except (requests.ConnectionError, requests.Timeout) as error:
            return error

    def _endpoint(self, api: str, path: str) -> tuple[str, str]:
        settings = self.settings
        if api == "track":
            return settings.track_url + path, basic_auth(settings.site_id, settings.api_key)
        if not settings.app_api_key:
            raise CustomerIOError(
                f"connection {self.customerio_conn_id!r} has no App API key (extra app_api_key); it is needed "
                "to find or create segments and to read the activity log"
            )
        return settings.app_url + path, f"Bearer {settings.app_api_key}"

    def _raise_for_status(self, response: requests.Response, payload: dict[str, Any]) -> None:
        status = response.status_code
        if status < 300:
            return
        path = response.request.path_url.split("?")[0] if response.request else ""
        if status in (401, 403):
            raise CustomerIOAuthError(
                f"Customer.io refused the credentials of connection {self.customerio_conn_id!r} ({status} on "
                f"{path}). Check the Site ID and Track API key (and the App API key for segments and activities)."
            )
        raise CustomerIOError(
            f"{response.request.method if response.request else ''} {path} on connection "
            f"{self.customerio_conn_id!r} failed with {status}: {error_message(payload)}"
        )

    def cancelled_error(self) -> CustomerIOCancelledError:
        """The error a cancelled sync reports (``on_kill`` records it before anything else can fail)."""
        return CustomerIOCancelledError(f"requests to connection {self.customerio_conn_id!r} were cancelled")

    def _check_cancelled(self) -> None:
        if self._cancelled.is_set():
            raise self.cancelled_error()


def basic_auth(user: str, password: str) -> str:
    """An HTTP Basic ``Authorization`` header value."""
    import base64

    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def json_body(response: requests.Response) -> dict[str, Any]:
    """The response's JSON object, or ``{}`` when the body is empty or not a JSON object."""
    try:
        payload = orjson.loads(response.content) if response.content else {}
    except orjson.JSONDecodeError:
        return {"meta": {"error": response.text[:200]}}
    return payload if isinstance(payload, dict) else {}


def error_message(payload: dict[str, Any]) -> str:
    """The human part of a Customer.io error body, whatever its shape."""
    meta = payload.get("meta") or {}
    if meta.get("error"):
        return str(meta["error"])
    if meta.get("errors"):
        return "; ".join(str(e) for e in meta["errors"])
    errors = payload.get("errors") or []
    if errors:
        return "; ".join(str(e.get("message") or e.get("reason")) for e in errors if isinstance(e, dict))
    return "no error message in the response"


def retry_after_seconds(outcome: requests.Response | Exception) -> float | None:
    """The ``Retry-After`` of a response in seconds (numeric form), or None."""
    if not isinstance(outcome, requests.Response):
        return None
    value = outcome.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def describe(outcome: requests.Response | Exception) -> str:
    """A short description of a failed attempt for logs and errors (no URLs, no secrets)."""
    if isinstance(outcome, requests.Response):
        return f"HTTP {outcome.status_code}"
    return type(outcome).__name__


def chunked(items: Iterable[str], size: int) -> Iterator[list[str]]:
    """Lists of at most ``size`` items, in order."""
    chunk: list[str] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
