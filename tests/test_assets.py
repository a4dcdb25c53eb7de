"""Assets: a sync announces what it changed as a ``customerio://`` asset event carrying its counts.

Real DagRuns of the example DAGs (``cio_people_hourly`` announces ``customerio_people``;
``cio_after_people_synced`` is scheduled on it), real MySQL, the emulator over HTTP; the events and the
scheduler's queue of asset-triggered runs are read from Airflow's metadata database.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_cio.assets import asset_uri, convert_asset_to_openlineage, customerio_asset
from airflow_provider_cio.operators.reverse_etl import MySQLReverseETLOperator
from airflow_provider_cio.testing import WorkspaceEmulator
from airflow_provider_cio.testing.dagruns import register_dag, run_dag

pytestmark = pytest.mark.usefixtures("airflow_db")

EXAMPLES = Path(__file__).resolve().parents[1] / "dags_examples"
START = datetime(2026, 4, 1, tzinfo=timezone.utc)
_numbers = itertools.count(1)


@pytest.fixture(scope="module")
def example_dags() -> Iterator[dict[str, Any]]:
    """The example DAGs, parsed from their folder and serialised (the downstream DAG's schedule included).

    Their runs are removed afterwards: a watermark left behind would be the next test module's
    ``last_sync_time`` for the same example DAG.
    """
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(EXAMPLES))
    assert bag.import_errors == {}
    for dag in bag.dags.values():
        for task in dag.tasks:
            if hasattr(task, "activity_settle_seconds"):
                task.activity_settle_seconds = 0
        register_dag(dag)
    unpause("cio_after_people_synced")  # new DAGs start paused; a paused DAG is not queued by its assets
    yield bag.dags
    forget_runs(list(bag.dags))


def forget_runs(dag_ids: list[str]) -> None:
    """Delete the runs of these DAGs, with their task instances and XComs."""
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        for model in (XComModel, TaskInstance, DagRun):
            session.query(model).filter(model.dag_id.in_(dag_ids)).delete(synchronize_session=False)


def unpause(dag_id: str) -> None:
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session

    with create_session() as session:
        session.query(DagModel).filter(DagModel.dag_id == dag_id).update({"is_paused": False})


def asset_events(uri: str) -> list[dict[str, Any]]:
    """The extra of every event of the asset, oldest first."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = (
            session.query(AssetEvent.extra)
            .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
            .filter(AssetModel.uri == uri)
            .order_by(AssetEvent.id)
            .all()
        )
        return [dict(extra) for (extra,) in rows]


def queued_runs(uri: str) -> list[str]:
    """The DAGs the scheduler will run because of the asset's last events (its asset DAG run queue)."""
    from airflow.models.asset import AssetDagRunQueue, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = (
            session.query(AssetDagRunQueue.target_dag_id)
            .join(AssetModel, AssetModel.id == AssetDagRunQueue.asset_id)
            .filter(AssetModel.uri == uri)
            .all()
        )
        return sorted(dag_id for (dag_id,) in rows)


def load_users(mysql_db: Any) -> None:
    mysql_db.execute(
        "CREATE TABLE users (id INT PRIMARY KEY, email VARCHAR(200), first_name VARCHAR(50), plan VARCHAR(20), "
        "created_at DATETIME, deleted_at DATETIME, "
        "updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP)",
        "INSERT INTO users (id, email, first_name, plan) VALUES (1, 'ada@example.com', 'Ada', 'pro'), "
        "(2, 'grace@example.com', 'Grace', 'free'), (3, 'linus@example.com', 'Linus', 'pro')",
    )


