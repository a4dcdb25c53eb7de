"""RelationshipOperator: person-object relationships from a MySQL query, one relationship per row."""

from __future__ import annotations

from typing import ClassVar

from airflow_provider_cio.operators.base import BaseSyncOperator


class RelationshipOperator(BaseSyncOperator):
    """Set or remove relationships between people and objects from a MySQL query.

    Each row is one relationship: a person (column ``id`` or ``email``, as ``identify_by`` says,
    whatever else the query selects) and an object (column ``object_id``; type from an
    ``object_type_id`` column, else ``object_type_id``). An optional boolean column ``deleted``
    removes the relationship when true (TINYINT 1, BIT(1) 1, 'true'); false or NULL sets it. Every
    other column is a relationship attribute. Order the query by person to send fewer ops: consecutive
    rows of one person travel in one op.

    .. code-block:: python

        RelationshipOperator(
            task_id="sync_memberships",
            sql="SELECT person_id AS id, company_id AS object_id, removed AS deleted, role "
            "FROM memberships WHERE UNIX_TIMESTAMP(updated_at) >= {{ last_sync_time }} ORDER BY person_id",
            identify_by="id",
        )

    The parameters are those of :class:`~airflow_provider_cio.operators.base.BaseSyncOperator`:
    ``sql`` (templated), ``mysql_conn_id``, ``customerio_conn_id``, ``identify_by``,
    ``object_type_id``, ``empty_values`` (NULL relationship attributes), ``json_columns``,
    ``timezone``, ``lookback_seconds``, ``error_report_path`` (templated), ``dry_run``,
    ``concurrency``, ``fetch_size``, ``max_rows``, ``request_timeout``, ``progress_interval``.
    """

    import_type: ClassVar[str] = "relationships"
