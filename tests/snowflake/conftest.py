"""A local Snowflake for the Snowflake source tests: fakesnow's server over TLS (``tests/snowflake_server.py``),
reached by the real connector through ``SnowflakeHook``. No ``__init__.py`` here: a package named
``snowflake`` would hide the connector's."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from snowflake_server import FakeSnowflakeServer

CONN_ID = "cio_snowflake"


@pytest.fixture(scope="session")
def fakesnow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeSnowflakeServer]:
    with FakeSnowflakeServer(tmp_path_factory.mktemp("fakesnow")) as server:
        yield server


class SnowflakeDatabase:
    """The Airflow connection ``cio_snowflake`` on the server, with a shortcut to run statements through it."""

    conn_id = CONN_ID

    def execute(self, *statements: str) -> list[tuple[Any, ...]]:
        """Run statements through ``SnowflakeHook``; the rows of the last one."""
        from airflow.providers.snowflake.hooks.snowflake import SnowflakeHook

        rows: list[tuple[Any, ...]] = []
        with SnowflakeHook(snowflake_conn_id=self.conn_id).get_conn() as conn, conn.cursor() as cursor:
            for statement in statements:
                rows = cursor.execute(statement).fetchall()
        return rows


@pytest.fixture
def snowflake_db(fakesnow_server: FakeSnowflakeServer, monkeypatch: pytest.MonkeyPatch) -> SnowflakeDatabase:
    """``cio_snowflake``: an ``AIRFLOW_CONN_*`` connection to the server, trusted through the test CA."""
    monkeypatch.setenv(*fakesnow_server.connection_env(CONN_ID))
    monkeypatch.setenv(*fakesnow_server.ca_env)
    return SnowflakeDatabase()
