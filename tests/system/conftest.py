"""Fixtures of the system tests: PostgreSQL (Airflow's metadata database), Redis (Celery's broker), a
migrated metadata database to copy, MySQL source tables, and the deployments.

``CIO_TEST_POSTGRES_URL`` / ``CIO_TEST_REDIS_URL`` name servers to use; without them private ones are
started in temporary directories (``initdb`` + ``postgres``, ``redis-server``) and stopped by pid at the
end. The machine's own servers on 5432/6379 are never touched.
"""

from __future__ import annotations

import itertools
import os
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cio_devservers import MySQLServer, PostgresServer, RedisServer, TemporaryRedisServer

from .deployment import AIRFLOW, DAGS, REPO, Deployment

MIGRATE_SECONDS = 600
EXAMPLES = REPO / "dags_examples"
EXAMPLE_FILES = ("people_hourly.py", "companies_daily.py", "newsletter_segment.py", "sql")
"""The example DAGs the system tests run (the mirror example keeps its own test), and their SQL."""
NOTE_CHARACTERS = 400
"""Each row's ``note`` attribute: about 1,000 rows fill a batch (500,000 bytes), so a sync has several."""


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """``CIO_TEST_REDIS_URL``, or a private Redis server."""
    url = os.environ.get("CIO_TEST_REDIS_URL")
    if url:
        yield RedisServer.from_url(url)
        return
    with TemporaryRedisServer() as server:
        yield server


@pytest.fixture(scope="session")
def migrated_database(postgres_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A metadata database migrated once (``airflow db migrate``): each deployment starts from a copy."""
    name = postgres_server.create_database(f"cio_sys_template_{secrets.token_hex(4)}")
    try:
        workdir = tmp_path_factory.mktemp("migrate")
        deployment = Deployment("LocalExecutor", postgres_server, name, workdir)
        log = workdir / "migrate.log"
        with log.open("wb") as out:
            result = subprocess.run(
                [AIRFLOW, "db", "migrate"],
                env=deployment.environment(),
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=MIGRATE_SECONDS,
                check=False,
            )
        assert result.returncode == 0, log.read_text()[-3000:]
        yield name
    finally:
        postgres_server.drop_database(name)


@pytest.fixture(scope="module")
def metadata_database(postgres_server: PostgresServer, migrated_database: str) -> Iterator[str]:
    """A fresh metadata database for one module's deployment (a copy of the migrated one)."""
    name = postgres_server.create_database(f"cio_sys_{secrets.token_hex(4)}", template=migrated_database)
    yield name
    postgres_server.drop_database(name)


@pytest.fixture(scope="session")
def dags_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The DAGs of the deployments: tests/system/dags/ and the example DAGs, linked into one folder."""
    folder = tmp_path_factory.mktemp("dags")
    for path in DAGS.glob("*.py"):
        (folder / path.name).symlink_to(path)
    for name in EXAMPLE_FILES:
        (folder / name).symlink_to(EXAMPLES / name)
    return folder


class SourceTables:
    """The MySQL database the system DAGs read (``mysql_default``): one ``people_*`` table per DAG.

    Each table's ids start at a different multiple of 100,000, so that no two tables (nor the example DAGs'
    users 1 to 7) write the same person in the one workspace of the module.
    """

    def __init__(self, server: MySQLServer, database: str) -> None:
        self.server = server
        self.database = database
        self._bases = itertools.count(100_000, 100_000)

    def create(self, table: str, count: int, *, bad_ids: tuple[int, ...] = ()) -> int:
        """``table`` with people ``base + 1`` to ``base + count``; return ``base``.

        :param bad_ids: the numbers (1 to ``count``) of the people whose email the workspace refuses.
        """
        base = next(self._bases)
        self.server.execute(
            f"DROP TABLE IF EXISTS {table}",
            f"CREATE TABLE {table} (id INT PRIMARY KEY, email VARCHAR(200), plan VARCHAR(20), note VARCHAR(500), "
            "updated_at DATETIME(6) NOT NULL DEFAULT NOW(6))",
            database=self.database,
        )
        note = "x" * NOTE_CHARACTERS
        rows = [
            (base + n, "not an email" if n in bad_ids else f"p{base + n}@example.com", "free", note)
            for n in range(1, count + 1)
        ]
        conn = self.server.connect(self.database)
        try:
            with conn.cursor() as cursor:
                cursor.executemany(f"INSERT INTO {table} (id, email, plan, note) VALUES (%s, %s, %s, %s)", rows)
        finally:
            conn.close()
        return base

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """Rows of a query on the database."""
        return self.server.query(sql, self.database)

    def touch(self, table: str, plan: str) -> None:
        """Change every row's plan now (``updated_at`` = now)."""
        self.server.execute(f"UPDATE {table} SET plan = '{plan}', updated_at = NOW(6)", database=self.database)

    def people(self, table: str) -> dict[str, dict[str, str]]:
        """What the workspace must hold for ``table``: ``id -> {"email", "plan"}``."""
        rows = self.server.query(f"SELECT CAST(id AS CHAR), email, plan FROM {table}", self.database)
        return {row[0]: {"email": row[1], "plan": row[2]} for row in rows}


@pytest.fixture(scope="module")
def source(mysql_server: MySQLServer) -> Iterator[SourceTables]:
    """A MySQL database of the module's own for the DAGs' tables."""
    name = mysql_server.create_database(f"cio_sys_{secrets.token_hex(4)}")
    yield SourceTables(mysql_server, name)
    mysql_server.execute(f"DROP DATABASE IF EXISTS `{name}`")


def workspace_people(workspace: Any, ids: set[str]) -> dict[str, dict[str, str]]:
    """What the workspace holds for the people ``ids``: ``id -> {"email", "plan"}``."""
    return {
        person["id"]: {"email": person["email"], "plan": person["attributes"].get("plan")}
        for person in workspace.people()
        if person["id"] in ids
    }


def workdir_for(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    """A work directory for a deployment."""
    return tmp_path_factory.mktemp(name)
