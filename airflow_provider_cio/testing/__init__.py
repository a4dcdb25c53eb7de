"""Test doubles that are real servers: a Customer.io workspace emulator and a throwaway MySQL server.

Use them in your own DAG tests::

    from airflow_provider_cio.testing import WorkspaceEmulator, TemporaryMySQLServer
"""

from __future__ import annotations

from airflow_provider_cio.testing.emulator import WorkspaceEmulator
from airflow_provider_cio.testing.mysql_server import TemporaryMySQLServer

__all__ = ["TemporaryMySQLServer", "WorkspaceEmulator"]
