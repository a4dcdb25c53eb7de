"""The DAGs of ``dags_examples/``: they parse cleanly, follow the one-sync-at-a-time rules, and run.

They run as the demo runs them: parsed from their folder, against the tables of
``dags_examples/sql/schema.sql`` filled with ``sample_data.sql``, as real DagRuns at the current time.
They run twice, with changes in between, and the workspace is compared with what MySQL holds.
"""

from __future__ import annotations

import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_cio.pools import workspace_pool
from airflow_provider_cio.testing import WorkspaceEmulator
from airflow_provider_cio.testing.dagruns import run_dag

pytestmark = pytest.mark.usefixtures("airflow_db")

EXAMPLES = Path(__file__).resolve().parents[1] / "dags_examples"
SYNC_TASKS = {
    "cio_people_hourly": ["sync_people"],
    "cio_companies_daily": ["sync_companies", "sync_memberships"],
    "cio_newsletter_segment": ["sync_signups"],
}
"""The example DAGs and their sync tasks, in the order they run (people before their memberships)."""
ASSET_DAGS = {"cio_after_people_synced": ["people_synced"]}
"""The example DAGs scheduled on a sync's asset (they sync nothing themselves)."""
MIRROR_EXAMPLE = "cio_mirror_memberships"
"""Run by tests/test_mirror_example.py (its snapshots and segment are its own)."""
POSTGRES_EXAMPLE = "cio_postgres_people"
"""Run by tests/postgres/test_postgres_example.py (it reads PostgreSQL)."""
EVENTS_EXAMPLE = "cio_purchase_events"
"""Its query is run twice by tests/test_events.py (a look-back that sends orders again)."""


def sql_statements(path: Path) -> list[str]:
    """The statements of a .sql file (``;`` at the end of a line ends one; ``--`` lines are comments)."""
    lines = [line for line in path.read_text().splitlines() if not line.lstrip().startswith("--")]
    return [statement.strip() for statement in "\n".join(lines).split(";\n") if statement.strip().rstrip(";")]


@pytest.fixture(scope="module")
def example_bag() -> Any:
    """The example DAGs, parsed from their folder as the DAG processor parses a DAG file.

    Every warning is let through, so that the bag records any warning a DAG file raises.
    """
    from airflow.dag_processing.dagbag import DagBag

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        return DagBag(dag_folder=str(EXAMPLES))


@pytest.fixture(scope="module")
def example_dags(example_bag: Any) -> dict[str, Any]:
    """The parsed DAGs, ready to run against the emulator.

    The emulator applies writes at once, so the people syncs need not wait for the activity log to
    settle (a real workspace takes seconds, hence the operator's default of 5 s).
    """
    for dag in example_bag.dags.values():
        for task in dag.tasks:
            if hasattr(task, "activity_settle_seconds"):
                task.activity_settle_seconds = 0
    return example_bag.dags


def test_every_example_dag_parses_without_import_errors_or_warnings(example_bag: Any) -> None:
    assert example_bag.import_errors == {}
    assert example_bag.captured_warnings == {}
    assert sorted(example_bag.dag_ids) == sorted(
        [*SYNC_TASKS, *ASSET_DAGS, MIRROR_EXAMPLE, POSTGRES_EXAMPLE, EVENTS_EXAMPLE]
    )
    for dag_id, task_ids in (SYNC_TASKS | ASSET_DAGS).items():
        dag = example_bag.dags[dag_id]
        assert sorted(dag.task_ids) == sorted(task_ids)
        assert dag.doc_md and dag.doc_md.strip(), f"{dag_id} is not documented at its top"


def test_every_example_dag_runs_one_sync_at_a_time(example_bag: Any) -> None:
    for dag in (example_bag.dags[dag_id] for dag_id in [*SYNC_TASKS, MIRROR_EXAMPLE, EVENTS_EXAMPLE]):
        assert (dag.max_active_runs, dag.catchup) == (1, False), dag.dag_id
        for task in dag.tasks:
            assert task.pool == workspace_pool("customerio_default") == "customerio_customerio_default"
            assert (task.mysql_conn_id, task.customerio_conn_id) == ("mysql_default", "customerio_default")


