"""OpenLineage: the events Airflow's OpenLineage provider emits for real sync DagRuns.

The test session configures the provider's file transport and an emission policy (tests/conftest.py):
the DAGs named ``lineage_*`` emit START and COMPLETE (or FAIL) events, and no other DAG emits any. They are
built by the provider from the operators' ``get_openlineage_facets_on_*`` methods and written to a
JSON-lines file that the tests read. Nothing is mocked: MySQL is real, the workspace is the emulator.
"""

from __future__ import annotations

import itertools
import json
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_cio.operators.relationships import RelationshipOperator
from airflow_provider_cio.operators.reverse_etl import MySQLReverseETLOperator
from airflow_provider_cio.testing.dagruns import run_dag

pytestmark = pytest.mark.usefixtures("airflow_db")

_numbers = itertools.count()
START = datetime(2026, 3, 1, tzinfo=timezone.utc)


def events_of(job: str) -> list[dict[str, Any]]:
    """The OpenLineage events emitted so far for a job (``<dag_id>.<task_id>``), oldest first."""
    path = Path(os.environ["AIRFLOW_HOME"]) / "openlineage.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    return [event for event in map(json.loads, lines) if event["job"]["name"] == job]


def run_sync(operator_class: type, **kwargs: Any) -> tuple[str, dict[str, Any]]:
    """One DagRun of a DAG (``lineage_*``: it emits lineage) holding one sync task; its state and last event."""
    from airflow.sdk import DAG

    dag_id = f"lineage_{operator_class.__name__}_{next(_numbers)}"
    with DAG(dag_id, schedule=None, start_date=START, catchup=False, max_active_runs=1) as dag:
        operator_class(task_id="sync", **kwargs)
    outcome = run_dag(dag, START + timedelta(days=next(_numbers)))
    events = events_of(f"{dag_id}.sync")
    assert [event["eventType"] for event in events][:1] == ["START"]
    return outcome.task_states["sync"], events[-1]


def datasets(items: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return sorted((item["namespace"], item["name"]) for item in items)


def counts(output: dict[str, Any]) -> dict[str, Any]:
    """The sync facet of an output dataset, without the facet's own bookkeeping (_producer, _schemaURL)."""
    facet = output["outputFacets"]["customerio_sync"]
    return {key: value for key, value in facet.items() if not key.startswith("_")}


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


def test_a_people_sync_reads_its_tables_and_writes_the_workspace_people(shop, workspace) -> None:
    state, event = run_sync(
        MySQLReverseETLOperator,
        sql="SELECT u.id, u.email, a.plan FROM users u JOIN accounts a ON a.id = u.account_id WHERE u.id <> 2",
        activity_settle_seconds=0,
    )

    assert (state, event["eventType"]) == ("success", "COMPLETE")
    mysql = f"mysql://{shop.server.host}:{shop.server.port}"
    assert datasets(event["inputs"]) == [(mysql, f"{shop.name}.accounts"), (mysql, f"{shop.name}.users")]
    [output] = event["outputs"]
    assert (output["namespace"], output["name"]) == (f"customerio://us/{workspace.site_id}", "people")
    assert output["outputFacets"]["outputStatistics"]["rowCount"] == 2
    assert counts(output) == {
        "rowsRead": 2,
        "rowsSent": 2,
        "rowsFailed": 0,
        "rowsSuppressed": 0,
        "errorsByType": {},
        "dryRun": False,
        "status": "success",
    }
    assert len(workspace.people()) == 2


def test_a_failed_sync_reports_its_failed_rows_in_the_lineage(shop, workspace) -> None:
    state, event = run_sync(MySQLReverseETLOperator, sql="SELECT id, email FROM users", activity_settle_seconds=0)

    assert (state, event["eventType"]) == ("failed", "FAIL")
    [output] = event["outputs"]
    assert output["outputFacets"]["outputStatistics"]["rowCount"] == 2
    assert counts(output) == {
        "rowsRead": 3,
        "rowsSent": 2,
        "rowsFailed": 1,
        "rowsSuppressed": 0,
        "errorsByType": {"invalid_email": 1},
        "dryRun": False,
        "status": "failed",
    }


def test_objects_and_relationships_are_their_own_workspace_datasets(shop, workspace) -> None:
    workspace.settings(object_types=["1", "2"])
    state, objects = run_sync(
        MySQLReverseETLOperator,
        sql="SELECT id AS object_id, plan FROM accounts",
        import_type="objects",
        object_type_id="2",
    )
    assert state == "success"
    assert datasets(objects["outputs"]) == [(f"customerio://us/{workspace.site_id}", "objects/2")]
    assert [name for _, name in datasets(objects["inputs"])] == [f"{shop.name}.accounts"]

    run_sync(MySQLReverseETLOperator, sql="SELECT id, email FROM users WHERE id <> 2", activity_settle_seconds=0)
    state, relationships = run_sync(
        RelationshipOperator, sql="SELECT user_id AS id, company_id AS object_id FROM memberships", object_type_id="2"
    )
    assert state == "success"
    assert [name for _, name in datasets(relationships["outputs"])] == ["relationships"]
    assert [name for _, name in datasets(relationships["inputs"])] == [f"{shop.name}.memberships"]
    assert counts(relationships["outputs"][0])["rowsSent"] == 2


def test_the_start_event_names_the_datasets_without_counts(shop, workspace) -> None:
    operator = MySQLReverseETLOperator(task_id="sync", sql="SELECT id, email FROM users")
    at_start = operator.get_openlineage_facets_on_start()

    assert [d.name for d in at_start.inputs] == [f"{shop.name}.users"]
    [output] = at_start.outputs
    assert (output.name, output.outputFacets) == ("people", {})
