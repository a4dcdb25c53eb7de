"""The DuckDB source: a ``duckdb`` connection, read through ``DuckDBHook`` in Arrow batches
(``pip install 'airflow-provider-cio[duckdb]'``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_cio.sources.dbapi.errors import dbapi_message, is_dbapi_connection_error, is_dbapi_error

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage

    from airflow_provider_cio.sources.duck.stream import DuckDBQueryStream

MISSING_PROVIDER = (
    "connection {conn_id!r} is a DuckDB connection, and reading DuckDB needs the DuckDB provider, which is not "
    "installed ({error}); pip install 'airflow-provider-cio[duckdb]'"
)


@dataclass(frozen=True)
class DuckDBSource:
    """The DuckDB reader bound to one connection.

    :param conn_id: the Airflow DuckDB connection.
    :param timezone: the IANA time zone TIMESTAMP and DATE values are read in (the operator's ``timezone``).
    :param hook: the connection's ``DuckDBHook``, opening the database read-only.
    """

    conn_id: str
    timezone: str
    hook: Any

    @classmethod
    def for_connection(cls, conn_id: str, timezone: str = "UTC") -> DuckDBSource:
        """The source of a DuckDB connection.

        :raises ValueError: ``apache-airflow-providers-duckdb`` is not installed; the message says what to install.
        """
        try:
            from airflow.providers.duckdb.hooks.duckdb import DuckDBHook

            import airflow_provider_cio.sources.duck.stream  # noqa: F401  (pyarrow)
        except ImportError as error:
            raise ValueError(MISSING_PROVIDER.format(conn_id=conn_id, error=error)) from None
        return cls(conn_id, timezone, DuckDBHook(duckdb_conn_id=conn_id, read_only=True))

    @property
    def name(self) -> str:
        """The connection as the task log and messages name it."""
        return f"DuckDB connection {self.conn_id!r}"

    def open_stream(self) -> DuckDBQueryStream:
        """A stream reading the query's Arrow record batches on a new connection of the hook."""
        from airflow_provider_cio.sources.duck.stream import DuckDBQueryStream

        return DuckDBQueryStream(self.hook.get_conn, self.name, timezone=self.timezone)

    def lineage(self, sql: str) -> OperatorLineage:
        """OpenLineage: the query's tables, as the hook's OpenLineage database info names them."""
        from airflow_provider_cio.sources.dbapi.lineage import dbapi_lineage

        return dbapi_lineage(sql, self.hook, self.conn_id)

    def is_source_error(self, error: BaseException) -> bool:
        """Whether an exception is DuckDB's (its errors derive from ``duckdb.Error``, as DB-API errors do)."""
        return is_dbapi_error(error)

    def source_message(self, error: BaseException) -> str:
        """A DuckDB error as a sentence naming the connection (a write the read-only database refused says so)."""
        return dbapi_message(error, self.name)

    def source_retry_may_help(self, error: BaseException) -> bool:
        """Whether a DuckDB error is about the connection rather than the query."""
        return is_dbapi_connection_error(error)
