"""Each tested source as ``python -m benchmarks.sources`` measures it: its people table, its Airflow
connection, and its bare read, the cheapest way to read every row with the source's own driver.

Every source holds the same 10 people columns as the MySQL benchmark (:mod:`benchmarks.data`), in the types
the database has for them. A ``label`` names one table of ``rows`` people: a database (MySQL, PostgreSQL), a
file (DuckDB, SQLite) or a table (Snowflake, whose server keeps everything in memory).
"""

from __future__ import annotations

import json
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any, Protocol

from benchmarks.data import COLUMNS, QUERY
from cio_devservers import MySQLServer, PostgresServer

ROOT = Path(__file__).resolve().parent.parent
FETCH_ROWS = 5000
"""Rows per fetch of every bare read (the MySQL benchmark's)."""

FIRST_NAMES = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Ken", "Margaret", "Linus")
LAST_NAMES = ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Thompson", "Hamilton")
PLANS = ("free", "pro", "team")
COUNTRIES = ("US", "DE", "FR", "BR", "JP")


class SourceBench(Protocol):
    """One source: what the benchmark asks of it."""

    name: str
    """The source as the table names it."""
    bare_read_is: str
    """What the bare read does, in a few words."""
    conn_id: str
    """The Airflow connection the dry run reads (defined by :meth:`connection_env`)."""

    def create(self, label: str, rows: int) -> None:
        """A people table of ``rows`` rows (ids 1..rows) under ``label``."""
        ...

    def query(self, label: str) -> str:
        """The query of the bare read and of the dry run."""
        ...

    def connection_env(self, label: str) -> dict[str, str]:
        """The environment that defines the Airflow connection ``conn_id`` on ``label`` (for the dry run)."""
        ...

    def bare_read(self, label: str) -> tuple[int, float]:
        """Read every row of the query with the driver and do nothing with them: rows, wall seconds."""
        ...

    def drop(self, label: str) -> None:
        """Remove the table of ``label``."""
        ...


class MySQLBench:
    """MySQL: the bare read is line (a) of ``make bench``, mysqlclient's server-side cursor with ``conv={}``."""

    name = "MySQL"
    bare_read_is = "mysqlclient SSCursor, conv={} (make bench line (a))"
    conn_id = "bench_mysql"

    def __init__(self, server: MySQLServer) -> None:
        self.server = server

    def create(self, label: str, rows: int) -> None:
        from benchmarks.data import create_people

        create_people(self.server, label, rows)
        self.bare_read(label)  # warms the buffer pool, as make bench does: every read is from memory

    def query(self, label: str) -> str:
        return QUERY

    def connection_env(self, label: str) -> dict[str, str]:
        return self.server.connection_env(self.conn_id, database=label)

    def bare_read(self, label: str) -> tuple[int, float]:
        from benchmarks.__main__ import read_rows

        rows, seconds, _ = read_rows(self.server, label, QUERY, conv={})
        return rows, seconds

    def drop(self, label: str) -> None:
        self.server.execute(f"DROP DATABASE IF EXISTS `{label}`")


class PostgresBench:
    """PostgreSQL: the bare read is ``make bench-postgres``'s floor, psycopg's server-side cursor."""

    name = "PostgreSQL"
    bare_read_is = "psycopg named cursor, default loaders (bench-postgres floor)"
    conn_id = "bench_postgres"

    def __init__(self, server: PostgresServer) -> None:
        self.server = server

    def create(self, label: str, rows: int) -> None:
        from benchmarks.postgres import create_people

        create_people(self.server, label, rows)

    def query(self, label: str) -> str:
        return QUERY

    def connection_env(self, label: str) -> dict[str, str]:
        return {f"AIRFLOW_CONN_{self.conn_id.upper()}": self.server.url_for(label)}

    def bare_read(self, label: str) -> tuple[int, float]:
        from benchmarks.postgres import floor_read

        return floor_read(self.server, label)

    def drop(self, label: str) -> None:
        self.server.drop_database(label)


def _file_connection(conn_id: str, conn_type: str, path: Path) -> dict[str, str]:
    return {f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps({"conn_type": conn_type, "host": str(path)})}