def test_a_sync_announces_people_synced_with_its_counts_and_queues_the_downstream_dag(
    example_dags: dict[str, Any], mysql_db: Any, workspace: WorkspaceEmulator
) -> None:
    load_users(mysql_db)
    uri = asset_uri(workspace.site_id, "people")
    before = len(asset_events(uri))

    outcome = run_dag(example_dags["cio_people_hourly"], datetime.now(timezone.utc), register=False)

    assert outcome.state == "success"
    report = outcome.xcom("sync_people")
    [event] = asset_events(uri)[before:]
    assert event == {
        "rows_read": 3,
        "rows_sent": 3,
        "rows_failed": 0,
        "rows_suppressed": 0,
        "rows_unchanged": 0,
        "rows_removed": 0,
        "last_sync_time": report["last_sync_time"],
        "import_type": "people",
        "dry_run": False,
    }
    assert queued_runs(uri) == ["cio_after_people_synced"]
    downstream = example_dags["cio_after_people_synced"].get_task("people_synced")
    assert downstream.python_callable(triggering_asset_events={uri: [Event(event)]}) == {"syncs": 1, "rows_sent": 3}


def test_the_downstream_dag_runs_on_its_own_too(example_dags: dict[str, Any]) -> None:
    """Triggered by hand (no asset event), it reports that no sync triggered it."""
    outcome = run_dag(example_dags["cio_after_people_synced"], START, register=False)

    assert outcome.state == "success"
    assert outcome.xcom("people_synced") == {"syncs": 0, "rows_sent": 0}


class Event:
    """An asset event as a task receives it in ``triggering_asset_events`` (its ``extra``)."""

    def __init__(self, extra: dict[str, Any]) -> None:
        self.extra = extra


def sync_dag(**kwargs: Any) -> Any:
    from airflow.sdk import DAG

    with DAG(f"assets_{next(_numbers)}", schedule=None, start_date=START, catchup=False) as dag:
        MySQLReverseETLOperator(task_id="sync", activity_settle_seconds=0, **kwargs)
    return dag


def test_a_sync_with_a_failed_row_announces_nothing(mysql_db: Any, workspace: WorkspaceEmulator) -> None:
    mysql_db.execute(
        "CREATE TABLE users (id INT PRIMARY KEY, email VARCHAR(200))",
        "INSERT INTO users VALUES (1, 'ada@example.com'), (2, 'not an email')",
    )
    asset = customerio_asset(workspace.site_id, "people", name="customerio_people")  # the example's asset
    before = len(asset_events(asset.uri))

    outcome = run_dag(sync_dag(sql="SELECT id, email FROM users", outlets=[asset]), START + timedelta(days=1))

    assert outcome.task_states["sync"] == "failed"
    assert outcome.xcom("sync")["rows_failed"] == 1
    assert asset_events(asset.uri)[before:] == []


def test_an_outlet_naming_another_workspace_fails_before_sending(mysql_db: Any, workspace: WorkspaceEmulator) -> None:
    mysql_db.execute("CREATE TABLE users (id INT PRIMARY KEY)", "INSERT INTO users VALUES (1)")
    other = customerio_asset("another-site", "people")
    objects = customerio_asset(workspace.site_id, "objects")

    first = run_dag(sync_dag(sql="SELECT id FROM users", outlets=[other]), START + timedelta(days=2))
    second = run_dag(sync_dag(sql="SELECT id FROM users", outlets=[objects]), START + timedelta(days=3))

    assert first.task_states["sync"] == second.task_states["sync"] == "failed"
    assert workspace.people() == []
    assert asset_events(other.uri) == asset_events(objects.uri) == []


def test_airflow_refuses_a_malformed_customerio_uri_through_the_registered_scheme() -> None:
    from airflow.sdk import Asset

    for uri in (
        "customerio://mars/site/people",
        "customerio://us/site",
        "customerio://us/site/users",
        "customerio://us/site/objects/0",
    ):
        with pytest.raises(ValueError, match="customerio://"):
            Asset(uri=uri)
    assert Asset(uri="customerio://EU/site/objects/2/").uri == "customerio://eu/site/objects/2"


def test_an_asset_is_the_same_dataset_as_the_sync_lineage_output() -> None:
    dataset = convert_asset_to_openlineage(customerio_asset("site", "objects", region="eu", object_type_id="3"))

    assert (dataset.namespace, dataset.name) == ("customerio://eu/site", "objects/3")
