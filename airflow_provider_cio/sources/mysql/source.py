"""The MySQL source bound to one connection: its stream, its lineage and what its driver's errors mean."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from airflow_provider_cio.sources.mysql.errors import is_connection_error, is_mysql_error, mysql_message
from airflow_provider_cio.sources.mysql.stream import MySQLQueryStream

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage
    from airflow.sdk import Connection


@dataclass(frozen=True)
class MySQLSource:
    """The MySQL source on a connection read through ``MySqlHook`` (the ``mysql`` connection type).

    :param conn_id: the Airflow MySQL connection.
    """

    conn_id: str

    @property
    def name(self) -> str:
        """The connection as the task log and messages name it."""
        return f"MySQL connection {self.conn_id!r}"

    def open_stream(self) -> MySQLQueryStream:
        """A read-only transaction with a server-side cursor, reading the server's text (docs/values.md)."""
        return MySQLQueryStream(self.conn_id)

    def lineage(self, sql: str) -> OperatorLineage:
        """OpenLineage: the query's tables (namespace ``mysql://<host>:<port>``, name ``<database>.<table>``)."""
        from airflow.providers.mysql.hooks.mysql import MySqlHook

        from airflow_provider_cio.sources.dbapi.lineage import dbapi_lineage

        # A MySQL "database" is what the parser calls a schema: unqualified tables are in the connection's
        # database (MySqlHook's own default schema is None, which would leave them unqualified).
        return dbapi_lineage(sql, MySqlHook(mysql_conn_id=self.conn_id), self.conn_id, default_schema=_database)

    def is_source_error(self, error: BaseException) -> bool:
        """Whether an exception is the MySQL driver's."""
        return is_mysql_error(error)

    def source_message(self, error: BaseException) -> str:
        """A MySQL error as a sentence naming the connection and saying what to fix."""
        return mysql_message(error, self.conn_id)

    def source_retry_may_help(self, error: BaseException) -> bool:
        """Whether a MySQL error is about the connection (a retry may help) rather than the query."""
        return is_connection_error(error)


def _database(connection: Connection) -> str | None:
    return connection.schema
