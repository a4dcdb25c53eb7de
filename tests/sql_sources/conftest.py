"""The five tested sources as one fixture: a database of its own for the test in MySQL, PostgreSQL, Snowflake
(fakesnow), DuckDB or SQLite, and the Airflow connection that reads it.

``@pytest.mark.parametrize("source", SOURCE_NAMES, indirect=True)`` gives a :class:`SourceDatabase`: its
``conn_id``, and ``execute`` to run statements in that database (as its owner, not through the sync).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import duckdb
import pytest

SOURCE_NAMES = ("mysql", "postgres", "snowflake", "duckdb", "sqlite")
"""The sources the same DAG is run against, by the names the parametrized tests use."""

_database_numbers = itertools.count(1)


@dataclass(frozen=True)
class SourceDatabase:
    """A database of one source for one test.

    :param name: the source (one of :data:`SOURCE_NAMES`).
    :param conn_id: the Airflow connection reading it.
    :param execute: runs statements in it, one after the other, committed.
    :param query: the rows of one query in it.
    """

    name: str
    conn_id: str
    execute: Callable[..., Any]
    query: Callable[[str], list[tuple[Any, ...]]]

    def count(self, table: str) -> int:
        """How many rows a table holds."""
        return int(self.query(f"SELECT COUNT(*) FROM {table}")[0][0])


def _connection(monkeypatch: pytest.MonkeyPatch, conn_id: str, conn_type: str, host: str) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": conn_type, "host": host}))


def _mysql(request: pytest.FixtureRequest) -> Iterator[SourceDatabase]:
    database = request.getfixturevalue("mysql_db")  # mysql_default points at it
    yield SourceDatabase("mysql", "mysql_default", database.execute, database.query)


def _postgres(request: pytest.FixtureRequest) -> Iterator[SourceDatabase]:
    server = request.getfixturevalue("postgres_server")
    name = server.create_database(f"same_dag_{next(_database_numbers)}")
    request.getfixturevalue("monkeypatch").setenv("AIRFLOW_CONN_PEOPLE_POSTGRES", server.url_for(name))
    try:
        yield SourceDatabase(
            "postgres",
            "people_postgres",
            lambda *statements: server.execute(*statements, database=name),
            lambda sql: server.query(sql, name),
        )
    finally:
        server.drop_database(name)


def _snowflake(request: pytest.FixtureRequest) -> Iterator[SourceDatabase]:
    database = request.getfixturevalue("snowflake_db")  # one server for the session: tables CREATE OR REPLACE
    yield SourceDatabase("snowflake", database.conn_id, database.execute, database.execute)


def _embedded(name: str, connect: Callable[[str], Any]) -> Callable[[pytest.FixtureRequest], Iterator[SourceDatabase]]:
    """A database file of an embedded source, read by a connection whose ``host`` is the file."""

    def make(request: pytest.FixtureRequest) -> Iterator[SourceDatabase]:
        path = str(request.getfixturevalue("tmp_path") / f"people.{name}")
        conn_id = f"people_{name}"
        _connection(request.getfixturevalue("monkeypatch"), conn_id, name, path)

        def execute(*statements: str) -> None:
            with contextlib.closing(connect(path)) as con:
                for statement in statements:
                    con.execute(statement)
                con.commit()

        def query(sql: str) -> list[tuple[Any, ...]]:
            with contextlib.closing(connect(path)) as con:
                return [tuple(row) for row in con.execute(sql).fetchall()]

        yield SourceDatabase(name, conn_id, execute, query)

    return make


_MAKERS = {
    "mysql": _mysql,
    "postgres": _postgres,
    "snowflake": _snowflake,
    "duckdb": _embedded("duckdb", duckdb.connect),
    "sqlite": _embedded("sqlite", sqlite3.connect),
}


@pytest.fixture
def source(request: pytest.FixtureRequest) -> Iterator[SourceDatabase]:
    """A database of the source named by the test's parameter, and its Airflow connection."""
    yield from _MAKERS[request.param](request)
