"""A throwaway MySQL-compatible server for tests, demos and benchmarks.

``TemporaryMySQLServer`` starts the installed ``mariadbd`` (or ``mysqld``) on a free port with its
data in a temporary directory, and removes everything when it stops. ``MySQLServer.from_url`` wraps a
server you already run (``mysql://user:password@host:port/``) with the same interface, so a test
session can use either::

    with TemporaryMySQLServer() as server:
        server.create_database("shop")
        env = server.connection_env("mysql_default", database="shop")
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

SERVER_BINARIES = ("mariadbd", "mysqld")
SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin", "/usr/local/mysql/bin"])


@dataclass(frozen=True)
class MySQLServer:
    """Where a MySQL-compatible server listens, and how to log in as an administrator."""

    host: str
    port: int
    user: str = "root"
    password: str = ""

    @classmethod
    def from_url(cls, url: str) -> MySQLServer:
        """Describe a running server from ``mysql://user:password@host:port/``."""
        parts = urlsplit(url)
        if parts.scheme not in ("mysql", "mariadb") or not parts.hostname:
            raise ValueError(f"expected a URL like mysql://root@127.0.0.1:3306/, got scheme {parts.scheme!r}")
        return cls(
            host=parts.hostname,
            port=parts.port or 3306,
            user=unquote(parts.username or "root"),
            password=unquote(parts.password or ""),
        )

    @property
    def url(self) -> str:
        """The server as a ``mysql://`` URL (without a database)."""
        auth = self.user if not self.password else f"{self.user}:{self.password}"
        return f"mysql://{auth}@{self.host}:{self.port}/"

    def connect(self, database: str | None = None, **kwargs: Any) -> Any:
        """Open a ``MySQLdb`` connection as the administrator (autocommit on)."""
        import MySQLdb

        conn = MySQLdb.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            passwd=self.password,
            database=database or "",
            charset="utf8mb4",
            autocommit=True,
            **kwargs,
        )
        return conn

    def execute(self, *statements: str, database: str | None = None) -> None:
        """Run statements one after the other (autocommit)."""
        conn = self.connect(database)
        try:
            with conn.cursor() as cursor:
                for statement in statements:
                    cursor.execute(statement)
        finally:
            conn.close()

    def query(self, sql: str, database: str | None = None) -> list[tuple[Any, ...]]:
        """The rows of a query, as tuples."""
        conn = self.connect(database)
        try:
            with conn.cursor() as cursor:
                cursor.execute(sql)
                return list(cursor.fetchall())
        finally:
            conn.close()

    def create_database(self, name: str) -> str:
        """Create (or empty and re-create) a database and return its name."""
        self.execute(f"DROP DATABASE IF EXISTS `{name}`", f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        return name

    def connection(self, database: str = "", **extra: Any) -> dict[str, Any]:
        """The Airflow connection (JSON form) for this server, as ``AIRFLOW_CONN_*`` accepts it."""
        return {
            "conn_type": "mysql",
            "host": self.host,
            "port": self.port,
            "login": self.user,
            "password": self.password,
            "schema": database,
            "extra": extra,
        }

    def connection_env(self, conn_id: str = "mysql_default", database: str = "", **extra: Any) -> dict[str, str]:
        """``{"AIRFLOW_CONN_<ID>": json}`` for this server, ready for ``os.environ.update``."""
        return {f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(self.connection(database, **extra))}


class TemporaryMySQLServer:
    """Start a private MySQL-compatible server in a temporary directory; remove it on stop.

    :param extra_args: more ``mariadbd``/``mysqld`` options, e.g. ``["--ssl-ca=..."]``.
    :param startup_timeout: seconds to wait for the server to accept connections.
    """

    def __init__(self, *, extra_args: list[str] | None = None, startup_timeout: float = 60.0) -> None:
        self.extra_args = list(extra_args or [])
        self.startup_timeout = startup_timeout
        self.server: MySQLServer | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._tmpdir: str | None = None

    def __enter__(self) -> MySQLServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> MySQLServer:
        """Initialise a data directory, start the server and wait until it accepts connections."""
        binary = find_server_binary()
        self._tmpdir = tempfile.mkdtemp(prefix="cio-mysql-")
        datadir = Path(self._tmpdir, "data")
        port = free_port()
        user_args = ["--user=root"] if os.geteuid() == 0 else []
        initialise_datadir(binary, datadir, user_args)
        log_path = Path(self._tmpdir, "server.log")
        command = [
            binary,
            "--no-defaults",
            f"--datadir={datadir}",
            f"--socket={Path(self._tmpdir, 'mysqld.sock')}",
            f"--pid-file={Path(self._tmpdir, 'mysqld.pid')}",
            f"--log-error={log_path}",
            f"--port={port}",
            "--bind-address=127.0.0.1",
            "--innodb-buffer-pool-size=256M",
            "--innodb-flush-log-at-trx-commit=2",
            "--max-connections=500",
            "--character-set-server=utf8mb4",
            "--skip-log-bin",
            *user_args,
            *self.extra_args,
        ]
        self._process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.server = MySQLServer(host="127.0.0.1", port=port)
        self._wait_until_ready(log_path)
        return self.server

    def stop(self) -> None:
        """Stop the server and delete its data directory."""
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def _wait_until_ready(self, log_path: Path) -> None:
        assert self.server is not None and self._process is not None
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"the MySQL server exited at start:\n{tail(log_path)}")
            try:
                self.server.connect().close()
                return
            except Exception:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the MySQL server did not accept connections within {self.startup_timeout:.0f} s")


def find_server_binary() -> str:
    """Path of the installed ``mariadbd`` or ``mysqld``; a clear error when there is none."""
    for name in SERVER_BINARIES:
        path = shutil.which(name, path=SEARCH_PATH)
        if path:
            return path
    raise RuntimeError(
        "no MySQL-compatible server is installed (looked for mariadbd and mysqld). Install one "
        "(Debian/Ubuntu: apt-get install mariadb-server) or set CIO_TEST_MYSQL_URL=mysql://user:pw@host:port/"
    )


def initialise_datadir(binary: str, datadir: Path, user_args: list[str]) -> None:
    """Create the system tables of a new data directory, with a password-less ``root`` user."""
    install_db = shutil.which("mariadb-install-db", path=SEARCH_PATH) or shutil.which(
        "mysql_install_db", path=SEARCH_PATH
    )
    if Path(binary).name == "mariadbd" and install_db:
        command = [
            install_db,
            "--no-defaults",
            f"--datadir={datadir}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            *user_args,
        ]
    else:
        command = [binary, "--no-defaults", "--initialize-insecure", f"--datadir={datadir}", *user_args]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"initialising a MySQL data directory failed:\n{result.stdout}\n{result.stderr}")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tail(path: Path, lines: int = 20) -> str:
    """The last lines of a log file, or a note that it does not exist."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {path})"
