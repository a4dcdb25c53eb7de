"""One-task DAGs with a PostgreSQL sync operator, run as real DagRuns (``dag.test()``)."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from typing import Any

from airflow_provider_cio.testing.dagruns import run_dag

START = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
_dag_numbers = itertools.count(1)
_hours = itertools.count(1)


@dataclass
class Run:
    """One DagRun: the sync task's state and report (XCom ``return_value``)."""

    state: str
    report: dict[str, Any] | None
    start_date: dt.datetime | None


class PostgresSyncDag:
    """A DAG with one Postgres sync operator (task ``sync``).

    :param operator_class: ``PostgresReverseETLOperator`` or ``PostgresRelationshipOperator``.
    """

    def __init__(self, operator_class: type, **operator_kwargs: Any) -> None:
        from airflow.sdk import DAG

        if "import_type" in operator_kwargs or operator_class.__name__ == "PostgresReverseETLOperator":
            operator_kwargs.setdefault("activity_settle_seconds", 0)
        with DAG(
            f"postgres_sync_{next(_dag_numbers)}", schedule=None, start_date=START, catchup=False, max_active_runs=1
        ) as self.dag:
            self.operator = operator_class(task_id="sync", **operator_kwargs)

    def run(self) -> Run:
        """One DagRun, at a logical date later than every earlier one."""
        outcome = run_dag(self.dag, START + dt.timedelta(hours=next(_hours)))
        return Run(outcome.task_states["sync"], outcome.xcom("sync"), outcome.start_date)
