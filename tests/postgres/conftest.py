"""A real PostgreSQL for the PostgreSQL source tests: ``CIO_TEST_POSTGRES_URL``, or a private server.

The private server is started from the installed ``initdb``/``postgres`` in a temporary directory on a
free port, never the machine's own server on 5432.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from typing import Any

import pytest

from cio_devservers import PostgresServer

_database_numbers = itertools.count(1)


class PostgresDatabase:
    """A database of its own for one test, with shortcuts to fill and read it (as the superuser)."""

    def __init__(self, server: PostgresServer, name: str) -> None:
        self.server = server
        self.name = name

    def execute(self, *statements: str) -> None:
        """Run statements (autocommit)."""
        self.server.execute(*statements, database=self.name)

    def query(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        """Rows of a query."""
        return self.server.query(sql, self.name, params)

    def connection_uri(self, user: str | None = None, password: str = "") -> str:
        """An Airflow connection URI of this database (as ``user`` when given)."""
        server = self.server if user is None else PostgresServer(self.server.host, self.server.port, user, password)
        return server.url_for(self.name)


@pytest.fixture
def postgres_db(
    postgres_server: PostgresServer, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[PostgresDatabase]:
    """A fresh database for this test; ``postgres_default`` points at it."""
    slug = re.sub(r"\W+", "_", request.node.name)[:40].lower()
    name = postgres_server.create_database(f"t{next(_database_numbers)}_{slug}")
    database = PostgresDatabase(postgres_server, name)
    monkeypatch.setenv("AIRFLOW_CONN_POSTGRES_DEFAULT", database.connection_uri())
    yield database
    postgres_server.drop_database(name)