class DuckDBBench:
    """DuckDB: a database file; the bare read streams Arrow record batches (``con.sql(q).to_arrow_reader``)."""

    name = "DuckDB"
    bare_read_is = "duckdb con.sql(q).to_arrow_reader(5000), read-only file"
    conn_id = "bench_duckdb"

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, label: str) -> Path:
        return self.directory / f"{label}.duckdb"

    def create(self, label: str, rows: int) -> None:
        import duckdb

        with duckdb.connect(str(self.path(label))) as con:
            con.execute(
                f"""CREATE TABLE people AS SELECT
                    n::BIGINT AS id, 'user' || n || '@example.com' AS email,
                    {list(FIRST_NAMES)}[1 + n % 8] AS first_name, {list(LAST_NAMES)}[1 + n % 7] AS last_name,
                    {list(PLANS)}[1 + n % 3] AS plan, {list(COUNTRIES)}[1 + n % 5] AS country,
                    TIMESTAMP '2020-01-01' + n * INTERVAL 1 MINUTE AS created_at,
                    TIMESTAMPTZ '2026-01-01 00:00:00+00' + n * INTERVAL 1 SECOND AS updated_at,
                    ((n % 100000) / 100)::DECIMAL(10, 2) AS score, n % 2 = 1 AS active
                FROM range(1, {int(rows)} + 1) AS t(n)"""
            )

    def query(self, label: str) -> str:
        return QUERY

    def connection_env(self, label: str) -> dict[str, str]:
        return _file_connection(self.conn_id, "duckdb", self.path(label))

    def bare_read(self, label: str) -> tuple[int, float]:
        import duckdb
        import pyarrow  # noqa: F401  (imported before the clock starts: the reader needs it)

        with duckdb.connect(str(self.path(label)), read_only=True) as con:
            started = time.perf_counter()
            rows = 0
            for batch in con.sql(QUERY).to_arrow_reader(FETCH_ROWS):
                rows += batch.num_rows
            return rows, time.perf_counter() - started

    def drop(self, label: str) -> None:
        self.path(label).unlink(missing_ok=True)


def _pick(expression: str, names: tuple[str, ...]) -> str:
    """SQL that picks ``names[expression]``, as every database here reads it (SQLite has no arrays)."""
    cases = " ".join(f"WHEN {i} THEN '{name}'" for i, name in enumerate(names))
    return f"CASE {expression} {cases} END"


class SQLiteBench:
    """SQLite: a database file; dates are text, as SQLite stores them. The bare read is ``cursor.fetchmany``."""

    name = "SQLite"
    bare_read_is = "sqlite3 cursor.fetchmany(5000)"
    conn_id = "bench_sqlite"

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, label: str) -> Path:
        return self.directory / f"{label}.sqlite"

    def create(self, label: str, rows: int) -> None:
        con = sqlite3.connect(self.path(label))
        try:
            con.execute(
                """CREATE TABLE people (
                    id INTEGER PRIMARY KEY, email TEXT NOT NULL, first_name TEXT, last_name TEXT, plan TEXT,
                    country TEXT, created_at TIMESTAMP, updated_at TIMESTAMP, score DECIMAL(10, 2), active BOOLEAN
                )"""
            )
            con.execute(
                f"""WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {int(rows)})
                INSERT INTO people SELECT
                    n, 'user' || n || '@example.com', {_pick("n % 8", FIRST_NAMES)}, {_pick("n % 7", LAST_NAMES)},
                    {_pick("n % 3", PLANS)}, {_pick("n % 5", COUNTRIES)},
                    datetime('2020-01-01', '+' || n || ' minutes'), datetime('2026-01-01', '+' || n || ' seconds'),
                    (n % 100000) / 100.0, n % 2
                FROM seq"""
            )
            con.commit()
        finally:
            con.close()

    def query(self, label: str) -> str:
        return QUERY

    def connection_env(self, label: str) -> dict[str, str]:
        return _file_connection(self.conn_id, "sqlite", self.path(label))

    def bare_read(self, label: str) -> tuple[int, float]:
        con = sqlite3.connect(self.path(label))
        try:
            cursor = con.cursor()
            started = time.perf_counter()
            cursor.execute(QUERY)
            rows = 0
            while block := cursor.fetchmany(FETCH_ROWS):
                rows += len(block)
            return rows, time.perf_counter() - started
        finally:
            con.close()

    def drop(self, label: str) -> None:
        self.path(label).unlink(missing_ok=True)


