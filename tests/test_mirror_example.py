"""The mirror example DAG (``dags_examples/mirror_memberships.py``) over the sample data, as real DagRuns:
a membership deleted in MySQL is deleted in the workspace, and the "Team plan" segment follows its query."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from test_examples import EXAMPLES, sql_statements

from airflow_provider_cio.testing import WorkspaceEmulator
from airflow_provider_cio.testing.dagruns import run_dag

pytestmark = pytest.mark.usefixtures("airflow_db")
TASKS = ("sync_people", "sync_companies", "sync_memberships", "sync_team_segment")


@pytest.fixture(scope="module")
def mirror_example() -> Any:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(Path(EXAMPLES, "mirror_memberships.py")))
    dag = bag.dags["cio_mirror_memberships"]
    for task in dag.tasks:
        if hasattr(task, "activity_settle_seconds"):
            task.activity_settle_seconds = 0
    return dag


def memberships(workspace: WorkspaceEmulator) -> dict[tuple[str, str], dict[str, str]]:
    return {(link["person"]["id"], link["object_id"]): link["attributes"] for link in workspace.relationships()}


def source_memberships(db: Any) -> dict[tuple[str, str], dict[str, str]]:
    rows = db.query(
        "SELECT m.user_id, m.company_id, m.role FROM memberships m JOIN users u ON u.id = m.user_id "
        "WHERE NOT m.removed AND u.deleted_at IS NULL"
    )
    return {(str(user), str(company)): ({"role": role} if role else {}) for user, company, role in rows}


def team_segment(workspace: WorkspaceEmulator) -> list[str]:
    ids = {person["cio_id"]: person["id"] for person in workspace.people()}
    (segment,) = [s for s in workspace.segments() if s["name"] == "Team plan"]
    return sorted(ids[cio_id] for cio_id in segment["members"])


def test_the_mirror_example_deletes_memberships_and_keeps_its_segment(
    mirror_example: Any, mysql_db: Any, workspace: WorkspaceEmulator
) -> None:
    mysql_db.execute(
        *sql_statements(EXAMPLES / "sql" / "schema.sql"), *sql_statements(EXAMPLES / "sql" / "sample_data.sql")
    )
    now = datetime.now(timezone.utc)
    first = run_dag(mirror_example, now)
    assert first.state == "success", first.task_states
    assert {task: first.xcom(task)["rows_sent"] for task in TASKS} == {
        "sync_people": 6,
        "sync_companies": 3,
        "sync_memberships": 5,
        "sync_team_segment": 1,
    }
    assert memberships(workspace) == source_memberships(mysql_db)
    assert team_segment(workspace) == ["4"]

    mysql_db.execute(
        "DELETE FROM memberships WHERE user_id = 1 AND company_id = 101",
        "UPDATE memberships SET role = 'owner' WHERE user_id = 2",
        "UPDATE users SET plan = 'team' WHERE id = 2",
        "UPDATE users SET plan = 'free' WHERE id = 4",
    )
    second = run_dag(mirror_example, now + timedelta(minutes=1))
    assert second.state == "success", second.task_states
    reports = {task: second.xcom(task) for task in TASKS}
    assert (reports["sync_memberships"]["rows_sent"], reports["sync_memberships"]["rows_removed"]) == (1, 1)
    assert reports["sync_memberships"]["rows_unchanged"] == 3
    assert (reports["sync_people"]["rows_sent"], reports["sync_people"]["rows_unchanged"]) == (2, 4)
    assert reports["sync_companies"]["rows_unchanged"] == 3
    assert reports["sync_team_segment"]["people_removed_from_segment"] == 1
    assert memberships(workspace) == source_memberships(mysql_db)
    assert ("1", "101") not in memberships(workspace)
    assert team_segment(workspace) == ["2"]
