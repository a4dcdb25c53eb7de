"""The HTTP side of the workspace emulator: routes, authentication, fault injection, request log, stats.

:class:`EmulatorServer` is a ``ThreadingHTTPServer`` (HTTP/1.1 with keep-alive, optionally TLS) in
front of one :class:`~airflow_provider_cio.testing.workspace.Workspace`. Every request that touches
the workspace, the request log or the stats does so under one lock, so a workspace sees requests one
at a time, in the order they take the lock. What happens on the way in (the fault draw with its
latency, the rate limits) takes a second lock that is never held while the first is awaited: a request's
latency passes while other requests are being applied, as it would on a network.

Three kinds of routes:

- Track API (``/api/v1/...``, ``/api/v2/...``): HTTP Basic ``site_id:api_key``; the only routes that
  faults are injected into;
- App API (``/v1/...``): ``Authorization: Bearer <app_api_key>``, at most 10 requests a second;
- admin (``/_emulator/...``): no authentication, no log, no faults, for tests and demos.

Request bodies are capped (``TRACK_BODY_CAP``, ``ADMIN_BODY_CAP``): the emulator answers 413 from the
``Content-Length`` without reading the body, or stops reading a chunked body at the cap, and a Track
request without valid credentials is answered 401 before its body is read.
"""

from __future__ import annotations

import base64
import bisect
import collections
import contextlib
import datetime
import email.utils
import hashlib
import ipaddress
import logging
import random
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

import orjson

from airflow_provider_cio.testing.workspace import Workspace
from airflow_provider_cio.testing.workspace.records import SegmentNotFound
from airflow_provider_cio.testing.workspace.values import MAX_BATCH_BYTES, ItemError

logger = logging.getLogger(__name__)

TRACK, APP, ADMIN = "track", "app", "admin"
ADMIN_PREFIX = "/_emulator/"
APP_REQUESTS_PER_SECOND = 10
TRACK_WINDOW_MEMORY = 60.0
"""Seconds the Track rate limit keeps an accepted request's arrival: longer than any request's body takes to read."""
REQUEST_LOG_SIZE = 100_000  # the request log keeps this many of the most recent entries
STATUS_FAULTS = ("429", "500", "503")
ACTIVITY_PAGE_DEFAULT, ACTIVITY_PAGE_MAX = 50, 100
_READ_CHUNK = 1 << 16
TRACK_BODY_CAP = 2 * MAX_BATCH_BYTES
"""The most bytes of a request body the emulator reads outside the admin routes. A Track body between
``MAX_BATCH_BYTES`` and this is read whole and answered 413 with its size, on a connection that stays open;
a larger one is answered 413 without reading the rest, and the connection is closed."""
ADMIN_BODY_CAP = 64 * 1024
"""The most bytes of a request body the admin routes (``/_emulator/...``) read; over it: 413."""


@dataclass(frozen=True)
class Credentials:
    """What a client must present: Track API ``site_id``/``api_key`` and the App API key."""

    site_id: str
    api_key: str
    app_api_key: str

    def basic_authorization(self) -> str:
        """The ``Authorization`` header value of a Track API call with these credentials."""
        token = base64.b64encode(f"{self.site_id}:{self.api_key}".encode()).decode("ascii")
        return f"Basic {token}"


@dataclass(frozen=True)
class Faults:
    """Injected failures of Track API requests (``POST /_emulator/faults``); all off by default.

    For each Track API request, in the order requests arrive, the generator seeded with ``seed``
    draws three numbers: the first picks a status fault (429, 500, 503) or a dropped
    connection by the rates, the second decides whether a drop happens after the request was applied
    (probability ``drop_after_apply``), the third whether ``latency_ms`` is added (probability
    ``latency_rate``). So one seed and one order of requests give one sequence of faults.
    """

    seed: int = 0
    rate_429: float = 0.0
    rate_500: float = 0.0
    rate_503: float = 0.0
    rate_drop: float = 0.0
    latency_ms: int = 0
    latency_rate: float = 1.0
    retry_after: int = 1
    drop_after_apply: float = 0.5

    @classmethod
    def from_json(cls, document: Any) -> Faults:
        """Faults from the JSON body of ``POST /_emulator/faults``; raises ``ValueError`` if invalid."""
        if document is None:
            document = {}
        if type(document) is not dict:
            raise ValueError("faults must be a JSON object")
        unknown = sorted(set(document) - {f.name for f in fields(cls)})
        if unknown:
            raise ValueError(f"unknown faults: {', '.join(unknown)}")
        for name, value in document.items():
            _check_fault_value(name, value)
        faults = cls(**document)
        if faults.rate_429 + faults.rate_500 + faults.rate_503 + faults.rate_drop > 1:
            raise ValueError("the rates of 429, 500, 503 and drop add up to more than 1")
        return faults

    @property
    def active(self) -> bool:
        """Whether any request can be faulted or delayed."""
        return bool(self.rate_429 or self.rate_500 or self.rate_503 or self.rate_drop or self.latency_ms)

    def draw(self, rng: random.Random) -> tuple[str | None, bool, float]:
        """``(fault, drop after applying, delay in seconds)`` for the next request."""
        pick, after, delayed = rng.random(), rng.random(), rng.random()
        fault = None
        for name, rate in (("429", self.rate_429), ("500", self.rate_500), ("503", self.rate_503)):
            if pick < rate:
                fault = name
                break
            pick -= rate
        else:
            if pick < self.rate_drop:
                fault = "drop"
        delay = self.latency_ms / 1000 if self.latency_ms and delayed < self.latency_rate else 0.0
        return fault, after < self.drop_after_apply, delay


