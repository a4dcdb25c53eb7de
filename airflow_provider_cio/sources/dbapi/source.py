"""The generic DB-API source: any Airflow connection whose hook is a common.sql ``DbApiHook``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_cio.sources.dbapi.errors import dbapi_message, is_dbapi_connection_error, is_dbapi_error
from airflow_provider_cio.sources.dbapi.stream import READ_ONLY_HOOK_PARAMS, DbApiQueryStream

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage


EXTRAS: Mapping[str, str] = {"duckdb": "duckdb", "sqlite": "sqlite"}
"""The connection types read by the generic reader that have an extra of this package, and its name."""


def install_advice(conn_type: str) -> str:
    """What to install for a connection type whose hook cannot be loaded: its extra, or else its provider."""
    if conn_type in EXTRAS:
        return f"pip install 'airflow-provider-cio[{EXTRAS[conn_type]}]'"
    return f"install the Airflow provider of connection type {conn_type!r}"


@dataclass(frozen=True)
class DbApiSource:
    """The generic reader bound to one connection.

    :param conn_id: the Airflow connection.
    :param conn_type: its type (``sqlite``, ``duckdb``, ...).
    :param kind: how messages name its database (``SQLite``).
    :param hook: the connection's hook, opened read-only where the driver allows.
    """

    conn_id: str
    conn_type: str
    kind: str
    hook: Any

    @classmethod
    def for_connection(cls, conn_id: str, conn_type: str, kind: str) -> DbApiSource:
        """The source of a connection, with its hook as ``SQLExecuteQueryOperator`` gets it.

        :raises ValueError: the hook cannot be made (its provider is not installed) or is not a ``DbApiHook``.
        """
        from airflow.providers.common.sql.hooks.sql import DbApiHook
        from airflow.sdk import BaseHook

        try:
            hook = BaseHook.get_connection(conn_id).get_hook(hook_params=dict(READ_ONLY_HOOK_PARAMS.get(conn_type, {})))
        except Exception as error:
            raise ValueError(
                f"connection {conn_id!r} (type {conn_type!r}) has no hook this Airflow can load ({error}); "
                + install_advice(conn_type)
            ) from None
        if not isinstance(hook, DbApiHook):
            raise ValueError(
                f"connection {conn_id!r} (type {conn_type!r}) is not a SQL connection: its hook "
                f"{type(hook).__name__} is not a common.sql DbApiHook, so the sync cannot run a query on it. Give "
                "conn_id a database connection (mysql, postgres, sqlite, duckdb, or any type whose hook is a DbApiHook)"
            )
        return cls(conn_id, conn_type, kind, hook)

    @property
    def name(self) -> str:
        """The connection as the task log and messages name it."""
        return f"{self.kind} connection {self.conn_id!r}"

    def open_stream(self) -> DbApiQueryStream:
        """A stream reading with ``fetchmany`` on a new connection of the hook."""
        return DbApiQueryStream(self.hook, self.conn_type, self.name)

    def lineage(self, sql: str) -> OperatorLineage:
        """OpenLineage: the query's tables, as the hook's OpenLineage database info names them."""
        from airflow_provider_cio.sources.dbapi.lineage import dbapi_lineage

        return dbapi_lineage(sql, self.hook, self.conn_id)

    def is_source_error(self, error: BaseException) -> bool:
        """Whether an exception is a DB-API driver's."""
        return is_dbapi_error(error)

    def source_message(self, error: BaseException) -> str:
        """A driver error as a sentence naming the connection."""
        return dbapi_message(error, self.name)

    def source_retry_may_help(self, error: BaseException) -> bool:
        """Whether a driver error is about the connection rather than the query."""
        return is_dbapi_connection_error(error)
