"""The PostgreSQL source bound to one connection: its stream, its lineage and what psycopg's errors mean.

Needs ``apache-airflow-providers-postgres`` (``pip install 'airflow-provider-cio[postgres]'``): without it, making
the source fails saying so. The stream (psycopg, ``PostgresHook``) is imported when the source is made.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from airflow_provider_cio.sources.postgres.errors import (
    is_postgres_connection_error,
    is_postgres_error,
    postgres_message,
)

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage
    from airflow.sdk import Connection

    from airflow_provider_cio.sources.postgres.stream import PostgresQueryStream

MISSING_PROVIDER = (
    "connection {conn_id!r} is a PostgreSQL connection, and reading PostgreSQL needs the Postgres provider, which "
    "is not installed ({error}); pip install 'airflow-provider-cio[postgres]'"
)


@dataclass(frozen=True)
class PostgresSource:
    """The PostgreSQL source on a connection read through ``PostgresHook`` (``apache-airflow-providers-postgres``).

    :param conn_id: the Airflow Postgres connection.
    :param timezone: the IANA time zone naive ``timestamp`` and ``date`` values are read in.
    :param statement_timeout: seconds each statement may run on the server; None keeps the server's setting.
    :raises ValueError: ``apache-airflow-providers-postgres`` is not installed; the message says what to install.
    """

    conn_id: str
    timezone: str = "UTC"
    statement_timeout: float | None = None

    def __post_init__(self) -> None:
        try:
            from airflow.providers.postgres.hooks.postgres import PostgresHook  # noqa: F401

            import airflow_provider_cio.sources.postgres.stream  # noqa: F401  (psycopg)
        except ImportError as error:
            raise ValueError(MISSING_PROVIDER.format(conn_id=self.conn_id, error=error)) from None

    @property
    def name(self) -> str:
        """The connection as the task log and messages name it."""
        return f"PostgreSQL connection {self.conn_id!r}"

    def open_stream(self) -> PostgresQueryStream:
        """A named (server-side) cursor in a read-only transaction."""
        from airflow_provider_cio.sources.postgres.stream import PostgresQueryStream

        return PostgresQueryStream(self.conn_id, timezone=self.timezone, statement_timeout=self.statement_timeout)

    def lineage(self, sql: str) -> OperatorLineage:
        """OpenLineage: the query's tables (namespace ``postgres://<host>:<port>``, name
        ``<database>.<schema>.<table>``; unqualified tables in ``public``)."""
        from airflow.providers.postgres.hooks.postgres import PostgresHook

        from airflow_provider_cio.sources.dbapi.lineage import dbapi_lineage

        # PostgresHook's own default schema asks the server (SELECT CURRENT_SCHEMA): lineage runs no query.
        return dbapi_lineage(sql, PostgresHook(postgres_conn_id=self.conn_id), self.conn_id, default_schema=_public)

    def is_source_error(self, error: BaseException) -> bool:
        """Whether an exception is psycopg's."""
        return is_postgres_error(error)

    def source_message(self, error: BaseException) -> str:
        """A psycopg error as a sentence naming the connection and saying what to fix."""
        return postgres_message(error, self.conn_id)

    def source_retry_may_help(self, error: BaseException) -> bool:
        """Whether a psycopg error is about the connection (a retry may help) rather than the query."""
        return is_postgres_connection_error(error)


def _public(connection: Connection) -> str:
    return "public"
