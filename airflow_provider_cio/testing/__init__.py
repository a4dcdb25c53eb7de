"""Test doubles that are real servers: a Customer.io workspace emulator, throwaway MySQL, PostgreSQL and Redis.

Use them in your own DAG tests::

    from airflow_provider_cio.testing import WorkspaceEmulator, TemporaryMySQLServer
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "WorkspaceEmulator": "airflow_provider_cio.testing.emulator",
    "TemporaryMySQLServer": "airflow_provider_cio.testing.mysql_server",
    "MySQLServer": "airflow_provider_cio.testing.mysql_server",
    "TemporaryPostgresServer": "airflow_provider_cio.testing.postgres_server",
    "PostgresServer": "airflow_provider_cio.testing.postgres_server",
    "TemporaryRedisServer": "airflow_provider_cio.testing.redis_server",
    "RedisServer": "airflow_provider_cio.testing.redis_server",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Import what is asked for on first use, so importing one double does not start the other's stack."""
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
