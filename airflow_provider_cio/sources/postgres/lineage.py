"""OpenLineage of a query on PostgreSQL: the tables it reads, as Airflow's SQL parser names them.

Imported only when Airflow's OpenLineage listener asks; only the query text is read, no query runs.
"""

from __future__ import annotations

from airflow.providers.openlineage.extractors import OperatorLineage
from airflow.providers.openlineage.sqlparser import SQLParser


def postgres_lineage(sql: str, postgres_conn_id: str) -> OperatorLineage:
    """The tables a query reads, as Airflow's SQL parser names them for the Postgres connection
    (namespace ``postgres://<host>:<port>``, name ``<database>.<schema>.<table>``; unqualified tables in
    ``public``). Only the query text is read: no query runs on PostgreSQL."""
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    hook = PostgresHook(postgres_conn_id=postgres_conn_id)
    connection = hook.get_connection(postgres_conn_id)
    parser = SQLParser(dialect=hook.get_openlineage_database_dialect(connection), default_schema="public")
    return parser.generate_openlineage_metadata_from_sql(
        sql=sql, hook=hook, database_info=hook.get_openlineage_database_info(connection), use_connection=False
    )
