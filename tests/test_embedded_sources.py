"""DuckDB and SQLite, the embedded databases of the generic reader, read through their Airflow hooks
(``DuckDBHook`` and ``SqliteHook``, connection ``host`` = the database file) with ``cursor.fetchmany``: which
Python type each column type arrives as. (Whether DuckDB's Arrow reader streams is a measurement, in
``docs/sources-groundwork.md``, not an assertion here: memory is measured, never asserted in tests.)

DuckDB 2.0 through ``DuckDBHook`` (``cursor.description`` type codes are DuckDB type objects, their ``str`` the
SQL type):

===========================  ==============================  =================================
DuckDB type                  ``fetchmany``                   Arrow (``con.sql(q).to_arrow_reader``)
===========================  ==============================  =================================
BIGINT                       ``int``                         ``int64``
HUGEINT                      ``int``                         ``decimal128(38, 0)``
DECIMAL(38,10)               ``Decimal`` (all digits)        ``decimal128(38, 10)``
DOUBLE                       ``float``                       ``double``
BOOLEAN                      ``bool``                        ``bool``
JSON                         ``str`` (JSON text)             ``string``
INTEGER[]                    ``list``                        ``list<int32>``
STRUCT(...)                  ``dict``                        ``struct<...>``
MAP(VARCHAR, VARCHAR)        ``dict``                        ``map<string, string>``
TIMESTAMP                    naive ``datetime``              ``timestamp[us]``
TIMESTAMP WITH TIME ZONE     aware ``datetime`` (session)    ``timestamp[us, tz=<session TZ>]``
DATE                         ``datetime.date``               ``date32[day]``
TIME                         ``datetime.time``               ``time64[us]``
VARCHAR                      ``str``                         ``string``
BLOB                         ``bytes``                       ``binary``
UUID                         ``uuid.UUID``                   ``string``
===========================  ==============================  =================================

SQLite through ``SqliteHook`` (``cursor.description`` has no type codes at all; a value's type is its storage
class, whatever the column's declared type):

==================================  ===================================================================
declared type (affinity)            ``fetchmany``
==================================  ===================================================================
INTEGER                             ``int``
NUMERIC, DECIMAL(38,10) (NUMERIC)   ``int`` or ``float``: a long decimal loses digits on the way *in*
REAL                                ``float``
BOOLEAN (NUMERIC)                   ``int`` (1 / 0)
JSON, TIMESTAMP, DATE (NUMERIC)     ``str`` as written (text that is not a number stays text)
TEXT                                ``str``
BLOB                                ``bytes``
==================================  ===================================================================
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import uuid
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from airflow.providers.duckdb.hooks.duckdb import DuckDBHook
from airflow.providers.sqlite.hooks.sqlite import SqliteHook

UTC = dt.timezone.utc
SEEN = dt.datetime(2024, 1, 2, 3, 4, 5, 123456)

DUCKDB_TABLE = """
CREATE TABLE contacts AS SELECT
    1::BIGINT AS id, 3::HUGEINT AS visits, 12345678901234567890123456.0123456789::DECIMAL(38,10) AS balance,
    1.5::DOUBLE AS score, TRUE AS active, '{"plan": [1, "x", null]}'::JSON AS traits, [1, 2, 3] AS tags,
    {'city': 'Oslo', 'floor': 3} AS address, MAP {'k': 'v'} AS labels, TIMESTAMP '2024-01-02 03:04:05.123456' AS seen,
    TIMESTAMPTZ '2024-01-02 03:04:05.123456+02:00' AS seen_tz, DATE '1990-07-08' AS born, TIME '06:30:00' AS wakes,
    'ada@example.com' AS email, '\\xAB\\xCD'::BLOB AS avatar, '6f1c3c1e-0000-4000-8000-000000000001'::UUID AS uid
