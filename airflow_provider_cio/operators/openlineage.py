"""The OpenLineage methods of the sync operators, called by Airflow's OpenLineage listener.

What they return is built by :mod:`~airflow_provider_cio.operators.lineage`, imported only when they are
called: nothing of OpenLineage is imported when a DAG is parsed or when the OpenLineage provider is not
installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from airflow_provider_cio.assets import records_name

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage

    from airflow_provider_cio.hooks.customerio import CustomerIOHook
    from airflow_provider_cio.sources.registry import Source


class LineageTask(Protocol):
    """What the lineage of a sync task is made of: a sync operator."""

    import_type: str
    object_type_id: str
    sql: str

    @property
    def hook(self) -> CustomerIOHook:
        """The workspace hook (its connection names the output dataset)."""
        ...

    @property
    def source(self) -> Source:
        """The source the query runs on (its lineage names the query's tables)."""
        ...

    def sync_report(self) -> dict[str, Any] | None:
        """The report of the sync (XCom ``return_value``), once it has one."""
        ...


class SyncLineage:
    """OpenLineage for a sync operator: the query's tables in, the workspace's records out, with the
    sync's counts once it has a report."""

    def get_openlineage_facets_on_start(self: LineageTask) -> OperatorLineage:
        """OpenLineage: the query's tables in, the workspace's records out."""
        return task_lineage(self, None)

    def get_openlineage_facets_on_complete(self: LineageTask, task_instance: Any) -> OperatorLineage:
        """OpenLineage at the end: the lineage with the sync's counts (rows sent, failed, by error type)."""
        return task_lineage(self, self.sync_report())

    def get_openlineage_facets_on_failure(self: LineageTask, task_instance: Any) -> OperatorLineage:
        """OpenLineage for a failed sync: the counts of its report, when it got as far as one."""
        return task_lineage(self, self.sync_report())


def task_lineage(task: LineageTask, report: dict[str, Any] | None) -> OperatorLineage:
    """The lineage of ``task``, with the counts of ``report`` when given."""
    from airflow_provider_cio.operators.lineage import sync_lineage

    records = records_name(task.import_type, task.object_type_id)
    return sync_lineage(task.source.lineage(task.sql), task.hook.settings, records, report)
