"""OpenLineage of a query: its tables, named as the hook's OpenLineage database info says. Every source's lineage.

The one code path of every source (MySQL, PostgreSQL, the generic reader): the hook of the source's connection
gives the namespace and naming (``get_openlineage_database_info``) and the dialect; Airflow's SQL parser reads
the query's tables. Only the query text is read: no query runs on the database. Sources differ only in the
schema of unqualified tables (``default_schema``): the generic reader takes its hook's, MySQL the connection's
database (``MySqlHook`` says None), PostgreSQL ``public`` (``PostgresHook`` would ask the server).

Imported only when Airflow's OpenLineage listener asks. A hook without OpenLineage database info (the
common.sql default) gives no inputs: the query's tables cannot be named without it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from airflow.providers.openlineage.extractors import OperatorLineage
from airflow.providers.openlineage.sqlparser import SQLParser

if TYPE_CHECKING:
    from airflow.sdk import Connection


def dbapi_lineage(
    sql: str, hook: Any, conn_id: str, *, default_schema: Callable[[Connection], str | None] | None = None
) -> OperatorLineage:
    """The tables ``sql`` reads, as Airflow's SQL parser names them for the hook's connection.

    :param hook: the connection's common.sql ``DbApiHook``.
    :param default_schema: the schema of unqualified tables, given the connection; default: the hook's
        ``get_openlineage_default_schema()``.
    """
    connection = hook.get_connection(conn_id)
    database_info = hook.get_openlineage_database_info(connection)
    if database_info is None:
        return OperatorLineage()
    parser = SQLParser(
        dialect=hook.get_openlineage_database_dialect(connection),
        default_schema=default_schema(connection) if default_schema else hook.get_openlineage_default_schema(),
    )
    return parser.generate_openlineage_metadata_from_sql(
        sql=sql, hook=hook, database_info=database_info, use_connection=False
    )
