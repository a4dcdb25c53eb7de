"""Which reader serves an Airflow connection: the seam between the sync operators and the sources.

The connection's type picks the source (:data:`SOURCES`): ``mysql`` the MySQL source, ``postgres`` the
PostgreSQL source, any other type whose hook is a common.sql ``DbApiHook`` the generic DB-API reader
(:mod:`~airflow_provider_cio.sources.dbapi`); ``snowflake`` gets the Snowflake source (:mod:`~.snowflake`),
``duckdb`` the DuckDB source (:mod:`~.duck`).
Each source is a small object the operator holds (composition), built when the task runs: its stream, its
lineage and what its driver's errors mean. Each lives in its own package (``sources/mysql/source.py``,
``sources/postgres/source.py``, ``sources/snowflake/source.py``, ``sources/duck/source.py``,
``sources/dbapi/source.py``), imported only when a connection needs it, so that a DAG never imports a driver it
does not read with.
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


SourceFactory = Callable[[str, str, SourceOptions], Source]
"""Makes the source of a connection: ``(conn_id, conn_type, options)``."""


def _mysql(conn_id: str, conn_type: str, options: SourceOptions) -> Source:
    from airflow_provider_cio.sources.mysql.source import MySQLSource

    return MySQLSource(conn_id)


def _postgres(conn_id: str, conn_type: str, options: SourceOptions) -> Source:
    from airflow_provider_cio.sources.postgres.source import PostgresSource

    return PostgresSource(conn_id, timezone=options.timezone, statement_timeout=options.statement_timeout)


def _dbapi(conn_id: str, conn_type: str, options: SourceOptions) -> Source:
    from airflow_provider_cio.sources.dbapi.source import DbApiSource

    return DbApiSource.for_connection(conn_id, conn_type, KIND_NAMES.get(conn_type, conn_type))


def _duckdb(conn_id: str, conn_type: str, options: SourceOptions) -> Source:
    from airflow_provider_cio.sources.duck.source import DuckDBSource

    return DuckDBSource.for_connection(conn_id, options.timezone)


def _snowflake(conn_id: str, conn_type: str, options: SourceOptions) -> Source:
    from airflow_provider_cio.sources.snowflake.source import SnowflakeSource

    return SnowflakeSource.for_connection(conn_id, options.timezone)


SOURCES: Mapping[str, SourceFactory] = {
    "mysql": _mysql,
    "postgres": _postgres,
    "snowflake": _snowflake,
    "duckdb": _duckdb,
}
"""The connection types with a source of their own; any other goes to the generic DB-API reader."""


def source_for(conn_id: str, options: SourceOptions | None = None, kind: str | None = None) -> Source:
    """The source of an Airflow connection, chosen by its connection type or pinned by ``kind``.

    Call it when the task runs, never when the DAG is parsed: it reads the connection (unless ``kind`` is given).

    :param options: the operator's settings the source reads.
    :param kind: read with this connection type's source (a key of :data:`SOURCES`, e.g. ``mysql``) whatever the
        connection's type, as ``MySQLReverseETLOperator`` and the PostgreSQL operators do; None: the connection's
        type picks.
    :raises ValueError: the connection's hook is not a SQL (common.sql ``DbApiHook``) hook, or its provider
        is not installed; the message names the connection.
    """
    conn_type = kind or connection_type(conn_id)
    return SOURCES.get(conn_type, _dbapi)(conn_id, conn_type, options or SourceOptions())


def connection_type(conn_id: str) -> str:
    """The type of an Airflow connection (``mysql``, ``sqlite``, ...; empty when it has none).

    :raises airflow.sdk.exceptions.AirflowNotFoundException: no connection has this id.
    """
    from airflow.sdk import BaseHook

    return BaseHook.get_connection(conn_id).conn_type or ""