def _check_fault_value(name: str, value: Any) -> None:
    if name in ("seed", "latency_ms", "retry_after"):
        if type(value) is not int or value < 0:
            raise ValueError(f"{name} must be a non-negative integer")
    elif type(value) not in (int, float) or not 0 <= value <= 1:
        raise ValueError(f"{name} must be a number from 0 to 1")


@dataclass(slots=True)
class Response:
    """What to answer, plus what the log and stats record: ops accepted and failed, Retry-After."""

    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()
    accepted: int = 0
    failed: int = 0
    retry_after: int | None = None


def json_response(status: int, document: Any, **extra: Any) -> Response:
    """A JSON response (``application/json; charset=utf-8``)."""
    return Response(status, orjson.dumps(document), **extra)


def meta_error(status: int, message: str, **extra: Any) -> Response:
    """``{"meta": {"error": message}}``: the error shape of v1 and App API calls."""
    return json_response(status, {"meta": {"error": message}}, **extra)


def batch_error(status: int, reason: str, message: str) -> Response:
    """``{"errors": [{"reason", "field": "batch", "message"}]}``: a refused ``/api/v2`` request."""
    return json_response(status, {"errors": [{"reason": reason, "field": "batch", "message": message}]})


DROP = Response(0, b"")  # marker: close the connection without answering
_UNPARSED: Any = object()


class Call:
    """One request as the route handlers see it: path parameters, query, body (parsed on demand)."""

    __slots__ = (
        "_document",
        "body",
        "body_cut",
        "body_sha1",
        "body_size",
        "headers",
        "method",
        "params",
        "path",
        "query",
    )

    def __init__(
        self,
        method: str,
        path: str,
        params: dict[str, str],
        query: str,
        headers: Any,
        body: bytes | None,
        body_size: int,
        body_sha1: str,
        body_cut: bool = False,
    ) -> None:
        self.method = method
        self.path = path
        self.params = params
        self.query = {name: values[-1] for name, values in parse_qs(query).items()} if query else {}
        self.headers = headers
        self.body = body  # None when it was over the size limit (discarded, or not read at all)
        self.body_size = body_size  # the bytes received, or the Content-Length of a body not read
        self.body_sha1 = body_sha1  # of the bytes read
        self.body_cut = body_cut  # a chunked body whose reading stopped at the cap: body_size is a lower bound
        self._document: Any = _UNPARSED

    def json(self) -> Any:
        """The body parsed as JSON (``None`` when empty); raises ``ValueError`` if it is not JSON."""
        if self._document is _UNPARSED:
            self._document = orjson.loads(self.body) if self.body else None
        return self._document


@dataclass(frozen=True)
class Route:
    """One endpoint: ``method`` + ``template`` (``{name}`` matches one path segment)."""

    method: str
    template: str
    api: str
    handler: str  # name of the EmulatorServer method that answers it

    @property
    def key(self) -> str:
        """``"POST /api/v2/batch"``: how the stats name the route."""
        return f"{self.method} {self.template}"


