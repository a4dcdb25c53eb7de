"""The sync operators bound to the PostgreSQL source: people, objects, events and relationships from a Postgres query.

They are :class:`~airflow_provider_cio.operators.reverse_etl.SQLReverseETLOperator` and
:class:`~airflow_provider_cio.operators.relationships.SQLRelationshipOperator` reading ``postgres_conn_id``
(default ``postgres_default``) with the PostgreSQL source whatever the connection's type, plus
``statement_timeout``: the same parameters, reports, ``last_sync_time``, mirror mode and error reports. Install
``airflow-provider-cio[postgres]``. The query runs as a server-side cursor in a read-only transaction;
docs/postgres.md and docs/values.md say how each PostgreSQL type is sent.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from airflow_provider_cio.operators.base import refuse_other_connections
from airflow_provider_cio.operators.relationships import SQLRelationshipOperator
from airflow_provider_cio.operators.reverse_etl import SQLReverseETLOperator
from airflow_provider_cio.sources.registry import SourceOptions

READS = "postgres_conn_id (a PostgreSQL connection)"


def checked_statement_timeout(statement_timeout: float | None) -> float | None:
    """``statement_timeout`` once checked (at DAG parse time).

    :raises ValueError: it is not a positive number of seconds.
    """
    if statement_timeout is not None and statement_timeout <= 0:
        raise ValueError(f"statement_timeout must be a positive number of seconds, not {statement_timeout}")
    return statement_timeout


class PostgresReverseETLOperator(SQLReverseETLOperator):
    """Add or update people or objects, or send events, in a Customer.io workspace from a PostgreSQL query.

    :class:`~airflow_provider_cio.operators.reverse_etl.SQLReverseETLOperator` bound to the PostgreSQL source:
    ``import_type``, ``identify_by``, ``sync_mode``, segments, ``on_suppressed``, the report and the error
    CSV are its. ``{{ last_sync_time }}`` is Unix seconds: compare it with ``to_timestamp({{ last_sync_time }})``.

    .. code-block:: python

        PostgresReverseETLOperator(
            task_id="sync_people",
            sql="SELECT id, email, plan FROM users WHERE updated_at >= to_timestamp({{ last_sync_time }})",
            import_type="people",
            postgres_conn_id="postgres_default",
            pool=workspace_pool("customerio_default"),
        )

    :param postgres_conn_id: the Airflow Postgres connection to read from (default ``postgres_default``).
    :param statement_timeout: seconds each statement on the server (declaring the query, each fetch of
        ``fetch_size`` rows) may run before PostgreSQL cancels it and the sync fails, sending nothing more;
        None (default) keeps the server's or the role's setting.

    The other parameters are those of ``SQLReverseETLOperator``, without ``conn_id``.
    """

    source_kind = "postgres"

    def __init__(
        self, *, postgres_conn_id: str = "postgres_default", statement_timeout: float | None = None, **kwargs: Any
    ) -> None:
        refuse_other_connections(kwargs, READS)
        super().__init__(conn_id=postgres_conn_id, **kwargs)
        self.postgres_conn_id = postgres_conn_id
        self.statement_timeout = checked_statement_timeout(statement_timeout)

    def source_options(self) -> SourceOptions:
        """The shared settings plus ``statement_timeout``."""
        return replace(super().source_options(), statement_timeout=self.statement_timeout)


class PostgresRelationshipOperator(SQLRelationshipOperator):
    """Add, update or remove relationships between people and objects from a PostgreSQL query.

    :class:`~airflow_provider_cio.operators.relationships.SQLRelationshipOperator` bound to the PostgreSQL
    source; a ``deleted`` column may be a ``boolean``.

    .. code-block:: python

        PostgresRelationshipOperator(
            task_id="sync_memberships",
            sql="SELECT person_id AS id, company_id AS object_id, removed AS deleted FROM memberships "
            "WHERE updated_at >= to_timestamp({{ last_sync_time }}) ORDER BY person_id",
            postgres_conn_id="postgres_default",
            pool=workspace_pool("customerio_default"),
        )

    :param postgres_conn_id: the Airflow Postgres connection to read from (default ``postgres_default``).
    :param statement_timeout: seconds each statement may run on the server (default: the server's).

    The other parameters are those of ``SQLRelationshipOperator``, without ``conn_id``.
    """

    source_kind = "postgres"

    def __init__(
        self, *, postgres_conn_id: str = "postgres_default", statement_timeout: float | None = None, **kwargs: Any
    ) -> None:
        refuse_other_connections(kwargs, READS)
        super().__init__(conn_id=postgres_conn_id, **kwargs)
        self.postgres_conn_id = postgres_conn_id
        self.statement_timeout = checked_statement_timeout(statement_timeout)

    def source_options(self) -> SourceOptions:
        """The shared settings plus ``statement_timeout``."""
        return replace(super().source_options(), statement_timeout=self.statement_timeout)
