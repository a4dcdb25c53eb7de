"""OpenLineage of a query on any ``DbApiHook``: its tables, named as the hook's OpenLineage database info says.

Imported only when Airflow's OpenLineage listener asks. A hook without OpenLineage database info (the
common.sql default) gives no inputs: the query's tables cannot be named without it.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.openlineage.extractors import OperatorLineage
from airflow.providers.openlineage.sqlparser import SQLParser


def dbapi_lineage(sql: str, hook: Any, conn_id: str) -> OperatorLineage:
    """The tables ``sql`` reads, as Airflow's SQL parser names them for the hook's connection; only the query
    text is read, no query runs."""
    connection = hook.get_connection(conn_id)
    database_info = hook.get_openlineage_database_info(connection)
    if database_info is None:
        return OperatorLineage()
    parser = SQLParser(
        dialect=hook.get_openlineage_database_dialect(connection),
        default_schema=hook.get_openlineage_default_schema(),
    )
    return parser.generate_openlineage_metadata_from_sql(
        sql=sql, hook=hook, database_info=database_info, use_connection=False
    )
