"""``WorkspaceEmulator``: start an emulated Customer.io workspace for a test, a demo or a benchmark.

::

    from airflow_provider_cio.testing import WorkspaceEmulator

    with WorkspaceEmulator() as workspace:
        monkeypatch.setenv(*workspace.connection_env().popitem())  # AIRFLOW_CONN_CUSTOMERIO_DEFAULT
        ...  # run your DAG or hook against workspace.url
        assert workspace.person(id="42")["attributes"]["plan"] == "pro"

The emulator is a real HTTP server (``docs/emulator.md`` lists what it does and does not emulate).
It runs in a thread of the calling process, or with ``in_subprocess=True`` in a child process, so
that a benchmark's measurements do not include the emulator's CPU time. Every helper below goes
through the emulator's admin endpoints over HTTP, so both modes behave the same.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import requests

from airflow_provider_cio.testing.server import Credentials, EmulatorServer, write_self_signed_certificate

STARTUP_TIMEOUT_SECONDS = 30
STOP_TIMEOUT_SECONDS = 10


class WorkspaceEmulator:
    """An emulated Customer.io workspace (Track API, the App API calls the provider needs, admin API).

    Args:
        host: interface to listen on.
        port: port to listen on; ``0`` picks a free one (read it back from ``port`` or ``url``).
        tls: serve HTTPS with a self-signed certificate for ``127.0.0.1`` and ``localhost``;
            ``ca_bundle`` is the path of its PEM, for clients to trust.
        site_id, api_key: the Track API credentials (HTTP Basic) the emulator accepts.
        app_api_key: the App API key (``Authorization: Bearer``) the emulator accepts.
        in_subprocess: run the server in a child process (``python -m airflow_provider_cio.testing``).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: bool = False,
        site_id: str = "emulator-site",
        api_key: str = "emulator-track-key",
        app_api_key: str = "emulator-app-key",
        in_subprocess: bool = False,
    ) -> None:
        self.host = host
        self._requested_port = port
        self.tls = tls
        self.scheme = "https" if tls else "http"
        self.site_id = site_id
        self.api_key = api_key
        self.app_api_key = app_api_key
        self.in_subprocess = in_subprocess
        self.ca_bundle: str | None = None
        self._url: str | None = None
        self._directory: str | None = None
        self._server: EmulatorServer | None = None
        self._thread: threading.Thread | None = None
        self._process: subprocess.Popen[str] | None = None
        self._session: requests.Session | None = None

    # --- lifecycle -----------------------------------------------------------------------------------

    def start(self) -> WorkspaceEmulator:
        """Start listening; returns ``self``. Starting a started emulator does nothing."""
        if self._url is not None:
            return self
        certificate = None
        if self.tls:
            self._directory = tempfile.mkdtemp(prefix="cio-emulator-")
            certificate = write_self_signed_certificate(self._directory)
            self.ca_bundle = certificate[0]
        try:
            self._url = self._start_subprocess(certificate) if self.in_subprocess else self._start_thread(certificate)
        except BaseException:
            self._remove_directory()
            raise
        self._session = requests.Session()
        return self

    def stop(self) -> None:
        """Stop the server (and its child process), remove the certificate. Safe to call twice."""
        if self._session is not None:
            self._session.close()
            self._session = None
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._thread is not None:
            self._thread.join(STOP_TIMEOUT_SECONDS)
            self._thread = None
        if self._process is not None:
            self._stop_process(self._process)
            self._process = None
        self._remove_directory()
        self._url = None

    def __enter__(self) -> WorkspaceEmulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    def _start_thread(self, certificate: tuple[str, str] | None) -> str:
        credentials = Credentials(self.site_id, self.api_key, self.app_api_key)
        self._server = EmulatorServer(self.host, self._requested_port, credentials, certificate=certificate)
        self._thread = threading.Thread(target=self._server.serve_forever, name="cio-workspace-emulator", daemon=True)
        self._thread.start()
        return self._server.url

    def _start_subprocess(self, certificate: tuple[str, str] | None) -> str:
        command = [sys.executable, "-m", "airflow_provider_cio.testing", *self._cli_arguments(certificate)]
        package_root = str(Path(__file__).resolve().parents[2])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))}
        self._process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True, env=env)
        line = _first_line(self._process, STARTUP_TIMEOUT_SECONDS)
        if not line.startswith("listening on "):
            self._stop_process(self._process)
            self._process = None
            raise RuntimeError(f"the emulator process did not start (it printed {line!r})")
        return line.removeprefix("listening on ").strip()

    def _cli_arguments(self, certificate: tuple[str, str] | None) -> list[str]:
        arguments = ["--host", self.host, "--port", str(self._requested_port), "--site-id", self.site_id]
        arguments += ["--api-key", self.api_key, "--app-api-key", self.app_api_key]
        if certificate is not None:
            arguments += ["--tls", "--certificate", certificate[0], "--private-key", certificate[1]]
        return arguments

    @staticmethod
    def _stop_process(process: subprocess.Popen[str]) -> None:
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()

    def _remove_directory(self) -> None:
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)
            self._directory = None
            self.ca_bundle = None

    # --- where it listens ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL of both APIs, e.g. ``http://127.0.0.1:41234`` (``https`` with ``tls=True``)."""
        if self._url is None:
            raise RuntimeError("the emulator is not running: call start() or use it in a with block")
        return self._url

    @property
    def port(self) -> int:
        """The port it listens on (the one picked when ``port=0`` was asked for)."""
        return urlsplit(self.url).port or self._requested_port

    def connection(self, conn_type: str = "customerio") -> dict[str, Any]:
        """The Airflow connection (JSON form) that points the provider's hook at this emulator."""
        extra: dict[str, Any] = {"app_api_key": self.app_api_key}
        if self.ca_bundle is not None:
            extra["ca_bundle"] = self.ca_bundle
        return {
            "conn_type": conn_type,
            "login": self.site_id,
            "password": self.api_key,
            "host": self.host,
            "port": self.port,
            "schema": self.scheme,
            "extra": extra,
        }

    def connection_env(self, conn_id: str = "customerio_default") -> dict[str, str]:
        """``{"AIRFLOW_CONN_<CONN_ID>": <connection JSON>}``, to put in the environment of Airflow."""
        return {f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(self.connection())}

    # --- admin helpers -------------------------------------------------------------------------------

    def people(self) -> list[dict[str, Any]]:
        """Every person, in creation order: ``{"cio_id", "id", "email", "attributes"}``, and ``phone``
        when the person has one."""
        return self._admin("GET", "people")

    def person(
        self, *, id: str | None = None, email: str | None = None, phone: str | None = None
    ) -> dict[str, Any] | None:
        """The person with this ``id``, ``email`` (compared case-insensitively) or ``phone``, or ``None``."""
        if sum(value is not None for value in (id, email, phone)) != 1:
            raise ValueError("give exactly one of id, email and phone")
        for person in self.people():
            if id is not None and person["id"] == str(id):
                return person
            if email is not None and (person["email"] or "").lower() == email.lower():
                return person
            if phone is not None and person.get("phone") == phone:
                return person
        return None

    def objects(self) -> list[dict[str, Any]]:
        """Every object: ``{"object_type_id", "object_id", "attributes"}``."""
        return self._admin("GET", "objects")

    def relationships(self) -> list[dict[str, Any]]:
        """Every person-object relationship:
        ``{"person": {"cio_id", "id", "email"}, "object_type_id", "object_id", "attributes"}``."""
        return self._admin("GET", "relationships")

    def segments(self) -> list[dict[str, Any]]:
        """Every manual segment: ``{"id", "name", "description", "type", "members": [cio_id, ...]}``."""
        return self._admin("GET", "segments")

    def events(self) -> list[dict[str, Any]]:
        """Every stored event, in the order received: ``{"person", "name", "id", "timestamp", "attributes"}``,
        ``person`` holding the identifiers the event was sent with."""
        return self._admin("GET", "events")

    def activities(self) -> list[dict[str, Any]]:
        """The whole activity log (``failed_attribute_change`` entries), oldest first."""
        return self._admin("GET", "activities")

    def suppressions(self) -> dict[str, list[str]]:
        """The suppressed identifiers: ``{"ids": [...], "emails": [...]}`` (emails in lower case)."""
        return self._admin("GET", "suppressions")

    def removals(self) -> list[dict[str, Any]]:
        """Every person/object ``delete`` and ``suppress`` op applied, oldest first.

        Each is ``{"type", "identifiers", "action", "found"}``.
        """
        return self._admin("GET", "removals")

    def stats(self) -> dict[str, Any]:
        """Requests (by status) and ops (accepted, failed) per route, e.g. ``stats()["POST /api/v2/batch"]``."""
        return self._admin("GET", "stats")

    def requests_log(self) -> list[dict[str, Any]]:
        """One entry per Track/App API request, in arrival order (see ``docs/emulator.md``)."""
        return self._admin("GET", "requests")

    def reset(self) -> None:
        """Empty the workspace; default settings, no faults, empty request log and stats."""
        self._admin("POST", "reset")

    def settings(self, **settings: Any) -> dict[str, Any]:
        """Change some workspace settings (``identify_by``, ``allow_email_update_by_id``,
        ``object_types``, ``track_requests_per_second``, ``phone_identifiers``); returns all of them.
        ``settings()`` just reads them."""
        return self._admin("POST", "settings", settings)

    def suppress(self, *, id: str | None = None, email: str | None = None) -> None:
        """Suppress a person by ``id`` or ``email``: the profile is deleted, its identifiers blocked."""
        self._admin("POST", "suppress", {"id": id} if id is not None else {"email": email})

    def faults(self, **faults: Any) -> None:
        """Inject faults into Track API requests, e.g. ``faults(seed=7, rate_429=0.2, retry_after=1)``;
        ``faults()`` turns them off. Keys: ``seed``, ``rate_429``, ``rate_500``, ``rate_503``,
        ``rate_drop``, ``latency_ms``, ``latency_rate``, ``retry_after``, ``drop_after_apply``."""
        self._admin("POST", "faults", faults)

    def create_segment(self, name: str, description: str = "") -> dict[str, Any]:
        """Create a manual segment through the App API and return it (``{"id", "name", ...}``).

        Waits out the App API's rate limit (10 requests a second) if it answers 429.
        """
        while True:
            response = self._http.post(
                f"{self.url}/v1/segments",
                json={"segment": {"name": name, "description": description}},
                headers={"Authorization": f"Bearer {self.app_api_key}"},
                verify=self._verify,
                timeout=30,
            )
            if response.status_code != 429:
                break
            time.sleep(float(response.headers.get("Retry-After", "1")))
        response.raise_for_status()
        return response.json()["segment"]

    @property
    def _http(self) -> requests.Session:
        if self._session is None:
            raise RuntimeError("the emulator is not running: call start() or use it in a with block")
        return self._session

    @property
    def _verify(self) -> str | bool:
        # Given with each request: requests lets REQUESTS_CA_BUNDLE override a Session's ``verify``.
        return self.ca_bundle or True

    def _admin(self, method: str, name: str, body: dict[str, Any] | None = None) -> Any:
        response = self._http.request(
            method, f"{self.url}/_emulator/{name}", json=body, verify=self._verify, timeout=60
        )
        if response.status_code != 200:
            raise ValueError(f"{method} /_emulator/{name}: {response.status_code} {response.text}")
        return response.json()


def _first_line(process: subprocess.Popen[str], timeout: float) -> str:
    """The first line the child prints on stdout, or ``""`` if it exits or stays silent too long."""
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(process.stdout.readline() if process.stdout else ""))
    reader.daemon = True
    reader.start()
    reader.join(timeout)
    return lines[0] if lines else ""
