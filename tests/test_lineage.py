"""OpenLineage: over real DagRuns, the lineage Airflow's OpenLineage provider extracts from a sync task.

A listener registered with Airflow's task listener manager receives each finished task instance, as the
OpenLineage provider's own listener does, and asks the provider's ``ExtractorManager`` for the task's
lineage: the operators' ``get_openlineage_facets_on_complete`` / ``_on_failure``, called on the task that
ran, after it ran. Nothing is mocked: MySQL is real, the workspace is the emulator.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone
from typing import Any

import attr
import pytest
from airflow.sdk._shared.listeners import hookimpl

from airflow_provider_cio.operators.relationships import RelationshipOperator
from airflow_provider_cio.operators.reverse_etl import MySQLReverseETLOperator
from airflow_provider_cio.testing.dagruns import run_dag

pytestmark = pytest.mark.usefixtures("airflow_db")

_dates = itertools.count()
START = datetime(2026, 3, 1, tzinfo=timezone.utc)


class LineageListener:
    """Extracts each finished task's lineage as the OpenLineage provider does (state -> OperatorLineage)."""

    def __init__(self) -> None:
        self.lineage: dict[str, Any] = {}

    def _extract(self, task_instance: Any, state: Any) -> None:
        from airflow.providers.openlineage.extractors import ExtractorManager

        task = task_instance.task
        dag_run = task_instance.get_template_context()["dag_run"]
        self.lineage[str(state)] = ExtractorManager().extract_metadata(dag_run, task, state, task_instance)

    @hookimpl
    def on_task_instance_success(self, previous_state: Any, task_instance: Any) -> None:
        from airflow.utils.state import TaskInstanceState

        self._extract(task_instance, TaskInstanceState.SUCCESS)

    @hookimpl
    def on_task_instance_failed(self, previous_state: Any, task_instance: Any, error: Any) -> None:
        from airflow.utils.state import TaskInstanceState

        self._extract(task_instance, TaskInstanceState.FAILED)


@pytest.fixture
def lineage() -> Any:
    """The lineage of the tasks that finish during the test, by final state."""
    from airflow.sdk.listener import get_listener_manager

    listener = LineageListener()
    manager = get_listener_manager()
    manager.add_listener(listener)
    yield listener.lineage
    manager.pm.unregister(listener)


def run_sync(operator_class: type, **kwargs: Any) -> str:
    """One DagRun of a DAG holding one sync task ``sync``; returns the task's state."""
    from airflow.sdk import DAG

    dag_id = f"lineage_{operator_class.__name__}_{next(_dates)}"
    with DAG(dag_id, schedule=None, start_date=START, catchup=False, max_active_runs=1) as dag:
        operator_class(task_id="sync", **kwargs)
    outcome = run_dag(dag, START + timedelta(days=next(_dates)))
    return outcome.task_states["sync"]


def facets(dataset: Any) -> dict[str, Any]:
    """An output dataset's facets as plain values."""
    return {
        "outputStatistics": dataset.outputFacets["outputStatistics"].rowCount,
        "customerio_sync": {
            key: value
            for key, value in attr.asdict(dataset.outputFacets["customerio_sync"]).items()
            if not key.startswith("_")
        },
    }


@pytest.fixture
def shop(mysql_db: Any) -> Any:
    mysql_db.execute(
        "CREATE TABLE users (id INT PRIMARY KEY, email VARCHAR(200), account_id INT)",
        "CREATE TABLE accounts (id INT PRIMARY KEY, plan VARCHAR(20))",
        "CREATE TABLE memberships (user_id INT, company_id INT)",
        "INSERT INTO accounts VALUES (1, 'pro'), (2, 'free')",
        "INSERT INTO users VALUES (1, 'ada@example.com', 1), (2, 'not an email', 2), (3, 'linus@example.com', 2)",
        "INSERT INTO memberships VALUES (1, 1), (3, 2)",
    )
    return mysql_db


def test_a_people_sync_reads_its_tables_and_writes_the_workspace_people(shop, workspace, lineage) -> None:
    state = run_sync(
        MySQLReverseETLOperator,
        sql="SELECT u.id, u.email, a.plan FROM users u JOIN accounts a ON a.id = u.account_id WHERE u.id <> 2",
        activity_settle_seconds=0,
    )

    assert state == "success"
    extracted = lineage["success"]
    server = shop.server
    assert sorted((d.namespace, d.name) for d in extracted.inputs) == [
        (f"mysql://{server.host}:{server.port}", f"{shop.name}.accounts"),
        (f"mysql://{server.host}:{server.port}", f"{shop.name}.users"),
    ]
    [output] = extracted.outputs
    assert (output.namespace, output.name) == (f"customerio://us/{workspace.site_id}", "people")
    assert facets(output) == {
        "outputStatistics": 2,
        "customerio_sync": {
            "rowsRead": 2,
            "rowsSent": 2,
            "rowsFailed": 0,
            "rowsSuppressed": 0,
            "errorsByType": {},
            "dryRun": False,
            "status": "success",
        },
    }
    assert len(workspace.people()) == 2


def test_a_failed_sync_reports_its_failed_rows_in_the_lineage(shop, workspace, lineage) -> None:
    state = run_sync(MySQLReverseETLOperator, sql="SELECT id, email FROM users", activity_settle_seconds=0)

    assert state == "failed"
    [output] = lineage["failed"].outputs
    assert facets(output)["outputStatistics"] == 2
    assert facets(output)["customerio_sync"] | {"errorsByType": None} == {
        "rowsRead": 3,
        "rowsSent": 2,
        "rowsFailed": 1,
        "rowsSuppressed": 0,
        "errorsByType": None,
        "dryRun": False,
        "status": "failed",
    }
    assert facets(output)["customerio_sync"]["errorsByType"] == {"invalid_email": 1}


def test_objects_and_relationships_are_their_own_workspace_datasets(shop, workspace, lineage) -> None:
    workspace.settings(object_types=["1", "2"])
    assert (
        run_sync(
            MySQLReverseETLOperator,
            sql="SELECT id AS object_id, plan FROM accounts",
            import_type="objects",
            object_type_id="2",
        )
        == "success"
    )
    objects = lineage["success"]
    assert [(d.namespace, d.name) for d in objects.outputs] == [(f"customerio://us/{workspace.site_id}", "objects/2")]
    assert [d.name for d in objects.inputs] == [f"{shop.name}.accounts"]

    run_sync(MySQLReverseETLOperator, sql="SELECT id, email FROM users WHERE id <> 2", activity_settle_seconds=0)
    assert (
        run_sync(
            RelationshipOperator,
            sql="SELECT user_id AS id, company_id AS object_id FROM memberships",
            object_type_id="2",
        )
        == "success"
    )
    relationships = lineage["success"]
    assert [d.name for d in relationships.outputs] == ["relationships"]
    assert [d.name for d in relationships.inputs] == [f"{shop.name}.memberships"]
    assert facets(relationships.outputs[0])["customerio_sync"]["rowsSent"] == 2


def test_the_facets_at_start_name_the_datasets_without_counts(shop, workspace) -> None:
    operator = MySQLReverseETLOperator(task_id="sync", sql="SELECT id, email FROM users")
    at_start = operator.get_openlineage_facets_on_start()

    assert [d.name for d in at_start.inputs] == [f"{shop.name}.users"]
    [output] = at_start.outputs
    assert (output.name, output.outputFacets) == ("people", {})
