"""Run real DagRuns in a test with ``dag.test()``, and read back what the tasks reported.

Needs a migrated metadata database (``airflow.utils.db.resetdb()`` once per session, in a temporary
``AIRFLOW_HOME``). DAGs defined in a test module are registered (serialized) first, as the scheduler's
DAG processor would do::

    outcome = run_dag(dag, logical_date=datetime(2026, 1, 1, tzinfo=timezone.utc))
    assert outcome.state == "success"
    report = outcome.xcom("sync_people")

Every sync report read back here is checked first: its row counts must add up (:func:`check_counts`).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ROW_OUTCOMES = ("rows_sent", "rows_failed", "rows_suppressed", "rows_not_sent", "rows_unchanged")
"""Where each row a sync read ended up: every row read is counted in exactly one of these."""


class CountMismatchError(AssertionError):
    """A sync report whose row counts do not add up to ``rows_read``."""


def check_counts(report: Any) -> None:
    """Check the count identity of a sync report (the XCom dict or a ``SyncReport``).

    ``rows_read = rows_sent + rows_failed + rows_suppressed + rows_not_sent + rows_unchanged``; a count
    the report does not have is 0. In a dry run nothing is sent: the rows that would be sent
    (``would_send["rows"]``) stand in for ``rows_sent``.

    :raises CountMismatchError: naming every count, when they do not add up.
    """
    counts = dict(report) if isinstance(report, Mapping) else vars(report)
    outcomes = {name: int(counts.get(name) or 0) for name in ROW_OUTCOMES}
    if counts.get("dry_run") and counts.get("would_send"):
        outcomes["rows_sent"] += int(counts["would_send"].get("rows") or 0)
    rows_read = int(counts.get("rows_read") or 0)
    if rows_read != sum(outcomes.values()):
        shown = ", ".join(f"{name} {value}" for name, value in outcomes.items())
        raise CountMismatchError(f"rows_read {rows_read} is not the sum of {shown} (report: {counts})")


def is_sync_report(value: Any) -> bool:
    """Whether an XCom value is a sync report (it counts the rows it read)."""
    return isinstance(value, Mapping) and "rows_read" in value and "rows_sent" in value


@dataclass
class DagRunOutcome:
    """The end of one DagRun: its state, each task's state, and a way to read XComs."""

    dag_id: str
    run_id: str
    state: str
    start_date: dt.datetime | None
    task_states: dict[str, str]

    def xcom(self, task_id: str, key: str = "return_value", *, map_index: int | None = None) -> Any:
        """The XCom a task of this run pushed, or None (a sync report is checked by :func:`check_counts`)."""
        return read_xcom(self.dag_id, self.run_id, task_id, key, map_index=map_index)


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


def read_xcom(
    dag_id: str, run_id: str, task_id: str, key: str = "return_value", *, map_index: int | None = None
) -> Any:
    """The value of an XCom from the metadata database, or None.

    A sync report is checked by :func:`check_counts` before it is returned.

    :param map_index: the instance of a mapped task to read (by default the first XCom found).
    """
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        query = session.query(XComModel.value).filter(
            XComModel.dag_id == dag_id,
            XComModel.run_id == run_id,
            XComModel.task_id == task_id,
            XComModel.key == key,
        )
        if map_index is not None:
            query = query.filter(XComModel.map_index == map_index)
        row = query.first()
    value = None if row is None else XComModel.deserialize_value(row)
    if is_sync_report(value):
        check_counts(value)
    return value
