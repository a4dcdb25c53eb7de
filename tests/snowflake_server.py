"""A local Snowflake for tests: fakesnow's server, over TLS, reached by the real Snowflake connector.

``SnowflakeHook`` always speaks HTTPS (it has no ``protocol`` setting), so the server is ``uvicorn
fakesnow.server:app`` with a throwaway certificate for ``localhost``; the connector trusts it through
``REQUESTS_CA_BUNDLE``, which its bundled ``requests`` reads. Nothing in the connector or the hook is patched.

Usage::

    with FakeSnowflakeServer(tmp_path) as server:
        monkeypatch.setenv(*server.connection_env("snowflake_default"))
        monkeypatch.setenv(*server.ca_env)
        SnowflakeHook(snowflake_conn_id="snowflake_default").get_first("SELECT 1")

fakesnow serves a whole result in one response (no result chunks), returns ``SUCCESS`` for every abort
request without stopping anything, and keeps its databases in memory for the life of the server.

The fixtures ``fakesnow_server`` (one server for the session) and ``snowflake_db`` (the Airflow connection
``cio_snowflake`` on it) are defined here and imported by ``tests/conftest.py``, so every test directory
shares one server.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest
from security.certificates import make_pki

#: How long the server may take to start before the tests give up on it (a ceiling, not a measure).
START_TIMEOUT_SECONDS = 60.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class FakeSnowflakeServer:
    """fakesnow's Snowflake server in a subprocess, on a free port of ``localhost``, over TLS.

    :param directory: where the throwaway certificates and the server's log are written.
    :param database: the database the Airflow connection logs into (fakesnow creates it on login).
    :param schema: the schema the Airflow connection logs into (fakesnow creates it on login).
    """

    #: What the connection logs in with; fakesnow accepts any user, password and account.
    account = "fakesnow"
    login = "cio_test"
    password = "not-a-secret"

    def __init__(self, directory: Path, *, database: str = "CIO_TEST", schema: str = "PUBLIC") -> None:
        self.directory = directory
        self.database = database
        self.schema = schema
        self.host = "localhost"
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._ca = ""

    def __enter__(self) -> FakeSnowflakeServer:
        tls = make_pki(self.directory / "tls", name="fakesnow")
        self._ca = tls.ca
        self.port = _free_port()
        self._log = (self.directory / "fakesnow-server.log").open("wb")
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "fakesnow.server:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--ssl-keyfile",
                tls.server_key,
                "--ssl-certfile",
                tls.server_cert,
                "--log-level",
                "warning",
                # the connector keeps its HTTPS connections open: do not wait for them on the way out
                "--timeout-graceful-shutdown",
                "1",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        try:
            self._wait_until_ready()
        except BaseException:
            self._stop()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._stop()

    def _wait_until_ready(self) -> None:
        """Wait until the server answers an HTTPS request whose certificate verifies against the CA."""
        context = ssl.create_default_context(cafile=self._ca)
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError(f"the fakesnow server exited with {self._process.returncode}: {self.log_text()}")
            try:
                connection = http.client.HTTPSConnection(self.host, self.port, timeout=5, context=context)
                try:
                    # No session token: the server answers 401, which is enough to know it serves.
                    connection.request("POST", "/session")
                    connection.getresponse().read()
                finally:
                    connection.close()
                return
            except (ConnectionError, OSError):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the fakesnow server did not start: {self.log_text()}") from None
                time.sleep(0.1)

    def _stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
        if not self._log.closed:
            self._log.close()

    def log_text(self) -> str:
        """What the server wrote to its log so far (for a failure message)."""
        return (self.directory / "fakesnow-server.log").read_text(errors="replace")

    @property
    def connection_extra(self) -> dict[str, object]:
        """The connection's extra as ``SnowflakeHook`` reads it: the server's ``host`` and ``port`` (the connector
        4.x checks no OCSP revocation by default, so the throwaway certificate needs no responder)."""
        return {
            "account": self.account,
            "database": self.database,
            "warehouse": "CIO_WH",
            "host": self.host,
            "port": self.port,
        }

    def connection_uri_json(self) -> str:
        """The Airflow connection as the JSON form of an ``AIRFLOW_CONN_*`` variable."""
        return json.dumps(
            {
                "conn_type": "snowflake",
                "login": self.login,
                "password": self.password,
                "schema": self.schema,
                "extra": self.connection_extra,
            }
        )

    def connection_env(self, conn_id: str = "snowflake_default") -> tuple[str, str]:
        """The ``(name, value)`` of the environment variable that defines the Airflow connection ``conn_id``."""
        return f"AIRFLOW_CONN_{conn_id.upper()}", self.connection_uri_json()

    @property
    def ca_env(self) -> tuple[str, str]:
        """The ``(name, value)`` of the environment variable by which the connector trusts the server's CA."""
        return "REQUESTS_CA_BUNDLE", self._ca


CONN_ID = "cio_snowflake"


@pytest.fixture(scope="session")
def fakesnow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeSnowflakeServer]:
    """fakesnow's server for the session, over TLS."""
    with FakeSnowflakeServer(tmp_path_factory.mktemp("fakesnow")) as server:
        yield server


class SnowflakeDatabase:
    """The Airflow connection ``cio_snowflake`` on the server, with a shortcut to run statements through it."""

    conn_id = CONN_ID

    def execute(self, *statements: str) -> list[tuple[Any, ...]]:
        """Run statements through ``SnowflakeHook``; the rows of the last one."""
        from airflow.providers.snowflake.hooks.snowflake import SnowflakeHook

        rows: list[tuple[Any, ...]] = []
        with SnowflakeHook(snowflake_conn_id=self.conn_id).get_conn() as conn, conn.cursor() as cursor:
            for statement in statements:
                rows = cursor.execute(statement).fetchall()
        return rows


@pytest.fixture
def snowflake_db(fakesnow_server: FakeSnowflakeServer, monkeypatch: pytest.MonkeyPatch) -> SnowflakeDatabase:
    """``cio_snowflake``: an ``AIRFLOW_CONN_*`` connection to the server, trusted through the test CA."""
    monkeypatch.setenv(*fakesnow_server.connection_env(CONN_ID))
    monkeypatch.setenv(*fakesnow_server.ca_env)
    return SnowflakeDatabase()