ROUTES = (
    Route("GET", "/api/v1/accounts/region", TRACK, "track_region"),
    Route("PUT", "/api/v1/customers/{identifier}", TRACK, "track_identify_v1"),
    Route("DELETE", "/api/v1/customers/{identifier}", TRACK, "track_delete_v1"),
    Route("POST", "/api/v2/batch", TRACK, "track_batch"),
    Route("POST", "/api/v2/entity", TRACK, "track_entity"),
    Route("POST", "/api/v1/segments/{segment_id}/add_customers", TRACK, "track_add_customers"),
    Route("POST", "/api/v1/segments/{segment_id}/remove_customers", TRACK, "track_remove_customers"),
    Route("POST", "/v1/segments", APP, "app_create_segment"),
    Route("GET", "/v1/segments", APP, "app_list_segments"),
    Route("GET", "/v1/activities", APP, "app_activities"),
    Route("GET", "/_emulator/people", ADMIN, "admin_people"),
    Route("GET", "/_emulator/objects", ADMIN, "admin_objects"),
    Route("GET", "/_emulator/relationships", ADMIN, "admin_relationships"),
    Route("GET", "/_emulator/segments", ADMIN, "admin_segments"),
    Route("GET", "/_emulator/events", ADMIN, "admin_events"),
    Route("GET", "/_emulator/activities", ADMIN, "admin_activities"),
    Route("GET", "/_emulator/suppressions", ADMIN, "admin_suppressions"),
    Route("GET", "/_emulator/removals", ADMIN, "admin_removals"),
    Route("GET", "/_emulator/stats", ADMIN, "admin_stats"),
    Route("GET", "/_emulator/requests", ADMIN, "admin_requests"),
    Route("POST", "/_emulator/reset", ADMIN, "admin_reset"),
    Route("POST", "/_emulator/settings", ADMIN, "admin_settings"),
    Route("POST", "/_emulator/suppress", ADMIN, "admin_suppress"),
    Route("POST", "/_emulator/faults", ADMIN, "admin_faults"),
)


class Router:
    """Finds the route of a method and path; also tells which methods a known path allows (405)."""

    def __init__(self, routes: tuple[Route, ...]) -> None:
        self._static: dict[str, dict[str, Route]] = {}
        self._patterns: dict[str, tuple[re.Pattern[str], dict[str, Route]]] = {}
        for route in routes:
            if "{" in route.template:
                pattern = re.compile(re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", route.template))
                self._patterns.setdefault(route.template, (pattern, {}))[1][route.method] = route
            else:
                self._static.setdefault(route.template, {})[route.method] = route

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], tuple[str, ...]]:
        """``(route, path parameters, methods the path allows)``; no route and no methods: unknown path."""
        by_method = self._static.get(path)
        params: dict[str, str] = {}
        if by_method is None:
            for pattern, methods in self._patterns.values():
                found = pattern.fullmatch(path)
                if found:
                    by_method = methods
                    params = {name: unquote(value) for name, value in found.groupdict().items()}
                    break
            else:
                return None, params, ()
        return by_method.get(method), params, tuple(by_method)


