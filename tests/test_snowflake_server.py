"""The local Snowflake (fakesnow's server over TLS) through Airflow's ``SnowflakeHook`` and the real connector:
which Python and Arrow types each Snowflake column type arrives as.

What fakesnow 0.12 delivers, by Snowflake type (``cursor.fetchmany`` / ``fetch_arrow_batches()`` Arrow type;
``type_code`` is the connector's ``cursor.description`` code):

=================  =========  ==============================  ================================
Snowflake type     type_code  ``fetchmany``                   Arrow (``fetch_arrow_batches``)
=================  =========  ==============================  ================================
NUMBER(38,0)       0          ``int``                         ``int64``
NUMBER(38,10)      0          ``Decimal`` (all digits)        ``decimal128(38, 10)``
FLOAT              1          ``float``                       ``double``
BOOLEAN            13         ``bool``                        ``bool``
VARIANT            5          ``str`` (JSON text)             ``string`` (JSON text)
ARRAY              5 (!)      ``str`` (JSON text)             ``string`` (JSON text)
OBJECT             5 (!)      ``str`` (JSON text)             ``string`` (JSON text)
TIMESTAMP_NTZ      8          naive ``datetime``              ``timestamp[ns]``
TIMESTAMP_LTZ      7 (!)      ``datetime`` in UTC             ``timestamp[ns, tz=Etc/UTC]``
TIMESTAMP_TZ       7          ``datetime`` in UTC (!)         ``timestamp[ns, tz=Etc/UTC]``
DATE               3          ``datetime.date``               ``date32[day]``
TIME               12         ``datetime.time``               ``time64[us]``
VARCHAR            2          ``str``                         ``string``
BINARY             11         ``bytearray``                   ``binary``
=================  =========  ==============================  ================================

(!) where real Snowflake differs: ARRAY is type code 10 and OBJECT 9 there (fakesnow reports both as VARIANT);
TIMESTAMP_LTZ is 6 there; TIMESTAMP_TZ keeps the value's own offset there (fakesnow stores every TZ value in UTC,
the instant is right, the offset is lost); Snowflake prints VARIANT JSON indented. And a NULL TIMESTAMP_* arrives
from fakesnow as 1970-01-01 00:00:00 (its Arrow encoding drops the null mask), where Snowflake sends NULL.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal

import pyarrow as pa
import pytest
from airflow.providers.snowflake.hooks.snowflake import SnowflakeHook
from snowflake.connector.errors import OperationalError
from snowflake_server import FakeSnowflakeServer

CONN_ID = "cio_fakesnow"

CREATE = """
CREATE TABLE contacts (
    id NUMBER(38,0), balance NUMBER(38,10), score FLOAT, active BOOLEAN, traits VARIANT, tags ARRAY, address OBJECT,
    seen_ntz TIMESTAMP_NTZ, seen_ltz TIMESTAMP_LTZ, seen_tz TIMESTAMP_TZ, born DATE, wakes TIME, email VARCHAR,
    avatar BINARY
)
"""
# Snowflake takes PARSE_JSON and the constructors in INSERT ... SELECT, not in VALUES.
INSERT = """
INSERT INTO contacts SELECT
    1, 12345678901234567890123456.0123456789, 1.5, TRUE, PARSE_JSON('{"plan": [1, "x", null], "n": 1.25}'),
    ARRAY_CONSTRUCT(1, 'x', 2.5), OBJECT_CONSTRUCT('city', 'Oslo', 'floor', 3),
    '2024-01-02 03:04:05.123456'::TIMESTAMP_NTZ, '2024-01-02 03:04:05.123456'::TIMESTAMP_LTZ,
    '2024-01-02 03:04:05.123456 +02:00'::TIMESTAMP_TZ, '1990-07-08'::DATE, '06:30:00'::TIME, 'ada@example.com',
    TO_BINARY('ABCD', 'HEX')
