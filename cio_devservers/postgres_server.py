"""A throwaway PostgreSQL server for tests: Airflow's metadata database in the system tests, or a sync source.

``TemporaryPostgresServer`` initialises a cluster with the installed ``initdb`` in a temporary directory,
starts ``postgres`` on a free port of 127.0.0.1 (password-less ``postgres`` superuser, ``trust`` auth) and
removes everything when it stops. ``PostgresServer.from_url`` wraps a server you already run
(``postgresql://user:password@host:port/``) with the same interface::

    with TemporaryPostgresServer() as server:
        server.create_database("airflow")
        url = server.url_for("airflow", driver="psycopg2")  # for [database] sql_alchemy_conn

PostgreSQL refuses to run as root: as root, the cluster belongs to the ``postgres`` user (Debian's package
creates it) or else ``nobody``.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from cio_devservers.mysql_server import free_port, tail

SEARCH_PATH = os.pathsep.join(
    [os.environ.get("PATH", ""), *sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True), "/usr/local/pgsql/bin"]
)


@dataclass(frozen=True)
class PostgresServer:
    """Where a PostgreSQL server listens, and how to log in as a superuser."""

    host: str
    port: int
    user: str = "postgres"
    password: str = ""

    @classmethod
    def from_url(cls, url: str) -> PostgresServer:
        """Describe a running server from ``postgresql://user:password@host:port/``."""
        parts = urlsplit(url)
        if parts.scheme.split("+")[0] not in ("postgresql", "postgres") or not parts.hostname:
            raise ValueError(f"expected a URL like postgresql://postgres@127.0.0.1:5432/, got scheme {parts.scheme!r}")
        return cls(
            host=parts.hostname,
            port=parts.port or 5432,
            user=unquote(parts.username or "postgres"),
            password=unquote(parts.password or ""),
        )

    @property
    def url(self) -> str:
        """The server as a ``postgresql://`` URL (without a database)."""
        return self.url_for("")

    def url_for(self, database: str, *, driver: str | None = None) -> str:
        """A URL of one database, e.g. ``driver="psycopg2"`` for SQLAlchemy (Airflow's ``sql_alchemy_conn``)."""
        auth = quote(self.user, safe="") + (f":{quote(self.password, safe='')}" if self.password else "")
        scheme = f"postgresql+{driver}" if driver else "postgresql"
        return f"{scheme}://{auth}@{self.host}:{self.port}/{database}"

    def connect(self, database: str = "postgres", **kwargs: Any) -> Any:
        """Open a ``psycopg2`` connection as the superuser (autocommit on)."""
        import psycopg2

        conn = psycopg2.connect(
            host=self.host, port=self.port, user=self.user, password=self.password, dbname=database, **kwargs
        )
        conn.autocommit = True
        return conn

    def execute(self, *statements: str, database: str = "postgres") -> None:
        """Run statements one after the other (autocommit)."""
        conn = self.connect(database)
        try:
            with conn.cursor() as cursor:
                for statement in statements:
                    cursor.execute(statement)
        finally:
            conn.close()

    def query(self, sql: str, database: str = "postgres", params: Any = None) -> list[tuple[Any, ...]]:
        """The rows of a query, as tuples."""
        conn = self.connect(database)
        try:
            with conn.cursor() as cursor:
                cursor.execute(sql, params)
                return list(cursor.fetchall())
        finally:
            conn.close()

    def create_database(self, name: str, *, template: str | None = None) -> str:
        """Create (or drop and re-create) a database, optionally as a copy of ``template``; return its name."""
        copy = f' TEMPLATE "{template}"' if template else ""
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"{copy}')
        return name

    def drop_database(self, name: str) -> None:
        """Drop a database, closing its connections."""
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class TemporaryPostgresServer:
    """Start a private PostgreSQL server in a temporary directory; remove it on stop.

    :param settings: more server settings (``-c name=value``), e.g. ``{"max_connections": "300"}``.
    :param startup_timeout: seconds to wait for the server to accept connections.
    """

    def __init__(self, *, settings: dict[str, str] | None = None, startup_timeout: float = 60.0) -> None:
        self.settings = dict(settings or {})
        self.startup_timeout = startup_timeout
        self.server: PostgresServer | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._tmpdir: str | None = None

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> PostgresServer:
        """Initialise a cluster, start the server and wait until it accepts connections."""
        initdb, postgres = find_binary("initdb"), find_binary("postgres")
        self._tmpdir = tempfile.mkdtemp(prefix="cio-postgres-")
        owner = cluster_owner()
        os.chmod(self._tmpdir, 0o755)
        if owner is not None:
            os.chown(self._tmpdir, owner.pw_uid, owner.pw_gid)
        datadir = Path(self._tmpdir, "data")
        log_path = Path(self._tmpdir, "server.log")
        user = owner.pw_name if owner is not None else None
        result = subprocess.run(
            [initdb, "-D", str(datadir), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"],
            capture_output=True,
            text=True,
            check=False,
            user=user,
            cwd=self._tmpdir,
        )
        if result.returncode != 0:
            self.stop()
            raise RuntimeError(f"initdb failed:\n{result.stdout}\n{result.stderr}")
        port = free_port()
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(port),
            "unix_socket_directories": self._tmpdir,
            "max_connections": "300",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            **self.settings,
        }
        command = [postgres, "-D", str(datadir), *(f"-c{name}={value}" for name, value in settings.items())]
        with log_path.open("wb") as log:
            self._process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, user=user, cwd=self._tmpdir, start_new_session=True
            )
        self.server = PostgresServer(host="127.0.0.1", port=port)
        self._wait_until_ready(log_path)
        return self.server

    def stop(self) -> None:
        """Stop the server (fast shutdown, by its pid) and delete its directory."""
        if self._process is not None:
            if self._process.poll() is None:
                self._process.send_signal(signal.SIGINT)  # "fast" shutdown: roll back and close every session
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
                message = f"the PostgreSQL server exited at start:\n{tail(log_path)}"
                self.stop()
                raise RuntimeError(message)
            try:
                self.server.connect().close()
                return
            except Exception:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the PostgreSQL server did not accept connections within {self.startup_timeout:.0f} s")


def find_binary(name: str) -> str:
    """Path of an installed PostgreSQL program; a clear error when there is none."""
    path = shutil.which(name, path=SEARCH_PATH)
    if path:
        return path
    raise RuntimeError(
        f"PostgreSQL's {name} is not installed. Install the server (Debian/Ubuntu: apt-get install postgresql; "
        "scripts/system-deps.sh does it) or set CIO_TEST_POSTGRES_URL=postgresql://user:pw@host:port/"
    )


def cluster_owner() -> pwd.struct_passwd | None:
    """The user the cluster runs as when this process is root (``postgres``, else ``nobody``); None otherwise."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise RuntimeError("PostgreSQL cannot run as root and there is no 'postgres' or 'nobody' user to run it as")
