"""The relationships syncs: person-object relationships, one per row, from a query on any SQL connection
(``SQLRelationshipOperator``) or on MySQL (``RelationshipOperator``, the same operator bound to the MySQL source)."""

from __future__ import annotations

from typing import Any, ClassVar

from airflow_provider_cio.operators.base import BaseSyncOperator, refuse_other_connections
from airflow_provider_cio.sync.convert.columns import ImportType
from airflow_provider_cio.sync.mirror.options import OnRemoved


class SQLRelationshipOperator(BaseSyncOperator):
    """Add, update or remove relationships between people and objects from a query on any Airflow SQL connection.

    The connection's type picks the source when the task runs (docs/sources.md); the same DAG reads another
    database by changing only ``conn_id``.

    Each row is one relationship: a person (column ``id``, ``email`` or ``phone``, as ``identify_by`` says,
    whatever else the query selects: the other identifier column is not sent) and an object (column
    ``object_id``; its type comes from an ``object_type_id`` column, else from ``object_type_id``).
    An optional boolean column ``deleted`` removes the relationship when true; false or NULL adds or
    updates it. ``deleted`` may be a boolean, ``TINYINT(1)`` (1/0), ``BIT(1)``, or text
    ``'true'``/``'false'`` (or ``'1'``/``'0'``); any other value fails its row. Every other column is a
    relationship attribute, named exactly as the column; NULL follows ``empty_values``. A removed
    relationship is sent without attributes.

    Consecutive rows of one person with the same action travel in one op (at most 32,000 bytes), so
    ``ORDER BY`` the person column to send far fewer ops than rows. When the workspace refuses a
    grouped op because of one relationship (an unknown object, say), the other rows are sent again one
    by one, so only the bad row fails; an unknown person fails each of that person's rows.

    Reporting is that of :class:`~airflow_provider_cio.operators.reverse_etl.SQLReverseETLOperator`:
    the XCom ``return_value`` holds the counts, failed rows go to the error CSV (identifier
    ``<person> -> <object_type_id>:<object_id>``), and a sync with any failed row fails the task
    without retry and does not advance ``last_sync_time``. A query without its ``object_id`` or person
    column fails before anything is sent.

    .. code-block:: python

        SQLRelationshipOperator(
            task_id="sync_memberships",
            sql="SELECT person_id AS id, company_id AS object_id, removed AS deleted, role "
            "FROM memberships WHERE updated_at >= {{ last_sync_time }} ORDER BY person_id",
            conn_id="analytics_sqlite",
            identify_by="id",
            pool=workspace_pool("customerio_default"),
        )

    .. warning::
        Create the workspace's one-slot pool before the DAG's first run (``cio-retl create-pool``): a
        task naming a pool that does not exist waits in ``scheduled`` forever and nothing fails
        (docs/scheduling.md).

    In mirror mode (``sync_mode="mirror"``) the query returns every relationship that should exist; a
    relationship that left the query is deleted (``on_removed="delete"``, the default) or left as it is
    (``"ignore"``), and a run that would delete more than ``max_removed`` deletes nothing and fails
    (docs/mirror.md).

    The parameters are those of :class:`~airflow_provider_cio.operators.base.BaseSyncOperator`:
    ``sql`` (templated), ``conn_id``, ``customerio_conn_id``, ``identify_by``, ``update_only``,
    ``object_type_id``, ``empty_values`` (NULL relationship attributes), ``json_columns``,
    ``timezone``, ``lookback_seconds``, ``error_report_path`` (templated), ``dry_run``,
    ``concurrency``, ``fetch_size``, ``max_rows``, ``request_timeout``, ``request_attempts``, ``progress_interval``,
    ``sync_mode``, ``on_removed``, ``max_removed``, ``snapshot_base``, ``checkpoint_interval``.
    See docs/relationships.md.
    """

    import_type: ImportType = "relationships"
    mirror_on_removed: ClassVar[OnRemoved] = "delete"


class RelationshipOperator(SQLRelationshipOperator):
    """Add, update or remove relationships between people and objects from a MySQL query.

    :class:`SQLRelationshipOperator` bound to the MySQL source: it reads ``mysql_conn_id`` with ``MySqlHook``
    whatever the connection's type, and takes every other parameter of :class:`SQLRelationshipOperator`.

    .. code-block:: python

        RelationshipOperator(
            task_id="sync_memberships",
            sql="SELECT person_id AS id, company_id AS object_id, removed AS deleted, role "
            "FROM memberships WHERE updated_at >= FROM_UNIXTIME({{ last_sync_time }}) ORDER BY person_id",
            identify_by="id",
            pool=workspace_pool("customerio_default"),
        )

    .. warning::
        Create the workspace's one-slot pool before the DAG's first run (``cio-retl create-pool``): a
        task naming a pool that does not exist waits in ``scheduled`` forever and nothing fails
        (docs/scheduling.md).

    :param mysql_conn_id: the Airflow MySQL connection to read from (default ``mysql_default``).
    """

    source_kind = "mysql"

    def __init__(self, *, mysql_conn_id: str = "mysql_default", **kwargs: Any) -> None:
        refuse_other_connections(kwargs, "mysql_conn_id (a MySQL connection)")
        super().__init__(conn_id=mysql_conn_id, **kwargs)
        self.mysql_conn_id = mysql_conn_id
