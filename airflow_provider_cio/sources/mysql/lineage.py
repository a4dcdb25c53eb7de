"""OpenLineage of a query on MySQL: the tables it reads, as Airflow's SQL parser names them.

Imported only when Airflow's OpenLineage listener asks; only the query text is read, no query runs.
"""

from __future__ import annotations

from airflow.providers.openlineage.extractors import OperatorLineage
from airflow.providers.openlineage.sqlparser import SQLParser


def mysql_lineage(sql: str, mysql_conn_id: str) -> OperatorLineage:
    """The tables a query reads, as Airflow's SQL parser names them for the MySQL connection."""
    from airflow.providers.mysql.hooks.mysql import MySqlHook

    hook = MySqlHook(mysql_conn_id=mysql_conn_id)
    connection = hook.get_connection(mysql_conn_id)
    # A MySQL "database" is what the parser calls a schema: unqualified tables are in the connection's.
    parser = SQLParser(dialect=hook.get_openlineage_database_dialect(connection), default_schema=connection.schema)
    return parser.generate_openlineage_metadata_from_sql(
        sql=sql, hook=hook, database_info=hook.get_openlineage_database_info(connection), use_connection=False
    )
