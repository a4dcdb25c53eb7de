"""Every hour, mirror users, companies, memberships and a "Team plan" segment: deletions included.

**Mirror mode.** Each query returns the whole set the workspace should hold, with no
`{{ last_sync_time }}` filter. Each run compares every row with the snapshot of its last successful
run and sends only rows that are new or changed; unchanged rows are counted (`rows_unchanged`) and
not sent. Rows that left a query are handled as `on_removed` says (docs/mirror.md).

- `sync_people`: every current user (`deleted_at IS NULL`), identified by `id`. A user deleted from
  the table, or marked deleted, is left in the workspace (`on_removed="ignore"`, the default for people:
  deleting a profile also deletes its history, so choose `"delete"` or `"suppress"` deliberately).
- `sync_companies`: every company, as objects of type 1 (`on_removed="ignore"`).
- `sync_memberships`: every current membership. A membership row deleted in MySQL (or marked
  `removed`) deletes the relationship in the workspace (`on_removed="delete"`, the default for
  relationships). No `deleted` column is needed.
- `sync_team_segment`: the users on the team plan, kept equal to the manual segment "Team plan": users
  who move to the team plan enter it, users who leave it (or are deleted) leave the segment.

**The guard.** `max_removed` (default `"10%"` of the last snapshot; a count here, as the sample tables
are small): a run that would remove more (a query that wrongly returns nothing, say) removes nothing
and fails, saying how many rows it would have removed and how to allow it.

**Snapshots** live under `[customerio] storage_base` (`file://$AIRFLOW_HOME` by default; use `s3://...`
when tasks run on several machines). The full queries run on every run: keep them to the columns you
send, and schedule them less often on big tables.

**One sync at a time.** `max_active_runs=1`, `catchup=False`, and the workspace's one-slot pool
(`cio-retl create-pool` before the first run, or the tasks wait in `scheduled` forever).

Tables: `sql/schema.sql`. Connections: `mysql_default`, `customerio_default` (with its `app_api_key`,
to create the segment).
"""

from __future__ import annotations

from datetime import datetime, timezone

from airflow.sdk import DAG

from airflow_provider_cio.operators.relationships import RelationshipOperator
from airflow_provider_cio.operators.reverse_etl import MySQLReverseETLOperator
from airflow_provider_cio.pools import workspace_pool

POOL = workspace_pool("customerio_default")

with DAG(
    dag_id="cio_mirror_memberships",
    schedule="@hourly",
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["customerio", "reverse-etl", "mirror"],
):
    people = MySQLReverseETLOperator(
        task_id="sync_people",
        sql="SELECT id, email, first_name, plan FROM users WHERE deleted_at IS NULL",
        sync_mode="mirror",
        identify_by="id",
        pool=POOL,
    )
    companies = MySQLReverseETLOperator(
        task_id="sync_companies",
        sql="SELECT id AS object_id, name, industry, employees FROM companies",
        import_type="objects",
        sync_mode="mirror",
        pool=POOL,
    )
    # [START mirror_memberships]
    memberships = RelationshipOperator(
        task_id="sync_memberships",
        sql=(
            "SELECT m.user_id AS id, m.company_id AS object_id, m.role FROM memberships m "
            "JOIN users u ON u.id = m.user_id WHERE NOT m.removed AND u.deleted_at IS NULL ORDER BY m.user_id"
        ),
        sync_mode="mirror",
        max_removed=100,  # at most 100 memberships deleted a run (the default is "10%" of the last snapshot)
        pool=POOL,
    )
    # [END mirror_memberships]
    team_segment = MySQLReverseETLOperator(
        task_id="sync_team_segment",
        sql="SELECT id, email FROM users WHERE plan = 'team' AND deleted_at IS NULL",
        sync_mode="mirror",
        identify_by="id",
        segment_name="Team plan",
        max_removed=50,  # at most 50 people leave the segment a run
        pool=POOL,
    )
    [people, companies] >> memberships
    people >> team_segment
