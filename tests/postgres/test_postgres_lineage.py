"""OpenLineage of a PostgreSQL sync: its input tables are PostgreSQL's (not the MySQL connection's)."""

from __future__ import annotations

import pytest

from airflow_provider_cio.operators.postgres import PostgresReverseETLOperator

pytestmark = pytest.mark.usefixtures("airflow_db")


def test_the_inputs_are_the_postgres_tables_the_query_reads(postgres_db, workspace) -> None:
    operator = PostgresReverseETLOperator(
        task_id="sync", sql="SELECT u.id, a.plan FROM users u JOIN billing.accounts a ON a.id = u.account_id"
    )
    at_start = operator.get_openlineage_facets_on_start()

    server = postgres_db.server
    assert sorted((d.namespace, d.name) for d in at_start.inputs) == [
        (f"postgres://{server.host}:{server.port}", f"{postgres_db.name}.billing.accounts"),
        (f"postgres://{server.host}:{server.port}", f"{postgres_db.name}.public.users"),
    ]
    assert [d.name for d in at_start.outputs] == ["people"]
