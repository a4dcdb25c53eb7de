"""A worker process for the fault tests: runs one DagRun of a DAG with ``dag.test()``, then exits.

::

    python tests/faults/dagrun_worker.py <module> <DAG attribute> <logical date, ISO 8601>

It uses the metadata database and connections of the environment it inherits (the test session's), so a
test can SIGKILL it mid-sync, as a worker dies in production, and start a fresh one for the next run.
``<module>`` is imported with ``tests/`` on the path (``faults.test_worker_killed``). The last line it
prints is the DagRun's state.
"""

from __future__ import annotations

import sys
from datetime import datetime
from importlib import import_module
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(module: str, attribute: str, logical_date: str) -> None:
    """Run one DagRun of ``module.attribute`` at ``logical_date`` and print its state."""
    from airflow_provider_cio.testing.dagruns import run_dag

    dag = getattr(import_module(module), attribute)
    outcome = run_dag(dag, datetime.fromisoformat(logical_date))
    print(outcome.state, flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
