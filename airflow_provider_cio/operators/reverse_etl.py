"""The people, objects and events syncs: one add-or-update per row (or one event), from a query on any SQL connection
(``SQLReverseETLOperator``) or on MySQL (``MySQLReverseETLOperator``, the same operator bound to the MySQL source)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any, ClassVar, Literal, get_args

from airflow_provider_cio.operators.base import BaseSyncOperator, refuse_other_connections
from airflow_provider_cio.sync.after_sync import SegmentTarget
from airflow_provider_cio.sync.mirror.options import OnRemoved
from airflow_provider_cio.sync.records.kinds import KINDS
from airflow_provider_cio.sync.settings import OnSuppressed, SyncSettings, check_choice

RecordType = Literal["people", "objects", "events"]


class SQLReverseETLOperator(BaseSyncOperator):
    """Add or update people or objects, or send events, in a Customer.io workspace from a query on any Airflow
    SQL connection.

    The same DAG reads MySQL, PostgreSQL, SQLite, DuckDB or any database whose Airflow hook is a common.sql
    ``DbApiHook`` by changing only ``conn_id``: the connection's type picks the source when the task runs
    (docs/sources.md). Write ``{{ last_sync_time }}`` (Unix seconds) in the query as the database compares it.

    Each row is one person or object; each column an attribute, named exactly as the column (use
    ``AS`` to rename). People need the identifier column chosen by ``identify_by`` (``id``,
    ``email`` or ``phone``); objects need ``object_id`` and may carry ``object_type_id``. Rows the workspace would
    refuse are reported, not sent; if any row fails the report and the error CSV are pushed and the
    task fails without retry, and the next run sends again from the same ``last_sync_time``.

    .. code-block:: python

        SQLReverseETLOperator(
            task_id="sync_people",
            sql="SELECT id, email, plan FROM users WHERE updated_at >= {{ last_sync_time }}",
            conn_id="analytics_duckdb",
            import_type="people",
            identify_by="id",
            pool=workspace_pool("customerio_default"),
        )

    .. warning::
        Create the workspace's one-slot pool before the DAG's first run (``cio-retl create-pool``): a
        task naming a pool that does not exist waits in ``scheduled`` forever and nothing fails
        (docs/scheduling.md).

    :param import_type: ``people``, ``objects`` or ``events`` (one sync imports one kind). An events
        sync sends one event per row: the person's identifier column, an ``event_id`` column (the
        row's stable key, which makes the event's id, so a re-sent row never makes a second event), an
        optional ``name`` column (else ``event_name``), an optional ``timestamp`` column; the other
        columns are event data. Events cannot be mirrored (docs/events.md).
    :param event_name: events: the name of every event whose row has no ``name`` column value.
    :param sync_mode: ``upsert`` (default) or ``mirror``: send only what changed since the last
        successful run, and handle rows that left the query as ``on_removed`` says (docs/mirror.md).
    :param on_removed: mirror mode: people who left the query are ``ignore``-d (default), ``delete``-d
        (the profile is deleted) or ``suppress``-ed (deleted and its identifiers blocked); objects are
        ``ignore``-d (default) or ``delete``-d. People always leave ``segment_id``/``segment_name``.
    :param max_removed: mirror mode: the most rows one run may remove, a count or ``"N%"`` of the last
        snapshot (default ``"10%"``); a run over it removes nothing and fails, saying how to allow it.
    :param on_suppressed: rows about suppressed people: ``succeed`` (left out, counted, the sync
        succeeds) or ``fail`` (each reported as "person is suppressed", the sync fails). Seeing them
        needs the connection's App API key.
    :param segment_id: add the people this sync applied to this manual segment.
    :param segment_name: ... or to the manual segment of this name, created when missing (App API key).
    :param activity_settle_seconds: after sending, the activity log (failed attribute changes,
        suppressed people) is read until it has not changed for this long.
    :param activity_timeout: the longest wait for the activity log to settle.

    The other parameters are those of :class:`~airflow_provider_cio.operators.base.BaseSyncOperator`:
    ``sql`` (templated), ``conn_id``, ``customerio_conn_id``, ``identify_by``, ``update_only``,
    ``object_type_id``, ``empty_values``, ``json_columns``, ``timezone``, ``lookback_seconds``,
    ``error_report_path`` (templated), ``dry_run``, ``concurrency``, ``fetch_size``, ``max_rows``,
    ``request_timeout``, ``request_attempts``, ``progress_interval``, ``snapshot_base``,
    ``checkpoint_interval``. ``empty_values`` defaults to ``delete`` in mirror mode.
    """

    template_fields: Sequence[str] = (*BaseSyncOperator.template_fields, "segment_name")
    on_removed_choices: ClassVar[tuple[OnRemoved, ...]] = ("ignore", "delete", "suppress")

    def __init__(
        self,
        *,
        import_type: RecordType = "people",
        event_name: str | None = None,
        on_suppressed: OnSuppressed = "succeed",
        segment_id: int | None = None,
        segment_name: str | None = None,
        activity_settle_seconds: float = 5.0,
        activity_timeout: float = 60.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        check_choice("import_type", import_type, get_args(RecordType))  # relationships: RelationshipOperator
        check_choice("on_removed", self.on_removed, KINDS[import_type].on_removed_choices)
        if segment_id is not None and segment_name:
            raise ValueError("give segment_id or segment_name, not both")
        if (segment_id is not None or segment_name) and not KINDS[import_type].segments:
            raise ValueError("segments hold people: segment_id and segment_name need import_type='people'")
        if (segment_id is not None or segment_name) and self.identify_by == "phone":
            raise ValueError(
                "a manual segment is filled by id or email, never by phone: with segment_id or segment_name, "
                "identify people by id or email"
            )
        self.import_type = import_type
        self.event_name = event_name
        self.on_suppressed = on_suppressed
        self.segment_id = segment_id
        self.segment_name = segment_name
        self.activity_settle_seconds = activity_settle_seconds
        self.activity_timeout = activity_timeout
        self.settings()  # checks on_suppressed at DAG parse time (ValueError)

    def settings(self) -> SyncSettings:
        """The base settings plus the event name and the suppression and activity-log choices."""
        return replace(
            super().settings(),
            event_name=self.event_name,
            on_suppressed=self.on_suppressed,
            activity_settle_seconds=self.activity_settle_seconds,
            activity_timeout=self.activity_timeout,
        )

    def segment(self) -> SegmentTarget | None:
        """The manual segment to add synced people to, if one is set."""
        if self.segment_id is None and not self.segment_name:
            return None
        return SegmentTarget(segment_id=self.segment_id, segment_name=self.segment_name or None)


class MySQLReverseETLOperator(SQLReverseETLOperator):
    """Add or update people or objects, or send events, in a Customer.io workspace from a MySQL query.

    :class:`SQLReverseETLOperator` bound to the MySQL source: it reads ``mysql_conn_id`` with ``MySqlHook``
    whatever the connection's type, and takes every other parameter of :class:`SQLReverseETLOperator`.

    .. code-block:: python

        MySQLReverseETLOperator(
            task_id="sync_people",
            sql="SELECT id, email, plan FROM users WHERE updated_at >= FROM_UNIXTIME({{ last_sync_time }})",
            import_type="people",
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
