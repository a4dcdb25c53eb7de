"""Which reader serves an Airflow connection: the seam between the sync operators and the sources.

The connection's type picks the source (:data:`SOURCES`): ``mysql`` the MySQL source, ``postgres`` the
PostgreSQL source, any other type whose hook is a common.sql ``DbApiHook`` the generic DB-API reader
(:mod:`~airflow_provider_cio.sources.dbapi`). ``snowflake`` gets the Snowflake source (:mod:`~.snowflake`).
Each source is a small object the operator holds (composition): its stream, its lineage and
what its driver's errors mean.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage

KIND_NAMES: Mapping[str, str] = {
    "mysql": "MySQL",
    "postgres": "PostgreSQL",
    "sqlite": "SQLite",
    "duckdb": "DuckDB",
    "snowflake": "Snowflake",
    "mssql": "SQL Server",
    "gcpbigquery": "BigQuery",
    "redshift": "Redshift",
}
"""How messages name the database of a connection type."""


@dataclass(frozen=True)
class SourceOptions:
    """The operator's settings a source reads.

    :param timezone: the IANA time zone naive date and time values are read in (PostgreSQL's loaders).
    :param statement_timeout: PostgreSQL only: seconds each statement may run on the server.
    """

    timezone: str = "UTC"
    statement_timeout: float | None = None


class Source(Protocol):
    """One source bound to one connection: what a sync operator asks of it."""

    @property
    def conn_id(self) -> str:
        """The Airflow connection's id."""
        ...

    @property
    def name(self) -> str:
        """The connection as the task log and messages name it, e.g. ``SQLite connection 'analytics'``."""
        ...

    def open_stream(self) -> Any:
        """A new stream for one query (``execute``, ``cancel``, ``close``: ``operators.run.QueryStream``)."""
        ...

    def lineage(self, sql: str) -> OperatorLineage:
        """OpenLineage: the tables the rendered query reads."""
        ...

    def is_source_error(self, error: BaseException) -> bool:
        """Whether an exception is the source driver's."""
        ...

    def source_message(self, error: BaseException) -> str:
        """A driver error as a sentence naming the connection and saying what to fix."""
        ...

    def source_retry_may_help(self, error: BaseException) -> bool:
        """Whether a driver error is about the connection (a retry may help) rather than the query."""
        ...


@dataclass(frozen=True)
class MySQLSourceBinding:
    """The MySQL source on a ``mysql`` connection."""

    conn_id: str

    @property
    def name(self) -> str:
        return f"MySQL connection {self.conn_id!r}"

    def open_stream(self) -> Any:
        from airflow_provider_cio.sources.mysql.stream import MySQLQueryStream

        return MySQLQueryStream(self.conn_id)

    def lineage(self, sql: str) -> OperatorLineage:
        from airflow_provider_cio.sources.mysql.lineage import mysql_lineage

        return mysql_lineage(sql, self.conn_id)

    def is_source_error(self, error: BaseException) -> bool:
        from airflow_provider_cio.sources.mysql.errors import is_mysql_error

        return is_mysql_error(error)

    def source_message(self, error: BaseException) -> str:
        from airflow_provider_cio.sources.mysql.errors import mysql_message

        return mysql_message(error, self.conn_id)

    def source_retry_may_help(self, error: BaseException) -> bool:
        from airflow_provider_cio.sources.mysql.errors import is_connection_error

        return is_connection_error(error)


@dataclass(frozen=True)
class PostgresSourceBinding:
    """The PostgreSQL source on a ``postgres`` connection (``apache-airflow-providers-postgres``)."""

    conn_id: str
    options: SourceOptions

    @property
    def name(self) -> str:
        return f"PostgreSQL connection {self.conn_id!r}"

    def open_stream(self) -> Any:
        from airflow_provider_cio.sources.postgres.stream import PostgresQueryStream

        return PostgresQueryStream(
            self.conn_id, timezone=self.options.timezone, statement_timeout=self.options.statement_timeout
        )

    def lineage(self, sql: str) -> OperatorLineage:
        from airflow_provider_cio.sources.postgres.lineage import postgres_lineage

        return postgres_lineage(sql, self.conn_id)

    def is_source_error(self, error: BaseException) -> bool:
        from airflow_provider_cio.sources.postgres.errors import is_postgres_error

        return is_postgres_error(error)

    def source_message(self, error: BaseException) -> str:
        from airflow_provider_cio.sources.postgres.errors import postgres_message

        return postgres_message(error, self.conn_id)

    def source_retry_may_help(self, error: BaseException) -> bool:
        from airflow_provider_cio.sources.postgres.errors import is_postgres_connection_error

        return is_postgres_connection_error(error)


SourceFactory = Callable[[str, str, SourceOptions], Source]
"""Makes the source of a connection: ``(conn_id, conn_type, options)``."""


def _mysql(conn_id: str, conn_type: str, options: SourceOptions) -> Source:
    return MySQLSourceBinding(conn_id)


def _postgres(conn_id: str, conn_type: str, options: SourceOptions) -> Source:
    return PostgresSourceBinding(conn_id, options)


def _dbapi(conn_id: str, conn_type: str, options: SourceOptions) -> Source:
    from airflow_provider_cio.sources.dbapi.source import DbApiSource

    return DbApiSource.for_connection(conn_id, conn_type, KIND_NAMES.get(conn_type, conn_type))


def _snowflake(conn_id: str, conn_type: str, options: SourceOptions) -> Source:
    from airflow_provider_cio.sources.snowflake.source import SnowflakeSource

    return SnowflakeSource.for_connection(conn_id, options.timezone)


SOURCES: Mapping[str, SourceFactory] = {"mysql": _mysql, "postgres": _postgres, "snowflake": _snowflake}
"""The connection types with a source of their own; any other goes to the generic DB-API reader."""


def source_for(conn_id: str, options: SourceOptions | None = None) -> Source:
    """The source of an Airflow connection, chosen by its connection type.

    :raises ValueError: the connection's hook is not a SQL (common.sql ``DbApiHook``) hook, or its provider
        is not installed; the message names the connection.
    """
    from airflow.sdk import BaseHook

    conn_type = BaseHook.get_connection(conn_id).conn_type or ""
    return SOURCES.get(conn_type, _dbapi)(conn_id, conn_type, options or SourceOptions())
