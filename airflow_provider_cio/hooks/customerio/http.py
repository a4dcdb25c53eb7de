"""The HTTP under :class:`~airflow_provider_cio.hooks.customerio.CustomerIOHook`: one pooled session,
paced, retried and cancellable.

A request that fails with 408, 429, 5xx, a timeout or a dropped connection is sent again after an
exponential backoff with full jitter, never sooner than the answer's ``Retry-After``, within the bounds
of a :class:`RetryPolicy`. Other 4xx answers are final. Track API requests wait for the hook's
:class:`~airflow_provider_cio.hooks.customerio.pacing.RequestPacer`, which also pauses every request of the hook
after a 429 until its ``Retry-After`` has passed.
"""

from __future__ import annotations

import base64
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol

import orjson
import requests
from requests.adapters import HTTPAdapter

from airflow_provider_cio.hooks.customerio.connection import WorkspaceSettings
from airflow_provider_cio.hooks.customerio.errors import (
    CustomerIOAuthError,
    CustomerIOError,
    CustomerIOUnavailableError,
    cancelled_error,
)
from airflow_provider_cio.hooks.customerio.pacing import RequestPacer

RETRIED_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
THROTTLED_STATUSES = frozenset({429, 503})


class RetryLog(Protocol):
    """Where the sender says it retries: a ``logging.Logger``, or the hook's (Airflow's) logger."""

    def info(self, msg: str, /, *args: object) -> object:
        """Log a line at INFO."""
        ...


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


class WorkspaceSender:
    """Sends requests to one workspace's Track API (``api="track"``) and App API (``api="app"``).

    :param settings: the workspace: base URLs, credentials, ``requests_per_second``, CA bundle.
    :param timeout: seconds to wait for each HTTP response before retrying.
    :param retry: the retry bounds.
    :param max_connections: size of the HTTP connection pool (one per concurrent request).
    :param cancelled: once set, waits end and every request raises ``CustomerIOCancelledError``.
    :param log: where retries are logged (method and path only: no URL, no secret).
    :param on_attempt: called before each attempt, retries included (the hook counts requests).
    :param on_answer: called with the status code of each answer.
    """

    def __init__(
        self,
        settings: WorkspaceSettings,
        *,
        timeout: float,
        retry: RetryPolicy,
        max_connections: int,
        cancelled: threading.Event,
        log: RetryLog,
        on_attempt: Callable[[], object],
        on_answer: Callable[[int], object],
    ) -> None:
        self.settings = settings
        self.timeout = timeout
        self.retry = retry
        self.max_connections = max_connections
        self.cancelled = cancelled
        self.log = log
        self.on_attempt = on_attempt
        self.on_answer = on_answer

    @cached_property
    def session(self) -> requests.Session:
        """The pooled HTTP session shared by every request."""
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

    def close(self) -> None:
        """Close the pooled connections (a request in flight ends with an error)."""
        if "session" in self.__dict__:
            self.session.close()

    def request(self, method: str, api: str, path: str, body: bytes | None = None) -> dict[str, Any]:
        """Send one request and return its JSON object; raise ``CustomerIOError`` unless it is a 2xx."""
        response = self.send(method, api, path, body)
        payload = json_body(response)
        self.raise_for_status(response, payload)
        return payload

    def send(self, method: str, api: str, path: str, body: bytes | None) -> requests.Response:
        """Send one request, retrying what is worth retrying; return the final response."""
        url, auth_header = self._endpoint(api, path)
        headers = {"Authorization": auth_header, "Content-Type": "application/json"}
        started = time.monotonic()
        pacer = self.pacer if api == "track" else None
        for attempt in range(self.retry.max_attempts):
            self._check_cancelled()
            if pacer is not None:
                pacer.wait(self.cancelled)
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
            if self.cancelled.wait(wait):
                self._check_cancelled()
        raise CustomerIOUnavailableError(
            f"{method} {path.split('?')[0]} on connection {self.settings.conn_id!r} kept failing: gave up "
            f"after {attempt + 1} attempts in {time.monotonic() - started:.0f} s (last: {last})"
        )

    def raise_for_status(self, response: requests.Response, payload: dict[str, Any]) -> None:
        """Raise ``CustomerIOAuthError`` on 401/403, ``CustomerIOError`` on any other answer over 299."""
        status = response.status_code
        if status < 300:
            return
        path = response.request.path_url.split("?")[0] if response.request else ""
        if status in (401, 403):
            raise CustomerIOAuthError(
                f"Customer.io refused the credentials of connection {self.settings.conn_id!r} ({status} on "
                f"{path}). Check the Site ID and Track API key (and the App API key for segments and activities)."
            )
        raise CustomerIOError(
            f"{response.request.method if response.request else ''} {path} on connection "
            f"{self.settings.conn_id!r} failed with {status}: {error_message(payload)}"
        )

    def _observe(self, response: requests.Response, pacer: RequestPacer | None) -> None:
        """Report the answer's status; let the pacer adapt to a Track API answer."""
        self.on_answer(response.status_code)
        if pacer is not None:
            pacer.answered(throttled=response.status_code == 429, retry_after=retry_after_seconds(response))

    def _attempt(
        self, method: str, url: str, headers: dict[str, str], body: bytes | None
    ) -> requests.Response | requests.RequestException:
        self.on_attempt()
        try:
            # verify per request: requests lets REQUESTS_CA_BUNDLE override a session-level setting
            return self.session.request(
                method, url, data=body, headers=headers, timeout=self.timeout, verify=self.settings.verify
            )
        except requests.exceptions.SSLError as error:
            raise CustomerIOError(
                f"TLS verification of {url.split('?')[0]} failed for connection {self.settings.conn_id!r}: "
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
                f"connection {settings.conn_id!r} has no App API key (extra app_api_key); it is needed "
                "to find or create segments and to read the activity log"
            )
        return settings.app_url + path, f"Bearer {settings.app_api_key}"

    def _check_cancelled(self) -> None:
        if self.cancelled.is_set():
            raise cancelled_error(self.settings.conn_id)


def basic_auth(user: str, password: str) -> str:
    """An HTTP Basic ``Authorization`` header value."""
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
