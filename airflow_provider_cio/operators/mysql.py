"""MySQLSource: the MySQL reader of the sync operators (``BaseSyncOperator``'s default source)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider_cio.sources.mysql.errors import is_connection_error, is_mysql_error, mysql_message
from airflow_provider_cio.sources.mysql.stream import MySQLQueryStream

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage

    from airflow_provider_cio.operators.run import QueryStream


class MySQLSource:
    """The MySQL reader of a sync operator: the query's stream, its lineage and its errors.

    ``PostgresSource`` is mixed in before it to read PostgreSQL instead.
    """

    mysql_conn_id: str
    sql: str

    def open_stream(self) -> QueryStream:
        """The stream the query runs in (``execute``, ``cancel``, ``close``)."""
        return MySQLQueryStream(self.mysql_conn_id)

    def source_lineage(self) -> OperatorLineage:
        """OpenLineage: the tables the rendered query reads, named for the source connection."""
        from airflow_provider_cio.sources.mysql.lineage import mysql_lineage

        return mysql_lineage(self.sql, self.mysql_conn_id)

    def source_conn_id(self) -> str:
        """The id of the connection the query runs on."""
        return self.mysql_conn_id

    def source_name(self) -> str:
        """The source connection, as the task log names it."""
        return f"MySQL connection {self.mysql_conn_id!r}"

    def is_source_error(self, error: BaseException) -> bool:
        """Whether an exception is the source driver's."""
        return is_mysql_error(error)

    def source_message(self, error: BaseException) -> str:
        """A source driver error as a sentence naming the connection and saying what to fix."""
        return mysql_message(error, self.mysql_conn_id)

    def source_retry_may_help(self, error: BaseException) -> bool:
        """Whether a source driver error is about the connection (a retry may help) rather than the query."""
        return is_connection_error(error)