def fake_snowflake_server(directory: Path) -> Any:
    """The tests' local Snowflake (``tests/snowflake_server.py``: fakesnow's server over TLS), started by the caller."""
    tests = str(ROOT / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)  # tests/ is a directory of test modules, not a package
    from snowflake_server import FakeSnowflakeServer

    return FakeSnowflakeServer(directory, database="CIO_BENCH")


class SnowflakeBench:
    """Snowflake on fakesnow's server (DuckDB under HTTP, the whole result in one response), reached by the real
    connector through ``SnowflakeHook``. The bare read is the connector's own Arrow fetch
    (``cursor.fetch_arrow_batches``). Snowflake names columns in upper case: the query names them in lower case
    with quoted aliases, as a Snowflake DAG does for ``id``.

    :param server: a started ``FakeSnowflakeServer`` (:func:`fake_snowflake_server`).
    """

    name = "Snowflake (fakesnow)"
    bare_read_is = "connector cursor.fetch_arrow_batches() through SnowflakeHook"
    conn_id = "bench_snowflake"

    def __init__(self, server: Any) -> None:
        self.server = server

    def _hook(self) -> Any:
        import logging
        import os

        from airflow.providers.snowflake.hooks.snowflake import SnowflakeHook

        logging.getLogger("snowflake.connector").setLevel(logging.WARNING)  # a line per connection otherwise
        os.environ.update(self.connection_env(""))
        return SnowflakeHook(snowflake_conn_id=self.conn_id)

    def create(self, label: str, rows: int) -> None:
        with self._hook().get_conn() as conn, conn.cursor() as cursor:
            cursor.execute(
                f"""CREATE TABLE {label} (
                    id NUMBER(38, 0), email VARCHAR, first_name VARCHAR, last_name VARCHAR, plan VARCHAR,
                    country VARCHAR(2), created_at TIMESTAMP_NTZ, updated_at TIMESTAMP_TZ, score NUMBER(10, 2),
                    active BOOLEAN
                )"""
            )
            cursor.execute(
                f"""INSERT INTO {label} SELECT
                    n, 'user' || n || '@example.com', {_pick("n % 8", FIRST_NAMES)}, {_pick("n % 7", LAST_NAMES)},
                    {_pick("n % 3", PLANS)}, {_pick("n % 5", COUNTRIES)},
                    DATEADD(minute, n, '2020-01-01'::TIMESTAMP_NTZ),
                    DATEADD(second, n, '2026-01-01 00:00:00 +00:00'::TIMESTAMP_TZ),
                    (n % 100000) / 100, n % 2 = 1
                FROM (SELECT SEQ8() + 1 AS n FROM TABLE(GENERATOR(ROWCOUNT => {int(rows)})))"""
            )

    def query(self, label: str) -> str:
        aliased = ", ".join(f'{name} AS "{name}"' for name in COLUMNS.split(", "))
        return f"SELECT {aliased} FROM {label}"

    def connection_env(self, label: str) -> dict[str, str]:
        return dict([self.server.connection_env(self.conn_id), self.server.ca_env])

    def bare_read(self, label: str) -> tuple[int, float]:
        import pyarrow  # noqa: F401  (imported before the clock starts: the batches need it)

        with self._hook().get_conn() as conn, conn.cursor() as cursor:
            started = time.perf_counter()
            cursor.execute(self.query(label))
            rows = 0
            for table in cursor.fetch_arrow_batches():
                rows += table.num_rows
            return rows, time.perf_counter() - started

    def drop(self, label: str) -> None:
        with self._hook().get_conn() as conn, conn.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {label}")
