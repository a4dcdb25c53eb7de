"""Run real DagRuns in a test with ``dag.test()``, and read back what the tasks reported.

Needs a migrated metadata database (``airflow.utils.db.resetdb()`` once per session, in a temporary
``AIRFLOW_HOME``). DAGs defined in a test module are registered (serialized) first, as the scheduler's
DAG processor would do::

    outcome = run_dag(dag, logical_date=datetime(2026, 1, 1, tzinfo=timezone.utc))
    assert outcome.state == "success"
    report = outcome.xcom("sync_people")
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from typing import Any


@dataclass
class DagRunOutcome:
    """The end of one DagRun: its state, each task's state, and a way to read XComs."""

    dag_id: str
    run_id: str
    state: str
    start_date: dt.datetime | None
    task_states: dict[str, str]

    def xcom(self, task_id: str, key: str = "return_value") -> Any:
        """The XCom a task of this run pushed, or None."""
        return read_xcom(self.dag_id, self.run_id, task_id, key)


def register_dag(dag: Any) -> None:
    """Serialize a DAG into the metadata database so ``dag.test()`` can create runs of it."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db

    DagBundlesManager().sync_bundles_to_db()
    bag = DagBag(dag_folder=os.devnull)
    bag.bag_dag(dag)
    sync_bag_to_db(bag, "dags-folder", None)


def run_dag(dag: Any, logical_date: dt.datetime, *, register: bool = True, **test_kwargs: Any) -> DagRunOutcome:
    """Run one whole DagRun in this process with ``dag.test()``.

    :param logical_date: must be later than the logical date of every earlier run of this DAG (reusing
        a date replaces that run).
    :param register: serialize the DAG first (needed for DAGs not loaded from the DAGs folder).
    """
    if register:
        register_dag(dag)
    run = dag.test(logical_date=logical_date, **test_kwargs)
    return DagRunOutcome(
        dag_id=run.dag_id,
        run_id=run.run_id,
        state=str(run.state),
        start_date=run.start_date,
        task_states={ti.task_id: str(ti.state) for ti in run.get_task_instances()},
    )


def read_xcom(dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
    """The value of an XCom from the metadata database, or None."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = (
            session.query(XComModel.value)
            .filter(
                XComModel.dag_id == dag_id,
                XComModel.run_id == run_id,
                XComModel.task_id == task_id,
                XComModel.key == key,
            )
            .first()
        )
    return None if row is None else XComModel.deserialize_value(row)