def run_examples(dags: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Run every example DAG once, now; return each sync task's report (all must succeed)."""
    reports = {}
    for dag_id, task_ids in SYNC_TASKS.items():
        outcome = run_dag(dags[dag_id], datetime.now(timezone.utc))
        assert outcome.state == "success", (dag_id, outcome.task_states)
        for task_id in task_ids:
            reports[task_id] = outcome.xcom(task_id)
    return reports


def expected_people(db: Any, deleted_users: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The people the examples should leave: users (mirrored), merged by email with newsletter signups."""
    people: dict[str, dict[str, Any]] = {email: dict(person) for email, person in deleted_users.items()}
    rows = db.query(
        "SELECT id, email, first_name, plan, UNIX_TIMESTAMP(created_at), UNIX_TIMESTAMP(deleted_at) FROM users"
    )
    for user_id, email, first_name, plan, created_at, deleted_at in rows:
        attributes = {"first_name": first_name, "plan": plan, "created_at": created_at, "deleted_at": deleted_at}
        people[email] = {"id": str(user_id), "attributes": present(attributes)}
    for email, first_name, source in db.query("SELECT email, first_name, source FROM newsletter_signups"):
        person = people.setdefault(email, {"id": None, "attributes": {}})
        person["attributes"].update(present({"first_name": first_name, "newsletter_source": source}))
    return people


def present(attributes: dict[str, Any]) -> dict[str, str]:
    """Attributes as the workspace shows them: without the empty ones, every value as text."""
    return {name: str(value) for name, value in attributes.items() if value is not None}


def workspace_people(workspace: WorkspaceEmulator) -> dict[str, dict[str, Any]]:
    return {p["email"]: {"id": p["id"], "attributes": p["attributes"]} for p in workspace.people()}


def workspace_state(workspace: WorkspaceEmulator) -> dict[str, Any]:
    """Companies, memberships and segment members, keyed as the source rows are."""
    emails = {person["cio_id"]: person["email"] for person in workspace.people()}
    return {
        "companies": {item["object_id"]: item["attributes"] for item in workspace.objects()},
        "memberships": {
            (link["person"]["id"], link["object_id"]): link["attributes"] for link in workspace.relationships()
        },
        "segments": {
            segment["name"]: sorted(emails[cio_id] for cio_id in segment["members"]) for segment in workspace.segments()
        },
    }


def source_state(db: Any) -> dict[str, Any]:
    """What the workspace should hold for the same keys, from MySQL."""
    companies = db.query("SELECT id, name, industry, employees FROM companies")
    memberships = db.query("SELECT user_id, company_id, role FROM memberships WHERE NOT removed")
    return {
        "companies": {
            str(company_id): present({"name": name, "industry": industry, "employees": employees})
            for company_id, name, industry, employees in companies
        },
        "memberships": {(str(user), str(company)): present({"role": role}) for user, company, role in memberships},
        "segments": {
            "Newsletter signups": sorted(email for (email,) in db.query("SELECT email FROM newsletter_signups"))
        },
    }


def test_the_example_dags_sync_the_sample_data_then_only_what_changed(
    example_dags: dict[str, Any], mysql_db: Any, workspace: WorkspaceEmulator
) -> None:
    mysql_db.execute(
        *sql_statements(EXAMPLES / "sql" / "schema.sql"), *sql_statements(EXAMPLES / "sql" / "sample_data.sql")
    )

    first = run_examples(example_dags)
    assert {task: report["rows_sent"] for task, report in first.items()} == {
        "sync_people": 6,
        "sync_companies": 3,
        "sync_memberships": 5,
        "sync_signups": 3,
    }
    assert all(report["last_sync_time"] == 0 and report["rows_failed"] == 0 for report in first.values())
    assert workspace_people(workspace) == expected_people(mysql_db, {})
    assert workspace_state(workspace) == source_state(mysql_db)

    barbara = workspace_people(workspace)["barbara@example.com"]
    mysql_db.execute(
        "UPDATE users SET plan = 'team' WHERE id = 1",
        "UPDATE users SET deleted_at = NOW() WHERE id = 3",
        "UPDATE users SET first_name = NULL WHERE id = 4",
        "DELETE FROM users WHERE id = 6",
        "INSERT INTO users (id, email, first_name, plan) VALUES (7, 'hedy@example.com', 'Hedy', 'free')",
        "UPDATE companies SET employees = 300, industry = NULL WHERE id = 102",
        "INSERT INTO companies (id, name, employees) VALUES (104, 'Frequency Hopping GmbH', 8)",
        "INSERT INTO memberships (user_id, company_id, role) VALUES (7, 104, 'founder')",
        "UPDATE memberships SET removed = TRUE WHERE user_id = 3 AND company_id = 101",
        "INSERT INTO newsletter_signups (email, first_name, source) VALUES ('hedy@example.com', NULL, 'launch')",
    )

    second = run_examples(example_dags)
    assert {task: report["rows_sent"] for task, report in second.items()} == {
        "sync_people": 4,
        "sync_companies": 2,
        "sync_memberships": 2,
        "sync_signups": 1,
    }
    assert all(report["last_sync_time"] > 0 and report["rows_failed"] == 0 for report in second.values())
    # Barbara's row was deleted: the incremental query cannot see that, so her person stays as it was.
    assert workspace_people(workspace) == expected_people(mysql_db, {"barbara@example.com": barbara})
    assert workspace_state(workspace) == source_state(mysql_db)
    assert "first_name" not in workspace_people(workspace)["katherine@example.com"]["attributes"]
    assert workspace_people(workspace)["hedy@example.com"]["attributes"]["first_name"] == "Hedy"
