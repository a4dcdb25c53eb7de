"""The sync operators on any Airflow SQL connection: ``conn_id`` names it, its connection type picks the reader.

``mysql`` gets the MySQL source, ``postgres`` the PostgreSQL source, any other connection whose hook is a
common.sql ``DbApiHook`` (SQLite, DuckDB, and the others ``SQLExecuteQueryOperator`` runs on) the generic
DB-API reader; Snowflake goes through the generic reader until it gets a reader of its own. docs/sources.md
says what each reader does, and what read-only means per driver.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow_provider_cio.operators.relationships import RelationshipOperator
from airflow_provider_cio.operators.reverse_etl import MySQLReverseETLOperator
from airflow_provider_cio.sources.registry import Source, SourceOptions, source_for

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage

    from airflow_provider_cio.operators.run import QueryStream


class SQLSource:
    """The reader of a sync operator chosen by the connection's type (mixed in before the operator class, so
    that it takes the place of :class:`~airflow_provider_cio.operators.mysql.MySQLSource`).

    The source is looked up when the task runs, never when the DAG is parsed.

    :param conn_id: the Airflow connection to read from.
    """

    conn_id: str
    sql: str
    timezone: str

    def _use_connection(self, conn_id: str) -> None:
        """Keep the source parameter (Airflow wraps each operator class's own ``__init__``)."""
        self.conn_id = conn_id

    @cached_property
    def source(self) -> Source:
        """The source bound to ``conn_id`` (:func:`~airflow_provider_cio.sources.registry.source_for`)."""
        return source_for(self.conn_id, SourceOptions(timezone=self.timezone))

    def open_stream(self) -> QueryStream:
        """The stream the query runs in."""
        stream: QueryStream = self.source.open_stream()
        return stream

    def source_lineage(self) -> OperatorLineage:
        """OpenLineage: the tables the rendered query reads, named for the connection."""
        return self.source.lineage(self.sql)

    def source_conn_id(self) -> str:
        """The id of the connection the query runs on."""
        return self.conn_id

    def source_name(self) -> str:
        """The source connection, as the task log names it."""
        return self.source.name

    def is_source_error(self, error: BaseException) -> bool:
        """Whether an exception is the source driver's."""
        return self.source.is_source_error(error)

    def source_message(self, error: BaseException) -> str:
        """A source driver error as a sentence naming the connection and saying what to fix."""
        return self.source.source_message(error)

    def source_retry_may_help(self, error: BaseException) -> bool:
        """Whether a source driver error is about the connection (a retry may help) rather than the query."""
        return self.source.source_retry_may_help(error)


def _refuse_other_conn_ids(kwargs: dict[str, Any]) -> None:
    for name in ("mysql_conn_id", "postgres_conn_id"):
        if name in kwargs:
            raise TypeError(f"this operator reads conn_id (any SQL connection); {name} does not apply")


class SQLReverseETLOperator(SQLSource, MySQLReverseETLOperator):
    """Add or update people or objects in a Customer.io workspace from a query on any Airflow SQL connection.

    The same DAG reads MySQL, PostgreSQL, SQLite, DuckDB or any database whose Airflow hook is a common.sql
    ``DbApiHook`` by changing only ``conn_id``: the connection's type picks the reader (docs/sources.md).
    Everything but the source is :class:`~airflow_provider_cio.operators.reverse_etl.MySQLReverseETLOperator`:
    ``import_type``, ``identify_by``, ``sync_mode``, segments, ``on_suppressed``, the report and the error CSV.
    Write ``{{ last_sync_time }}`` (Unix seconds) in the query as the database compares it.

    .. code-block:: python

        SQLReverseETLOperator(
            task_id="sync_people",
            sql="SELECT id, email, plan FROM users WHERE updated_at >= {{ last_sync_time }}",
            conn_id="analytics_duckdb",
            pool=workspace_pool("customerio_default"),
        )

    :param conn_id: the Airflow connection to read from (default ``mysql_default``).

    The other parameters are those of the MySQL operator, without ``mysql_conn_id``.
    """

    def __init__(self, *, conn_id: str = "mysql_default", **kwargs: Any) -> None:
        _refuse_other_conn_ids(kwargs)
        super().__init__(**kwargs)
        self._use_connection(conn_id)


class SQLRelationshipOperator(SQLSource, RelationshipOperator):
    """Add, update or remove relationships between people and objects from a query on any Airflow SQL connection.

    Everything but the source is :class:`~airflow_provider_cio.operators.relationships.RelationshipOperator`;
    the connection's type picks the reader (docs/sources.md). A ``deleted`` column may be a boolean, 1/0 or
    ``'true'``/``'false'``.

    .. code-block:: python

        SQLRelationshipOperator(
            task_id="sync_memberships",
            sql="SELECT person_id AS id, company_id AS object_id, removed AS deleted FROM memberships "
            "ORDER BY person_id",
            conn_id="analytics_sqlite",
            pool=workspace_pool("customerio_default"),
        )

    :param conn_id: the Airflow connection to read from (default ``mysql_default``).

    The other parameters are those of the MySQL operator, without ``mysql_conn_id``.
    """

    def __init__(self, *, conn_id: str = "mysql_default", **kwargs: Any) -> None:
        _refuse_other_conn_ids(kwargs)
        super().__init__(**kwargs)
        self._use_connection(conn_id)
