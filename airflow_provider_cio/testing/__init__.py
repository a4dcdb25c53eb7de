"""Test doubles for your DAG tests: a Customer.io workspace emulator that is a real HTTP server, and
helpers that run real DagRuns and check what the sync tasks reported (:mod:`.dagruns`)::

    from airflow_provider_cio.testing import WorkspaceEmulator
    from airflow_provider_cio.testing.dagruns import run_dag

The emulator is also the ``cio-workspace-emulator`` command (``python -m airflow_provider_cio.testing``).
"""

from __future__ import annotations

from airflow_provider_cio.testing.emulator import WorkspaceEmulator

__all__ = ["WorkspaceEmulator"]
