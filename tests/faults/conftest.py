"""Fixtures of the fault tests: the clock of their DagRuns, and a MySQL server of their own that they may
restart or reconfigure without disturbing the session's server."""

from __future__ import annotations

import itertools
import json
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from cio_devservers import MySQLServer, TemporaryMySQLServer

_database_numbers = itertools.count(1)


@pytest.fixture
def clock() -> datetime:
    """Two days ago, on a whole second: a test's DagRuns and row changes happen from here on.

    Under ``dag.test()`` a DagRun starts at its logical date, so ``last_sync_time`` is on this clock too.
    """
    return datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=2)


class RestartableMySQLServer(TemporaryMySQLServer):
    """A private server that can be restarted on the same data and port, as an administrator would."""

    def restart(self, down_seconds: float = 0.0) -> None:
        """Stop the server with SIGTERM (it closes every connection), leave it down for ``down_seconds``, start
        it again and wait until it accepts connections."""
        assert self._process is not None and self._tmpdir is not None
        command = self._process.args
        self._process.terminate()
        self._process.wait(timeout=60)
        time.sleep(down_seconds)
        self._process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait_until_ready(Path(self._tmpdir, "server.log"))


class OwnDatabase:
    """A database on the fault tests' own server, with the shortcuts of the session's ``mysql_db``."""

    def __init__(self, server: MySQLServer, name: str) -> None:
        self.server = server
        self.name = name

    def execute(self, *statements: str) -> None:
        """Run statements (autocommit)."""
        self.server.execute(*statements, database=self.name)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """Rows of a query."""
        return self.server.query(sql, self.name)


@pytest.fixture
def select_only_user(mysql_db: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A MySQL user that may only SELECT from the test's database (what docs/security.md recommends);
    ``mysql_default`` logs in as it. Returns the user's name."""
    server, user = mysql_db.server, f"cio_select_only_{next(_database_numbers)}"
    server.execute(
        f"DROP USER IF EXISTS '{user}'@'%'",
        f"CREATE USER '{user}'@'%' IDENTIFIED BY 'select-only'",
        f"GRANT SELECT ON `{mysql_db.name}`.* TO '{user}'@'%'",
    )
    connection = {**server.connection(mysql_db.name), "login": user, "password": "select-only"}
    monkeypatch.setenv("AIRFLOW_CONN_MYSQL_DEFAULT", json.dumps(connection))
    yield user
    server.execute(f"DROP USER IF EXISTS '{user}'@'%'")


@pytest.fixture(scope="module")
def own_mysql() -> Iterator[RestartableMySQLServer]:
    """A MySQL-compatible server for this module alone (started from the installed ``mariadbd``/``mysqld``)."""
    server = RestartableMySQLServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def own_db(own_mysql: RestartableMySQLServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[OwnDatabase]:
    """A fresh database on :func:`own_mysql`; ``mysql_default`` points at it."""
    assert own_mysql.server is not None
    name = own_mysql.server.create_database(f"faults_{next(_database_numbers)}")
    for key, value in own_mysql.server.connection_env("mysql_default", database=name).items():
        monkeypatch.setenv(key, value)
    yield OwnDatabase(own_mysql.server, name)
    own_mysql.server.execute(f"DROP DATABASE IF EXISTS `{name}`")
