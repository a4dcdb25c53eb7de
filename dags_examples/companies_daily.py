"""Every day, sync the companies (objects), then the memberships that relate people to them.

**Objects first.** `sync_companies` adds or updates one object of type 1 per changed row of
`companies` (`sql/companies.sql`). `id AS object_id` names the object, and the other columns become
its attributes.

**Then relationships.** `sync_memberships` (`sql/memberships.sql`) relates people (`user_id AS id`) to
companies (`company_id AS object_id`). `role` becomes a relationship attribute, and `removed AS
deleted` removes the relationship when a membership is marked removed. It runs after the objects so
that every company it names already exists. The people come from the `cio_people_hourly` example, and
a membership of a person the workspace does not know yet is a failed row. The next run sends it again,
because a failed row keeps `last_sync_time` where it was.

Each task has its own `last_sync_time`: the start of the last run in which *that task* succeeded. If
the companies fail, the memberships do not run (`upstream_failed`) and also catch up next time.

**One sync at a time.** `max_active_runs=1` and `catchup=False`. Both tasks use the workspace's one-slot
pool (`cio-retl create-pool` before the first run, or the tasks wait in `scheduled` forever).

Tables: `sql/schema.sql`. Connections: `mysql_default`, `customerio_default`.
"""

from __future__ import annotations

# [START companies_daily]
from datetime import datetime, timezone

from airflow.sdk import DAG

from airflow_provider_cio.operators.relationships import RelationshipOperator
from airflow_provider_cio.operators.reverse_etl import MySQLReverseETLOperator
from airflow_provider_cio.pools import workspace_pool

with DAG(
    dag_id="cio_companies_daily",
    schedule="@daily",
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["customerio", "reverse-etl"],
):
    companies = MySQLReverseETLOperator(
        task_id="sync_companies",
        sql="sql/companies.sql",
        import_type="objects",
        object_type_id="1",
        empty_values="delete",
        pool=workspace_pool("customerio_default"),
    )
    # [START sync_memberships]
    memberships = RelationshipOperator(
        task_id="sync_memberships",
        sql="sql/memberships.sql",
        identify_by="id",
        object_type_id="1",
        pool=workspace_pool("customerio_default"),
    )
    # [END sync_memberships]
    companies >> memberships
# [END companies_daily]
