"""Throwaway MySQL, PostgreSQL and Redis servers for this project's tests, demo and benchmarks.

Not part of the ``airflow-provider-cio`` distribution: it lives beside the package in the repository and
is imported from a checkout (pytest puts the repository root on ``sys.path``; ``scripts/demo.py`` and
``python -m benchmarks`` run from it). Each server starts the binary installed on the machine on a free
port with its data in a temporary directory, and removes everything when it stops; ``from_url`` wraps a
server you already run with the same interface::

    from cio_devservers import TemporaryMySQLServer

    with TemporaryMySQLServer() as server:
        server.create_database("shop")
"""

from __future__ import annotations

from cio_devservers.mysql_server import MySQLServer, TemporaryMySQLServer, free_port
from cio_devservers.postgres_server import PostgresServer, TemporaryPostgresServer
from cio_devservers.redis_server import RedisServer, TemporaryRedisServer

__all__ = [
    "MySQLServer",
    "PostgresServer",
    "RedisServer",
    "TemporaryMySQLServer",
    "TemporaryPostgresServer",
    "TemporaryRedisServer",
    "free_port",
]
