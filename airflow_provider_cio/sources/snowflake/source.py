"""The Snowflake source: a ``snowflake`` connection, read through ``SnowflakeHook``
(``pip install 'airflow-provider-cio[snowflake]'``)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from airflow_provider_cio.sources.snowflake.errors import (
    is_snowflake_connection_error,
    is_snowflake_error,
    snowflake_message,
)

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage

    from airflow_provider_cio.sources.snowflake.stream import SnowflakeQueryStream

MISSING_PROVIDER = (
    "connection {conn_id!r} is a Snowflake connection, and reading Snowflake needs the Snowflake provider, which "
    "is not installed ({error}); pip install 'airflow-provider-cio[snowflake]'"
)


@dataclass(frozen=True)
class SnowflakeSource:
    """The Snowflake reader bound to one connection.

    :param conn_id: the Airflow Snowflake connection.
    :param timezone: the IANA time zone TIMESTAMP_NTZ and DATE values are read in (the operator's ``timezone``).
    :param hook: the connection's ``SnowflakeHook``.
    """

    conn_id: str
    timezone: str
    hook: Any

    @classmethod
    def for_connection(cls, conn_id: str, timezone: str = "UTC") -> SnowflakeSource:
        """The source of a Snowflake connection.

        :raises ValueError: ``apache-airflow-providers-snowflake`` is not installed; the message says what to install.
        """
        try:
            from airflow.providers.snowflake.hooks.snowflake import SnowflakeHook

            import airflow_provider_cio.sources.snowflake.stream  # noqa: F401  (pyarrow and the connector)
        except ImportError as error:
            raise ValueError(MISSING_PROVIDER.format(conn_id=conn_id, error=error)) from None
        return cls(conn_id, timezone, SnowflakeHook(snowflake_conn_id=conn_id))

    @property
    def name(self) -> str:
        """The connection as the task log and messages name it."""
        return f"Snowflake connection {self.conn_id!r}"

    def open_stream(self) -> SnowflakeQueryStream:
        """A stream reading the query's Arrow batches on a new connection of the hook."""
        from airflow_provider_cio.sources.snowflake.stream import SnowflakeQueryStream, decimal_connection

        return SnowflakeQueryStream(partial(decimal_connection, self.hook), self.name, timezone=self.timezone)

    def lineage(self, sql: str) -> OperatorLineage:
        """OpenLineage: the query's tables, as ``SnowflakeHook``'s OpenLineage database info names them."""
        from airflow_provider_cio.sources.dbapi.lineage import dbapi_lineage

        return dbapi_lineage(sql, self.hook, self.conn_id)

    def is_source_error(self, error: BaseException) -> bool:
        """Whether an exception is the Snowflake connector's."""
        return is_snowflake_error(error)

    def source_message(self, error: BaseException) -> str:
        """A connector error as a sentence naming the connection."""
        return snowflake_message(error, self.conn_id)

    def source_retry_may_help(self, error: BaseException) -> bool:
        """Whether a connector error is about the connection rather than the query."""
        return is_snowflake_connection_error(error)