class EmulatorServer(ThreadingHTTPServer):
    """The emulated workspace behind an HTTP(S) listener. Start it with :meth:`serve_forever` (in a
    thread), stop it with :meth:`stop`; ``url`` is where it listens."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        host: str,
        port: int,
        credentials: Credentials,
        *,
        certificate: tuple[str, str] | None = None,
    ) -> None:
        super().__init__((host, port), _RequestHandler)
        self.credentials = credentials
        self.ssl_context = _server_ssl_context(*certificate) if certificate else None
        self.scheme = "https" if certificate else "http"
        self.url = f"{self.scheme}://{host}:{self.server_address[1]}"
        self.router = Router(ROUTES)
        self.lock = threading.RLock()
        self._gate = threading.Lock()  # fault generator and rate-limit windows; never held while awaiting `lock`
        self._generation = 0
        self._expected_basic = credentials.basic_authorization()
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self._reset_state()

    # --- lifecycle -----------------------------------------------------------------------------------

    def serve_forever(self, poll_interval: float = 0.05) -> None:
        """Serve until :meth:`stop`; a short poll interval makes stopping quick."""
        super().serve_forever(poll_interval)

    def stop(self) -> None:
        """Stop serving, close every open connection (keep-alive ones included) and the listener."""
        self.shutdown()
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        self.server_close()

    def get_request(self) -> tuple[socket.socket, Any]:
        """Accept a connection; with TLS, wrap it (the handshake happens in the handler's thread)."""
        connection, address = super().get_request()
        if self.ssl_context is not None:
            connection = self.ssl_context.wrap_socket(connection, server_side=True, do_handshake_on_connect=False)
        return connection, address

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that go away (resets, broken pipes, failed TLS handshakes) are normal here."""
        logger.debug("connection from %s ended with an error", client_address, exc_info=True)

    def track_connection(self, connection: socket.socket, open_: bool) -> None:
        """Remember the open connections, so that :meth:`stop` can close idle keep-alive ones."""
        with self._connections_lock:
            if open_:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def _reset_state(self) -> None:
        self._generation += 1  # a request that arrived before a reset is not answered after it
        self.workspace = Workspace()
        self._request_log: collections.deque[dict[str, Any]] = collections.deque(maxlen=REQUEST_LOG_SIZE)
        self._next_seq = 1
        self._stats: dict[str, dict[str, Any]] = {}
        with self._gate:
            self.faults = Faults()
            self._rng = random.Random(0)
            self._app_calls: collections.deque[float] = collections.deque()
            self._track_calls: list[float] = []  # arrival times of the accepted Track requests, in order

    # --- answering -----------------------------------------------------------------------------------

    def answer(self, route: Route | None, allowed: tuple[str, ...], call: Call, arrival: float) -> Response:
        """Answer one request (``DROP``: close the connection without a response)."""
        if call.path.startswith(ADMIN_PREFIX):
            return self._answer_admin(route, allowed, call)
        generation = self._generation
        response = self._refusal(route, allowed, call, arrival)
        fault, drop_after_apply = None, False
        if response is None and route is not None and route.api == TRACK and self.faults.active:
            fault, drop_after_apply, delay = self._draw_fault()
            if delay:
                time.sleep(delay)
                fault = fault or "latency"
            if fault in STATUS_FAULTS:
                response = self._fault_response(fault)
        dropped = fault == "drop"
        with self.lock:
            if generation != self._generation:  # reset while this request waited: it belongs to the old workspace
                return DROP
            if response is None and route is not None and (drop_after_apply or not dropped):
                response = getattr(self, route.handler)(call)
            self._record(route, call, arrival, response, fault, dropped)
        return DROP if dropped or response is None else response

    def _refusal(self, route: Route | None, allowed: tuple[str, ...], call: Call, arrival: float) -> Response | None:
        """404, 405, 401, 413 or the App API's 429, before anything else happens."""
        if route is None:
            if allowed:
                return meta_error(405, "method not allowed", headers=(("Allow", ", ".join(allowed)),))
            return meta_error(404, "not found")
        if route.api == TRACK:
            if not self.track_authorized(call.headers.get("Authorization")):
                return meta_error(401, "Unauthorized request")
            if call.body is None:
                size = f"over {TRACK_BODY_CAP}" if call.body_cut else str(call.body_size)
                message = f"request body is {size} bytes; the limit is {MAX_BATCH_BYTES}"
                return batch_error(413, "too_large", message)
            return self._track_rate_limited(arrival)
        scheme, _, token = (call.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or token.strip() != self.credentials.app_api_key:
            return meta_error(401, "Unauthorized request")
        if not self._take_app_slot():
            return meta_error(429, "rate limited", headers=(("Retry-After", "1"),), retry_after=1)
        return None

    def track_authorized(self, header: str | None) -> bool:
        """Whether an ``Authorization`` header carries the Track API's credentials (HTTP Basic)."""
        if header == self._expected_basic:
            return True
        scheme, _, token = (header or "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(token.strip(), validate=True).decode()
        except ValueError:
            return False
        return decoded == f"{self.credentials.site_id}:{self.credentials.api_key}"

    def _take_app_slot(self) -> bool:
        """The App API's sliding window: at most 10 accepted requests in any second."""
        now = time.monotonic()
        with self._gate:
            calls = self._app_calls
            while calls and calls[0] <= now - 1:
                calls.popleft()
            if len(calls) >= APP_REQUESTS_PER_SECOND:
                return False
            calls.append(now)
            return True

    # --- the Track API rate limit (setting ``track_requests_per_second``, off by default) ------------

    def _track_rate_limited(self, arrival: float) -> Response | None:
        """429 with ``Retry-After`` when a second around the request's arrival already holds the accepted
        requests the limit allows.

        Requests are checked once their body is read, which may be in another order than they arrived:
        a request is accepted only when fewer than ``limit`` accepted ones arrived less than a second
        before or after it, so that no second of arrivals ever holds more than ``limit`` accepted ones.
        """
        limit = self.workspace.settings.get("track_requests_per_second")
        if not limit:
            return None
        with self._gate:
            calls = self._track_calls
            del calls[: bisect.bisect_right(calls, time.monotonic() - TRACK_WINDOW_MEMORY)]
            near = bisect.bisect_left(calls, arrival + 1) - bisect.bisect_right(calls, arrival - 1)
            if near < limit:
                bisect.insort(calls, arrival)
                return None
        return meta_error(429, "rate limited", headers=(("Retry-After", "1"),), retry_after=1)

    def _draw_fault(self) -> tuple[str | None, bool, float]:
        with self._gate:
            return self.faults.draw(self._rng)

    def _fault_response(self, fault: str) -> Response:
        if fault == "429":
            seconds = self.faults.retry_after
            return meta_error(429, "rate limited", headers=(("Retry-After", str(seconds)),), retry_after=seconds)
        message = "internal server error" if fault == "500" else "service unavailable"
        return meta_error(int(fault), f"{message} (injected fault)")

    def _record(
        self,
        route: Route | None,
        call: Call,
        arrival: float,
        response: Response | None,
        fault: str | None,
        dropped: bool,
    ) -> None:
        """Add the request to the log and to the stats (a dropped request counts under ``"drop"``)."""
        key = route.key if route is not None else f"{call.method} (unknown route)"
        status = None if dropped or response is None else response.status
        entry = {
            "seq": 0,
            "t": arrival,
            "method": call.method,
            "path": call.path,
            "host": call.headers.get("Host"),
            "status": status,
            "ops": _ops_in(route, call),
            "body_sha1": call.body_sha1,
            "retry_after": response.retry_after if status is not None and response is not None else None,
            "fault": fault,
        }
        with self.lock:
            entry["seq"] = self._next_seq
            self._next_seq += 1
            self._request_log.append(entry)
            stats = self._stats.get(key)
            if stats is None:
                stats = self._stats[key] = {"requests": {}, "ops": {"accepted": 0, "failed": 0}}
            counts = stats["requests"]
            status_key = "drop" if status is None else str(status)
            counts[status_key] = counts.get(status_key, 0) + 1
            if response is not None:
                stats["ops"]["accepted"] += response.accepted
                stats["ops"]["failed"] += response.failed

    # --- Track API -----------------------------------------------------------------------------------

    def track_region(self, call: Call) -> Response:
        """``GET /api/v1/accounts/region``: the credential check."""
        return json_response(200, {"url": self.url, "region": "us", "environment_id": 3})

    def track_batch(self, call: Call) -> Response:
        """``POST /api/v2/batch``: apply every op; 200 ``{}``, or 207 with the item errors."""
        try:
            document = call.json()
        except ValueError:
            return batch_error(400, "invalid", "the request body is not valid JSON")
        if type(document) is not dict or type(document.get("batch")) is not list:
            return batch_error(400, "invalid", 'the request body must be a JSON object with a "batch" list')
        ops = document["batch"]
        with self.lock:
            errors = self.workspace.apply_batch(ops)
        accepted, failed = len(ops) - len(errors), len(errors)
        if errors:
            return json_response(207, {"errors": errors}, accepted=accepted, failed=failed)
        return json_response(200, {}, accepted=accepted)

    def track_entity(self, call: Call) -> Response:
        """``POST /api/v2/entity``: apply one op; 200 ``{}`` or 400 with its error."""
        try:
            document = call.json()
        except ValueError:
            return json_response(400, {"errors": [{"reason": "invalid", "field": "", "message": "not valid JSON"}]})
        with self.lock:
            errors = self.workspace.apply_batch([document])
        if errors:
            del errors[0]["batch_index"]
            return json_response(400, {"errors": errors}, failed=1)
        return json_response(200, {}, accepted=1)

    def track_identify_v1(self, call: Call) -> Response:
        """``PUT /api/v1/customers/{identifier}``: the body holds the attributes."""
        try:
            attributes = call.json()
        except ValueError:
            return json_response(400, {"meta": {"errors": ["the request body is not valid JSON"]}}, failed=1)
        with self.lock:
            try:
                self.workspace.identify_v1(call.params["identifier"], attributes)
            except ItemError as error:
                return json_response(400, {"meta": {"errors": [error.message]}}, failed=1)
        return json_response(200, {}, accepted=1)

    def track_delete_v1(self, call: Call) -> Response:
        """``DELETE /api/v1/customers/{identifier}``."""
        with self.lock:
            try:
                self.workspace.delete_v1(call.params["identifier"])
            except ItemError as error:
                return json_response(400, {"meta": {"errors": [error.message]}})
        return json_response(200, {})

    def track_add_customers(self, call: Call) -> Response:
        """``POST /api/v1/segments/{segment_id}/add_customers?id_type=...`` with ``{"ids": [...]}``."""
        return self._change_segment(call, add=True)

    def track_remove_customers(self, call: Call) -> Response:
        """``POST /api/v1/segments/{segment_id}/remove_customers?id_type=...`` with ``{"ids": [...]}``."""
        return self._change_segment(call, add=False)

    def _change_segment(self, call: Call, *, add: bool) -> Response:
        try:
            document = call.json()
        except ValueError:
            return meta_error(400, "the request body is not valid JSON")
        ids = document.get("ids") if type(document) is dict else None
        with self.lock:
            try:
                self.workspace.change_segment_members(
                    call.params["segment_id"], ids, call.query.get("id_type", "id"), add=add
                )
            except SegmentNotFound as error:
                return meta_error(404, str(error))
            except ValueError as error:
                return meta_error(400, str(error))
        return json_response(200, {})

    # --- App API -------------------------------------------------------------------------------------

    def app_create_segment(self, call: Call) -> Response:
        """``POST /v1/segments`` with ``{"segment": {"name", "description"}}``."""
        try:
            document = call.json()
        except ValueError:
            return meta_error(400, "the request body is not valid JSON")
        segment = document.get("segment") if type(document) is dict else None
        if type(segment) is not dict:
            return meta_error(400, 'the request body must hold a "segment" object')
        with self.lock:
            try:
                created = self.workspace.create_segment(segment.get("name"), segment.get("description", ""))
            except ValueError as error:
                return meta_error(400, str(error))
            return json_response(200, {"segment": created.summary()})

    def app_list_segments(self, call: Call) -> Response:
        """``GET /v1/segments``."""
        with self.lock:
            return json_response(200, {"segments": [s.summary() for s in self.workspace.segments()]})

    def app_activities(self, call: Call) -> Response:
        """``GET /v1/activities?type=...&limit=N&start=CURSOR``: newest first, ``next`` cursor or ``""``."""
        limit_text = call.query.get("limit", str(ACTIVITY_PAGE_DEFAULT))
        if not limit_text.isdecimal() or int(limit_text) < 1:
            return meta_error(400, "limit must be a positive integer")
        limit = min(int(limit_text), ACTIVITY_PAGE_MAX)
        with self.lock:
            try:
                page = self.workspace.activity_page(
                    type=call.query.get("type"), limit=limit, start=call.query.get("start", "")
                )
            except ValueError as error:
                return meta_error(400, str(error))
            return json_response(200, page)

    # --- admin ---------------------------------------------------------------------------------------

    def _answer_admin(self, route: Route | None, allowed: tuple[str, ...], call: Call) -> Response:
        if route is None:
            if allowed:
                return meta_error(405, "method not allowed", headers=(("Allow", ", ".join(allowed)),))
            return meta_error(404, "not found")
        if call.body is None:
            return meta_error(413, f"request body over {ADMIN_BODY_CAP} bytes")
        try:
            document = call.json()
        except ValueError:
            return meta_error(400, "the request body is not valid JSON")
        return getattr(self, route.handler)(document)

    def admin_people(self, document: Any) -> Response:
        """``GET /_emulator/people``."""
        return self._admin_view(self.workspace.people)

    def admin_objects(self, document: Any) -> Response:
        """``GET /_emulator/objects``."""
        return self._admin_view(self.workspace.objects)

    def admin_relationships(self, document: Any) -> Response:
        """``GET /_emulator/relationships``."""
        return self._admin_view(self.workspace.relationships)

    def admin_segments(self, document: Any) -> Response:
        """``GET /_emulator/segments``."""
        return self._admin_view(self.workspace.segment_members)

    def admin_events(self, document: Any) -> Response:
        """``GET /_emulator/events``: every stored event, in the order received."""
        return self._admin_view(self.workspace.events)

    def admin_activities(self, document: Any) -> Response:
        """``GET /_emulator/activities``: all of them, oldest first."""
        return self._admin_view(lambda: self.workspace.activities)

    def admin_suppressions(self, document: Any) -> Response:
        """``GET /_emulator/suppressions``: ``{"ids": [...], "emails": [...]}``, the blocked identifiers."""
        return self._admin_view(self.workspace.suppressions)

    def admin_removals(self, document: Any) -> Response:
        """``GET /_emulator/removals``: every person/object ``delete`` and ``suppress`` op applied, oldest first:
        ``{"type", "identifiers", "action", "found"}`` (``found``: whether it named an existing profile/object)."""
        return self._admin_view(lambda: self.workspace.removals)

    def admin_stats(self, document: Any) -> Response:
        """``GET /_emulator/stats``."""
        return self._admin_view(lambda: self._stats)

    def admin_requests(self, document: Any) -> Response:
        """``GET /_emulator/requests``: the request log, in arrival order."""
        return self._admin_view(lambda: list(self._request_log))

    def _admin_view(self, view: Callable[[], Any]) -> Response:
        with self.lock:
            return json_response(200, view())

    def admin_reset(self, document: Any) -> Response:
        """``POST /_emulator/reset``: empty workspace, default settings, no faults, no log, no stats."""
        with self.lock:
            self._reset_state()
        return json_response(200, {})

    def admin_settings(self, document: Any) -> Response:
        """``POST /_emulator/settings``: change some settings, answer all of them."""
        if document is not None and type(document) is not dict:
            return meta_error(400, "settings must be a JSON object")
        with self.lock:
            try:
                return json_response(200, self.workspace.update_settings(document or {}))
            except ValueError as error:
                return meta_error(400, str(error))

    def admin_suppress(self, document: Any) -> Response:
        """``POST /_emulator/suppress`` with ``{"id": ...}`` or ``{"email": ...}``."""
        if type(document) is not dict or set(document) - {"id", "email"}:
            return meta_error(400, 'give {"id": ...} or {"email": ...}')
        with self.lock:
            try:
                self.workspace.suppress(id=document.get("id"), email=document.get("email"))
            except (ValueError, ItemError) as error:
                return meta_error(400, str(error))
        return json_response(200, {})

    def admin_faults(self, document: Any) -> Response:
        """``POST /_emulator/faults``: replace the fault settings (``{}`` turns faults off)."""
        try:
            faults = Faults.from_json(document)
        except (TypeError, ValueError) as error:
            return meta_error(400, str(error))
        with self._gate:
            self.faults = faults
            self._rng = random.Random(faults.seed)
        return json_response(200, asdict(faults))


def _ops_in(route: Route | None, call: Call) -> int | None:
    """For the request log: the ops in a batch body (``None`` if unreadable), else 1."""
    if route is None or route.handler != "track_batch":
        return 1
    try:
        document = call.json() if call.body is not None else None
    except ValueError:
        return None
    batch = document.get("batch") if type(document) is dict else None
    return len(batch) if type(batch) is list else None


class _BadBody(Exception):
    """A request body that cannot be read (bad Content-Length or chunk framing)."""


class _RequestHandler(BaseHTTPRequestHandler):
    """Reads a request, lets the server answer it, writes the answer in one piece."""

    server: EmulatorServer
    protocol_version = "HTTP/1.1"
    server_version = "cio-workspace-emulator"
    disable_nagle_algorithm = True

    def setup(self) -> None:
        """Complete the TLS handshake (in this connection's own thread) and register the connection."""
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(10)
            self.request.do_handshake()
            self.request.settimeout(None)
        super().setup()
        self.server.track_connection(self.request, True)

    def finish(self) -> None:
        """Forget the connection."""
        self.server.track_connection(self.request, False)
        super().finish()

    def do_GET(self) -> None:
        """Any GET."""
        self._serve()

    def do_POST(self) -> None:
        """Any POST."""
        self._serve()

    def do_PUT(self) -> None:
        """Any PUT."""
        self._serve()

    def do_DELETE(self) -> None:
        """Any DELETE."""
        self._serve()

    def do_PATCH(self) -> None:
        """Any PATCH (no route takes it: 404 or 405)."""
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        """Send the standard library's request lines to ``logging`` (debug) instead of stderr."""
        logger.debug(format, *args)

    def _serve(self) -> None:
        arrival = time.monotonic()
        path, _, query = self.path.partition("?")
        route, params, allowed = self.server.router.match(self.command, path)
        try:
            body, size, sha1, cut = self._receive_body(route, path)
        except _BadBody as error:
            self.close_connection = True
            self._send(meta_error(400, str(error)))
            return
        call = Call(self.command, path, params, query, self.headers, body, size, sha1, cut)
        try:
            response = self.server.answer(route, allowed, call, arrival)
        except Exception:
            logger.exception("the emulator failed on %s %s", self.command, path)
            response = meta_error(500, "the emulator failed; see its log")
        if response is DROP:
            self._drop()
        else:
            self._send(response)

    def _receive_body(self, route: Route | None, path: str) -> tuple[bytes | None, int, str, bool]:
        """The body as :meth:`_read_body` gives it, under the route's caps; nothing is read of a Track
        request without valid credentials (it is answered 401, and the connection closed)."""
        if (
            route is not None
            and route.api == TRACK
            and not self.server.track_authorized(self.headers.get("Authorization"))
        ):
            self.close_connection = True
            return b"", 0, hashlib.sha1(usedforsecurity=False).hexdigest(), False
        if path.startswith(ADMIN_PREFIX):
            return self._read_body(ADMIN_BODY_CAP, ADMIN_BODY_CAP)
        return self._read_body(MAX_BATCH_BYTES, TRACK_BODY_CAP)

    def _read_body(self, limit: int, cap: int) -> tuple[bytes | None, int, str, bool]:
        """``(body or None when over limit, size, sha1 hex, whether reading stopped at the cap)``.

        A body over ``limit`` is read and dropped (the connection goes on). A body over ``cap`` is not
        read: ``Content-Length`` says its size; a chunked body is read up to the cap. The connection is
        then closed, its unread bytes with it.
        """
        digest = hashlib.sha1(usedforsecurity=False)
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked_body(limit, cap, digest)
        length_text = self.headers.get("Content-Length", "0")
        if not length_text.isdecimal():
            raise _BadBody("Content-Length must be a non-negative integer")
        length = int(length_text)
        if length > cap:
            self.close_connection = True
            return None, length, digest.hexdigest(), False
        if length <= limit:
            body = self.rfile.read(length)
            if len(body) < length:
                raise _BadBody("the connection closed before the whole body arrived")
            digest.update(body)
            return body, length, digest.hexdigest(), False
        remaining = length
        while remaining:
            piece = self.rfile.read(min(remaining, _READ_CHUNK))
            if not piece:
                raise _BadBody("the connection closed before the whole body arrived")
            digest.update(piece)
            remaining -= len(piece)
        return None, length, digest.hexdigest(), False

    def _read_chunked_body(self, limit: int, cap: int, digest: Any) -> tuple[bytes | None, int, str, bool]:
        pieces: list[bytes] | None = []
        size = 0
        while True:
            line = self.rfile.readline(1024)
            try:
                chunk_size = int(line.split(b";")[0], 16)
            except ValueError:
                raise _BadBody("bad chunk size in a chunked body") from None
            if chunk_size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailer fields
                break
            while chunk_size:  # in pieces: a chunk may announce any size
                piece = self.rfile.read(min(chunk_size, _READ_CHUNK))
                if not piece:
                    raise _BadBody("the connection closed before the whole body arrived")
                chunk_size -= len(piece)
                digest.update(piece)
                size += len(piece)
                if size > cap:
                    self.close_connection = True
                    return None, size, digest.hexdigest(), True
                if pieces is not None:
                    pieces.append(piece)
                    if size > limit:
                        pieces = None
            self.rfile.readline(1024)
        return (b"".join(pieces) if pieces is not None else None), size, digest.hexdigest(), False

    def _send(self, response: Response) -> None:
        phrase = HTTPStatus(response.status).phrase
        head = [
            f"HTTP/1.1 {response.status} {phrase}",
            f"Server: {self.server_version}",
            f"Date: {email.utils.formatdate(usegmt=True)}",
            "Content-Type: application/json; charset=utf-8",
            f"Content-Length: {len(response.body)}",
        ]
        head += [f"{name}: {value}" for name, value in response.headers]
        if self.close_connection:
            head.append("Connection: close")
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + response.body)

    def _drop(self) -> None:
        """Close the connection without a response (an injected ``drop`` fault)."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.request.shutdown(socket.SHUT_RDWR)


def _server_ssl_context(certificate_path: str, key_path: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate_path, key_path)
    return context


def write_self_signed_certificate(directory: str | Path) -> tuple[str, str]:
    """Write a self-signed certificate for ``127.0.0.1`` and ``localhost`` into ``directory``.

    Returns ``(certificate PEM path, private key PEM path)``. The certificate is its own CA: give its
    path to a client as the CA bundle (``requests``: ``verify=path``; ``REQUESTS_CA_BUNDLE=path``).
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cio-workspace-emulator")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    certificate_path = Path(directory) / "emulator-cert.pem"
    key_path = Path(directory) / "emulator-key.pem"
    certificate_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(certificate_path), str(key_path)
