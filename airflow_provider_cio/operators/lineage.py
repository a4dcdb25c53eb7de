"""OpenLineage for the sync operators: the tables a query reads in, the workspace's records out.

Imported only from the operators' ``get_openlineage_facets_on_*`` methods, so that nothing here (nor the
OpenLineage client) is imported when a DAG is parsed or when the OpenLineage provider is not installed.

- Inputs: the tables of the sync's rendered query, named by the source's lineage from its hook's OpenLineage
  database info (:mod:`~airflow_provider_cio.sources.dbapi.lineage`; MySQL: namespace ``mysql://<host>:<port>``,
  name ``<database>.<table>``). The parser only reads the query text: no extra query runs on the source.
- Output: the workspace's records, namespace ``customerio://<region>/<site_id>``, name ``people``,
  ``objects/<object_type_id>`` or ``relationships`` (the dataset of the sync's ``customerio://`` asset).
- Facets of the output, once the sync has a report: ``outputStatistics`` (``rowCount`` = rows the
  workspace accepted) and ``customerio_sync`` (rows read, sent, failed, suppressed, failed rows by error
  type, dry run).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import attr
from airflow.providers.common.compat.openlineage.facet import (
    OutputDataset,
    OutputStatisticsOutputDatasetFacet,
)
from airflow.providers.openlineage.extractors import OperatorLineage
from openlineage.client.generated.base import OutputDatasetFacet

from airflow_provider_cio.assets import workspace_namespace

if TYPE_CHECKING:
    from airflow_provider_cio.hooks.customerio.connection import WorkspaceSettings

SYNC_FACET = "customerio_sync"


@attr.define
class CustomerIOSyncOutputDatasetFacet(OutputDatasetFacet):
    """What one sync did to the workspace's records (a custom output facet, key ``customerio_sync``)."""

    rowsRead: int = attr.field(default=0)
    rowsSent: int = attr.field(default=0)
    rowsFailed: int = attr.field(default=0)
    rowsSuppressed: int = attr.field(default=0)
    errorsByType: dict[str, int] = attr.field(factory=dict)
    dryRun: bool = attr.field(default=False)
    status: str = attr.field(default="")

    _additional_skip_redact: ClassVar[list[str]] = [
        "rowsRead",
        "rowsSent",
        "rowsFailed",
        "rowsSuppressed",
        "errorsByType",
        "dryRun",
        "status",
    ]


def sync_lineage(
    query: OperatorLineage, workspace: WorkspaceSettings, records: str, report: Mapping[str, Any] | None
) -> OperatorLineage:
    """The lineage of a sync task: its query's tables in, the workspace's records out (with counts when done).

    :param query: the lineage of the sync's rendered query (the source's ``lineage``).
    :param workspace: the workspace synced into.
    :param records: the records written: ``people``, ``objects/<object_type_id>`` or ``relationships``.
    :param report: the sync's report (XCom ``return_value``), or None before it has one.
    """
    output = workspace_output(workspace_namespace(workspace.region, workspace.site_id), records, report)
    return OperatorLineage(
        inputs=query.inputs, outputs=[output], run_facets=query.run_facets, job_facets=query.job_facets
    )


def workspace_output(namespace: str, name: str, report: Mapping[str, Any] | None) -> OutputDataset:
    """The workspace's records as an output dataset; with the report's counts once the sync has one."""
    if report is None:
        return OutputDataset(namespace=namespace, name=name)
    facets: dict[str, OutputDatasetFacet] = {
        "outputStatistics": OutputStatisticsOutputDatasetFacet(rowCount=int(report.get("rows_sent") or 0)),
        SYNC_FACET: CustomerIOSyncOutputDatasetFacet(
            rowsRead=int(report.get("rows_read") or 0),
            rowsSent=int(report.get("rows_sent") or 0),
            rowsFailed=int(report.get("rows_failed") or 0),
            rowsSuppressed=int(report.get("rows_suppressed") or 0),
            errorsByType=dict(report.get("errors_by_type") or {}),
            dryRun=bool(report.get("dry_run")),
            status=str(report.get("status") or ""),
        ),
    }
    return OutputDataset(namespace=namespace, name=name, outputFacets=facets)
