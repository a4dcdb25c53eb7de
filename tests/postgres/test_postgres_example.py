"""dags_examples/postgres_people.py against a real PostgreSQL: the first run sends every account, the next
only what changed."""

from __future__ import annotations

import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from airflow_provider_cio.testing.dagruns import run_dag

pytestmark = pytest.mark.usefixtures("airflow_db")

EXAMPLE = Path(__file__).resolve().parents[2] / "dags_examples" / "postgres_people.py"
ACCOUNTS = (
    "CREATE TABLE accounts (id int PRIMARY KEY, email text, plan text, balance numeric(12, 2), "
    "signed_up_at timestamptz, preferences jsonb, tags text[], updated_at timestamptz NOT NULL DEFAULT now())",
    "INSERT INTO accounts VALUES (1, 'ada@example.com', 'pro', 1234.50, '2025-01-02 03:04:05+00', "
    "'{\"lang\": \"en\"}', ARRAY['beta'], '2020-01-01'), (2, 'grace@example.com', 'free', 0, NULL, NULL, NULL, "
    "'2020-01-01')",
)


def test_the_postgres_example_syncs_accounts_then_only_what_changed(postgres_db, workspace) -> None:
    from airflow.dag_processing.dagbag import DagBag

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        bag = DagBag(dag_folder=str(EXAMPLE))
    assert bag.import_errors == {} and bag.captured_warnings == {}
    dag = bag.dags["cio_postgres_people"]
    dag.get_task("sync_accounts").activity_settle_seconds = 0
    postgres_db.execute(*ACCOUNTS)
    now = datetime.now(timezone.utc)

    first = run_dag(dag, now)
    assert first.state == "success", first.task_states
    assert {p["id"]: p["attributes"] for p in workspace.people()}["1"] == {
        "plan": "pro",
        "balance": "1234.50",
        "signed_up_at": "1735787045",
        "preferences": {"lang": "en"},
        "tags": ["beta"],
    }
    postgres_db.execute("UPDATE accounts SET plan = 'team', updated_at = now() + interval '1 hour' WHERE id = 2")

    second = run_dag(dag, now + timedelta(hours=1))
    assert second.state == "success", second.task_states
    assert second.xcom("sync_accounts")["rows_sent"] == 1
    assert workspace.person(id="2")["attributes"] == {
        "plan": "team",
        "balance": "0.00",
    }  # numeric(12, 2) keeps its scale