"""
SELECT = "SELECT * FROM contacts ORDER BY id"

SEEN = dt.datetime(2024, 1, 2, 3, 4, 5, 123456)
UTC = dt.timezone.utc
EPOCH = dt.datetime(1970, 1, 1)
FULL_ROW = {
    "ID": 1,
    "BALANCE": Decimal("12345678901234567890123456.0123456789"),
    "SCORE": 1.5,
    "ACTIVE": True,
    "TRAITS": {"plan": [1, "x", None], "n": 1.25},
    "TAGS": [1, "x", 2.5],
    "ADDRESS": {"city": "Oslo", "floor": 3},
    "SEEN_NTZ": SEEN,
    "SEEN_LTZ": SEEN.replace(tzinfo=UTC),
    "SEEN_TZ": (SEEN - dt.timedelta(hours=2)).replace(tzinfo=UTC),
    "BORN": dt.date(1990, 7, 8),
    "WAKES": dt.time(6, 30),
    "EMAIL": "ada@example.com",
    "AVATAR": b"\xab\xcd",
}
JSON_COLUMNS = {"TRAITS", "TAGS", "ADDRESS"}
TIMESTAMP_COLUMNS = {"SEEN_NTZ", "SEEN_LTZ", "SEEN_TZ"}

PYTHON_TYPES = {
    "ID": int,
    "BALANCE": Decimal,
    "SCORE": float,
    "ACTIVE": bool,
    "TRAITS": str,
    "TAGS": str,
    "ADDRESS": str,
    "SEEN_NTZ": dt.datetime,
    "SEEN_LTZ": dt.datetime,
    "SEEN_TZ": dt.datetime,
    "BORN": dt.date,
    "WAKES": dt.time,
    "EMAIL": str,
    "AVATAR": bytearray,
}
TYPE_CODES = {
    "ID": 0,
    "BALANCE": 0,
    "SCORE": 1,
    "ACTIVE": 13,
    "TRAITS": 5,
    "TAGS": 5,
    "ADDRESS": 5,
    "SEEN_NTZ": 8,
    "SEEN_LTZ": 7,
    "SEEN_TZ": 7,
    "BORN": 3,
    "WAKES": 12,
    "EMAIL": 2,
    "AVATAR": 11,
}
ARROW_TYPES = {
    "ID": pa.int64(),
    "BALANCE": pa.decimal128(38, 10),
    "SCORE": pa.float64(),
    "ACTIVE": pa.bool_(),
    "TRAITS": pa.string(),
    "TAGS": pa.string(),
    "ADDRESS": pa.string(),
    "SEEN_NTZ": pa.timestamp("ns"),
    "SEEN_LTZ": pa.timestamp("ns", tz="Etc/UTC"),
    "SEEN_TZ": pa.timestamp("ns", tz="Etc/UTC"),
    "BORN": pa.date32(),
    "WAKES": pa.time64("us"),
    "EMAIL": pa.string(),
    "AVATAR": pa.binary(),
}


@pytest.fixture(scope="module")
def fakesnow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeSnowflakeServer]:
    with FakeSnowflakeServer(tmp_path_factory.mktemp("fakesnow")) as server:
        yield server


@pytest.fixture
def snowflake_hook(fakesnow_server: FakeSnowflakeServer, monkeypatch: pytest.MonkeyPatch) -> SnowflakeHook:
    """A ``SnowflakeHook`` on the server, by an ``AIRFLOW_CONN_*`` connection and the CA the connector trusts."""
    monkeypatch.setenv(*fakesnow_server.connection_env(CONN_ID))
    monkeypatch.setenv(*fakesnow_server.ca_env)
    return SnowflakeHook(snowflake_conn_id=CONN_ID)


def _decoded(column: str, value: object) -> object:
    return json.loads(value) if column in JSON_COLUMNS and isinstance(value, str) else value


def test_snowflake_types_through_the_hook(snowflake_hook: SnowflakeHook) -> None:
    """Every column type, written and read back through ``SnowflakeHook`` and the real connector, with
    ``fetchmany`` and with ``fetch_arrow_batches``: the values, the Python types, the type codes and the Arrow
    types of the module's table."""
    with snowflake_hook.get_conn() as conn, conn.cursor() as cursor:
        cursor.execute(CREATE)
        cursor.execute(INSERT)
        cursor.execute("INSERT INTO contacts (id) VALUES (2)")

        cursor.execute(SELECT)
        names = [column.name for column in cursor.description]
        assert {column.name: column.type_code for column in cursor.description} == TYPE_CODES
        full, empty = (dict(zip(names, row, strict=True)) for row in cursor.fetchmany(10))
        assert cursor.fetchmany(10) == []
        assert {name: type(value) for name, value in full.items()} == PYTHON_TYPES
        assert {name: _decoded(name, value) for name, value in full.items()} == FULL_ROW
        assert full["SEEN_TZ"].utcoffset() == dt.timedelta(0)  # the +02:00 of the value is not kept by fakesnow
        # fakesnow: a NULL timestamp arrives as the epoch; every other NULL as None.
        null_epochs = {"SEEN_NTZ": EPOCH, "SEEN_LTZ": EPOCH.replace(tzinfo=UTC), "SEEN_TZ": EPOCH.replace(tzinfo=UTC)}
        assert {name: value for name, value in empty.items() if name != "ID"} == {
            name: null_epochs.get(name) for name in FULL_ROW if name != "ID"
        }

        cursor.execute(SELECT)
        tables = list(cursor.fetch_arrow_batches())
    assert len(tables) == 1  # fakesnow answers with the whole result in one response
    table = tables[0]
    assert {field.name: field.type for field in table.schema} == ARROW_TYPES
    full, empty = table.to_pylist()
    assert {name: _decoded(name, value) for name, value in full.items()} == FULL_ROW
    assert [name for name, value in empty.items() if value is None] == [
        name for name in FULL_ROW if name not in TIMESTAMP_COLUMNS | {"ID"}
    ]


def test_the_server_certificate_is_verified(
    fakesnow_server: FakeSnowflakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The connector really speaks TLS to the server: without the test CA it refuses the certificate."""
    monkeypatch.setenv(*fakesnow_server.connection_env(CONN_ID))
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    with pytest.raises(OperationalError, match=r"(?i)certificate"):
        SnowflakeHook(snowflake_conn_id=CONN_ID).get_conn()
