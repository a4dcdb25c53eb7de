"""The sync operators with PostgreSQL as the source: people, objects and relationships from a Postgres query.

They are the MySQL operators with another reader: the same parameters, reports, ``last_sync_time``,
mirror mode and error reports, but ``postgres_conn_id`` (default ``postgres_default``) instead of
``mysql_conn_id``, and ``statement_timeout``. Install ``airflow-provider-cio[postgres]``. The query runs
as a server-side cursor in a read-only transaction; docs/postgres.md and docs/values.md say how each
PostgreSQL type is sent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_cio.operators.relationships import RelationshipOperator
from airflow_provider_cio.operators.reverse_etl import MySQLReverseETLOperator
from airflow_provider_cio.sources.postgres.errors import (
    is_postgres_connection_error,
    is_postgres_error,
    postgres_message,
)
from airflow_provider_cio.sources.postgres.stream import PostgresQueryStream

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage

    from airflow_provider_cio.operators.run import QueryStream


class PostgresSource:
    """The PostgreSQL reader of a sync operator (mixed in before the operator class, so that it takes
    the place of :class:`~airflow_provider_cio.operators.mysql.MySQLSource`).

    :param postgres_conn_id: the Airflow Postgres connection to read from.
    :param statement_timeout: seconds each statement on the server (declaring the query, each fetch of
        ``fetch_size`` rows) may run before PostgreSQL cancels it and the sync fails, sending nothing more;
        None (default) keeps the server's or the role's setting.
    """

    postgres_conn_id: str
    statement_timeout: float | None

    def _use_postgres(self, postgres_conn_id: str, statement_timeout: float | None) -> None:
        """Keep the source parameters (Airflow wraps each operator class's own ``__init__``, so the
        operators below take them and call this)."""
        if statement_timeout is not None and statement_timeout <= 0:
            raise ValueError(f"statement_timeout must be a positive number of seconds, not {statement_timeout}")
        self.postgres_conn_id = postgres_conn_id
        self.statement_timeout = statement_timeout

    def open_stream(self) -> QueryStream:
        """A read-only server-side cursor on the Postgres connection."""
        return PostgresQueryStream(
            self.postgres_conn_id,
            timezone=self.timezone,  # type: ignore[attr-defined]
            statement_timeout=self.statement_timeout,
        )

    def source_lineage(self) -> OperatorLineage:
        """OpenLineage: the tables the rendered query reads, named for the Postgres connection."""
        from airflow_provider_cio.sources.postgres.lineage import postgres_lineage

        return postgres_lineage(self.sql, self.postgres_conn_id)  # type: ignore[attr-defined]

    def source_conn_id(self) -> str:
        """The source connection's id."""
        return self.postgres_conn_id

    def source_name(self) -> str:
        """The source connection, as the task log names it."""
        return f"PostgreSQL connection {self.postgres_conn_id!r}"

    def is_source_error(self, error: BaseException) -> bool:
        """Whether an exception is psycopg's."""
        return is_postgres_error(error)

    def source_message(self, error: BaseException) -> str:
        """A psycopg error as a sentence naming the connection and saying what to fix."""
        return postgres_message(error, self.postgres_conn_id)

    def source_retry_may_help(self, error: BaseException) -> bool:
        """Whether a psycopg error is about the connection (a retry may help) rather than the query."""
        return is_postgres_connection_error(error)


class PostgresReverseETLOperator(PostgresSource, MySQLReverseETLOperator):
    """Add or update people or objects, or send events, in a Customer.io workspace from a PostgreSQL query.

    Everything but the source is :class:`~airflow_provider_cio.operators.reverse_etl.MySQLReverseETLOperator`:
    ``import_type``, ``identify_by``, ``sync_mode``, segments, ``on_suppressed``, the report and the error
    CSV. ``{{ last_sync_time }}`` is Unix seconds: compare it with ``to_timestamp({{ last_sync_time }})``.

    .. code-block:: python

        PostgresReverseETLOperator(
            task_id="sync_people",
            sql="SELECT id, email, plan FROM users WHERE updated_at >= to_timestamp({{ last_sync_time }})",
            import_type="people",
            postgres_conn_id="postgres_default",
            pool=workspace_pool("customerio_default"),
        )

    :param postgres_conn_id: the Airflow Postgres connection to read from (default ``postgres_default``).
    :param statement_timeout: seconds each statement may run on the server (default: the server's).

    The other parameters are those of the MySQL operator, without ``mysql_conn_id``.
    """

    def __init__(
        self, *, postgres_conn_id: str = "postgres_default", statement_timeout: float | None = None, **kwargs: Any
    ) -> None:
        if "mysql_conn_id" in kwargs:
            raise TypeError("a PostgreSQL sync reads postgres_conn_id; mysql_conn_id does not apply")
        super().__init__(**kwargs)
        self._use_postgres(postgres_conn_id, statement_timeout)


class PostgresRelationshipOperator(PostgresSource, RelationshipOperator):
    """Add, update or remove relationships between people and objects from a PostgreSQL query.

    Everything but the source is :class:`~airflow_provider_cio.operators.relationships.RelationshipOperator`;
    a ``deleted`` column may be a ``boolean``.

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

    The other parameters are those of the MySQL operator, without ``mysql_conn_id``.
    """

    def __init__(
        self, *, postgres_conn_id: str = "postgres_default", statement_timeout: float | None = None, **kwargs: Any
    ) -> None:
        if "mysql_conn_id" in kwargs:
            raise TypeError("a PostgreSQL sync reads postgres_conn_id; mysql_conn_id does not apply")
        super().__init__(**kwargs)
        self._use_postgres(postgres_conn_id, statement_timeout)