"""
DUCKDB_ROW = {
    "id": 1,
    "visits": 3,
    "balance": Decimal("12345678901234567890123456.0123456789"),
    "score": 1.5,
    "active": True,
    "traits": '{"plan": [1, "x", null]}',
    "tags": [1, 2, 3],
    "address": {"city": "Oslo", "floor": 3},
    "labels": {"k": "v"},
    "seen": SEEN,
    "seen_tz": (SEEN - dt.timedelta(hours=2)).replace(tzinfo=UTC),  # aware datetimes compare as instants
    "born": dt.date(1990, 7, 8),
    "wakes": dt.time(6, 30),
    "email": "ada@example.com",
    "avatar": b"\xab\xcd",
    "uid": uuid.UUID("6f1c3c1e-0000-4000-8000-000000000001"),
}
DUCKDB_PYTHON_TYPES = {
    "id": int,
    "visits": int,
    "balance": Decimal,
    "score": float,
    "active": bool,
    "traits": str,
    "tags": list,
    "address": dict,
    "labels": dict,
    "seen": dt.datetime,
    "seen_tz": dt.datetime,
    "born": dt.date,
    "wakes": dt.time,
    "email": str,
    "avatar": bytes,
    "uid": uuid.UUID,
}

SQLITE_TABLE = """
CREATE TABLE contacts (
    id INTEGER, balance DECIMAL(38,10), balance_text TEXT, score REAL, active BOOLEAN, traits JSON, seen TIMESTAMP,
    born DATE, email TEXT, avatar BLOB
)
"""
SQLITE_ROW = {
    "id": 1,
    "balance": 1.2345678901234568e25,  # NUMERIC affinity: stored as a REAL, the digits are gone
    "balance_text": "12345678901234567890123456.0123456789",
    "score": 1.5,
    "active": 1,
    "traits": '{"plan": [1, "x", null]}',
    "seen": "2024-01-02 03:04:05.123456",
    "born": "1990-07-08",
    "email": "ada@example.com",
    "avatar": b"\xab\xcd",
}


def _connection_env(monkeypatch: pytest.MonkeyPatch, conn_id: str, conn_type: str, path: Path) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": conn_type, "host": str(path)}))


def test_duckdb_types_through_the_hook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A DuckDB file read through ``DuckDBHook`` with ``fetchmany``: each value and its Python type, NULL as None."""
    path = tmp_path / "contacts.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(DUCKDB_TABLE)
        con.execute("INSERT INTO contacts (id) VALUES (2)")
    _connection_env(monkeypatch, "cio_duckdb", "duckdb", path)

    cursor = DuckDBHook(duckdb_conn_id="cio_duckdb").get_conn().cursor()
    cursor.execute("SELECT * FROM contacts ORDER BY id")
    names = [column[0] for column in cursor.description]
    full, empty = (dict(zip(names, row, strict=True)) for row in cursor.fetchmany(10))
    assert cursor.fetchmany(10) == []

    assert full == DUCKDB_ROW
    assert {name: type(value) for name, value in full.items()} == DUCKDB_PYTHON_TYPES
    assert {name: value for name, value in empty.items() if name != "id"} == dict.fromkeys(DUCKDB_ROW.keys() - {"id"})


def test_sqlite_types_through_the_hook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A SQLite file read through ``SqliteHook`` with ``fetchmany``: a value's type is its storage class, and a
    long decimal in a NUMERIC column has lost its digits (only a TEXT column keeps them)."""
    path = tmp_path / "contacts.sqlite"
    with sqlite3.connect(path) as con:
        con.execute(SQLITE_TABLE)
        con.execute(
            "INSERT INTO contacts VALUES (1, ?, ?, 1.5, TRUE, ?, ?, '1990-07-08', 'ada@example.com', x'ABCD')",
            (
                SQLITE_ROW["balance_text"],
                SQLITE_ROW["balance_text"],
                SQLITE_ROW["traits"],
                SQLITE_ROW["seen"],
            ),
        )
        con.execute("INSERT INTO contacts (id) VALUES (2)")
    con.close()
    _connection_env(monkeypatch, "cio_sqlite", "sqlite", path)

    cursor = SqliteHook(sqlite_conn_id="cio_sqlite").get_conn().cursor()
    cursor.execute("SELECT * FROM contacts ORDER BY id")
    assert {column[1] for column in cursor.description} == {None}  # no type codes
    names = [column[0] for column in cursor.description]
    full, empty = (dict(zip(names, row, strict=True)) for row in cursor.fetchmany(10))
    assert cursor.fetchmany(10) == []

    assert full == SQLITE_ROW
    assert {name: type(value) for name, value in full.items()} == {name: type(v) for name, v in SQLITE_ROW.items()}
    assert {name: value for name, value in empty.items() if name != "id"} == dict.fromkeys(SQLITE_ROW.keys() - {"id"})
