"""The test harness: a real MySQL-compatible server, the workspace emulator over HTTP, and a temporary
Airflow home with a migrated SQLite metadata DB for ``dag.test()``.

Airflow reads its configuration when first imported, so the environment is set here, before any test
module imports Airflow.
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
AIRFLOW_HOME = tempfile.mkdtemp(prefix="cio-airflow-home-")
os.environ.update(
    {
        "AIRFLOW_HOME": AIRFLOW_HOME,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{AIRFLOW_HOME}/airflow.db",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(TESTS / "dags"),
        "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        # OpenLineage: the events of the DAGs named lineage_* (tests/test_lineage.py) go to a file; others emit none.
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
            {"type": "file", "log_file_path": f"{AIRFLOW_HOME}/openlineage.jsonl", "append": True}
        ),
        # The OpenLineage listener must not fork this process: a forked child would inherit its metadata-DB
        # connections mid-transaction, and a pool worker that lives on keeps the MySQL and HTTP sockets it
        # inherited open. Task events go out from a thread; the DAG-run events' process pool starts its workers
        # by forkserver (below).
        "AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD": "True",
        "AIRFLOW__OPENLINEAGE__EMISSION_POLICY": json.dumps(
            [
                {"scope": {}, "controls": {"emit": False}},
                {"scope": {"dag_id": "lineage_.*"}, "match_mode": "regex", "controls": {"emit": True}},
            ]
        ),
    }
)
multiprocessing.set_start_method("forkserver", force=True)

from snowflake_server import fakesnow_server, snowflake_db  # noqa: E402, F401  (fixtures: a local Snowflake)

from airflow_provider_cio.testing import WorkspaceEmulator  # noqa: E402
from cio_devservers import MySQLServer, PostgresServer, TemporaryMySQLServer, TemporaryPostgresServer  # noqa: E402

_database_numbers = itertools.count(1)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Remove the temporary Airflow home."""
    shutil.rmtree(AIRFLOW_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def mysql_server() -> Iterator[MySQLServer]:
    """The MySQL server of the session: ``CIO_TEST_MYSQL_URL``, or a private one started here."""
    url = os.environ.get("CIO_TEST_MYSQL_URL")
    if url:
        yield MySQLServer.from_url(url)
        return
    with TemporaryMySQLServer() as server:
        yield server


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The PostgreSQL server of the session: ``CIO_TEST_POSTGRES_URL``, or a private one started here (the PostgreSQL
    source tests and the system tests' metadata databases)."""
    url = os.environ.get("CIO_TEST_POSTGRES_URL")
    if url:
        yield PostgresServer.from_url(url)
        return
    with TemporaryPostgresServer() as server:
        yield server


class Database:
    """A database of its own for one test, with shortcuts to fill and read it."""

    def __init__(self, server: MySQLServer, name: str) -> None:
        self.server = server
        self.name = name

    def execute(self, *statements: str) -> None:
        """Run statements (autocommit)."""
        self.server.execute(*statements, database=self.name)

    def insert(self, table: str, rows: list[dict]) -> None:
        """Insert rows given as dicts (all with the same keys)."""
        if not rows:
            return
        columns = list(rows[0])
        conn = self.server.connect(self.name)
        try:
            with conn.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO `{table}` ({', '.join(f'`{c}`' for c in columns)}) "
                    f"VALUES ({', '.join(['%s'] * len(columns))})",
                    [tuple(row[c] for c in columns) for row in rows],
                )
        finally:
            conn.close()

    def query(self, sql: str) -> list[tuple]:
        """Rows of a query."""
        return self.server.query(sql, self.name)


@pytest.fixture
def mysql_db(
    mysql_server: MySQLServer, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Database]:
    """A fresh database for this test; ``mysql_default`` points at it."""
    slug = re.sub(r"\W+", "_", request.node.name)[:40]
    name = mysql_server.create_database(f"t{next(_database_numbers)}_{slug}")
    for key, value in mysql_server.connection_env("mysql_default", database=name).items():
        monkeypatch.setenv(key, value)
    yield Database(mysql_server, name)
    mysql_server.execute(f"DROP DATABASE IF EXISTS `{name}`")


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[WorkspaceEmulator]:
    """One workspace emulator for the session (reset before each test that uses it)."""
    with WorkspaceEmulator() as emulator:
        yield emulator


@pytest.fixture
def workspace(emulator_server: WorkspaceEmulator, monkeypatch: pytest.MonkeyPatch) -> WorkspaceEmulator:
    """An empty workspace over real HTTP; ``customerio_default`` points at it."""
    emulator_server.reset()
    for key, value in emulator_server.connection_env("customerio_default").items():
        monkeypatch.setenv(key, value)
    return emulator_server


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """A migrated SQLite metadata DB in the temporary Airflow home (for ``dag.test()``)."""
    from airflow.utils import db

    db.resetdb()


@pytest.fixture(autouse=True)
def metadata_db_files_intact() -> Iterator[None]:
    """Fail the test after which this process's metadata-DB connections point at a deleted write-ahead log.

    Another process (a worker, the UI tests' API server) deletes it when it closes the database believing it is
    the last to use it, which happens when this process lost its SQLite locks: POSIX locks go as soon as the
    process closes any descriptor of the file (reading ``airflow.db`` with ``open()`` is enough). This process's
    writes would then go to a file no other process sees, and the database ends up corrupt.
    """
    yield
    deleted = sorted(
        link
        for link in (os.path.realpath(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd"))
        if link.startswith(AIRFLOW_HOME) and link.endswith(" (deleted)")
    )
    if deleted:
        pytest.fail(f"the metadata DB's files were deleted under this process's open connections: {deleted}")
