"""A throwaway Redis server for tests (the Celery broker of the system tests).

``TemporaryRedisServer`` starts the installed ``redis-server`` on a free port of 127.0.0.1, without
persistence, in a temporary directory, and removes everything when it stops. ``RedisServer.from_url``
wraps a server you already run (``redis://host:port/``)::

    with TemporaryRedisServer() as redis:
        broker_url = redis.url_for(database=1)
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from cio_devservers.mysql_server import free_port, tail

SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/bin", "/usr/local/bin", "/usr/sbin"])


@dataclass(frozen=True)
class RedisServer:
    """Where a Redis server listens."""

    host: str
    port: int
    password: str = ""

    @classmethod
    def from_url(cls, url: str) -> RedisServer:
        """Describe a running server from ``redis://[:password@]host:port/``."""
        parts = urlsplit(url)
        if parts.scheme != "redis" or not parts.hostname:
            raise ValueError(f"expected a URL like redis://127.0.0.1:6379/, got scheme {parts.scheme!r}")
        return cls(host=parts.hostname, port=parts.port or 6379, password=unquote(parts.password or ""))

    @property
    def url(self) -> str:
        """The server as a ``redis://`` URL (database 0)."""
        return self.url_for(0)

    def url_for(self, database: int) -> str:
        """The URL of one numbered database (Celery's ``broker_url``)."""
        auth = f":{quote(self.password, safe='')}@" if self.password else ""
        return f"redis://{auth}{self.host}:{self.port}/{database}"

    def ping(self, timeout: float = 2.0) -> bool:
        """Whether the server answers ``PING``."""
        try:
            with socket.create_connection((self.host, self.port), timeout=timeout) as sock:
                if self.password:
                    sock.sendall(f"AUTH {self.password}\r\n".encode())
                    sock.recv(64)
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False


class TemporaryRedisServer:
    """Start a private ``redis-server`` in a temporary directory; remove it on stop.

    :param startup_timeout: seconds to wait for the server to answer ``PING``.
    """

    def __init__(self, *, startup_timeout: float = 30.0) -> None:
        self.startup_timeout = startup_timeout
        self.server: RedisServer | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._tmpdir: str | None = None

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> RedisServer:
        """Start the server and wait until it answers."""
        binary = shutil.which("redis-server", path=SEARCH_PATH)
        if binary is None:
            raise RuntimeError(
                "redis-server is not installed. Install it (Debian/Ubuntu: apt-get install redis-server; "
                "scripts/system-deps.sh does it) or set CIO_TEST_REDIS_URL=redis://host:port/"
            )
        self._tmpdir = tempfile.mkdtemp(prefix="cio-redis-")
        port = free_port()
        log_path = Path(self._tmpdir, "redis.log")
        command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", self._tmpdir, "--save", ""]
        command += ["--appendonly", "no", "--daemonize", "no", "--logfile", str(log_path)]
        self._process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.server = RedisServer("127.0.0.1", port)
        deadline = time.monotonic() + self.startup_timeout
        while not self.server.ping():
            if self._process.poll() is not None or time.monotonic() > deadline:
                message = f"redis-server did not start:\n{tail(log_path)}"
                self.stop()
                raise RuntimeError(message)
            time.sleep(0.05)
        return self.server

    def stop(self) -> None:
        """Stop the server (by its pid) and delete its directory."""
        if self._process is not None:
            if self._process.poll() is None:
                self._process.terminate()
                try:
                    self._process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait()
            self._process = None
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None
