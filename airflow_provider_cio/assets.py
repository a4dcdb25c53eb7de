"""Airflow Assets for what a sync changes in a Customer.io workspace: the ``customerio://`` URI scheme.

An asset names one kind of record in one workspace::

    customerio://<region>/<site_id>/people
    customerio://<region>/<site_id>/objects/<object_type_id>
    customerio://<region>/<site_id>/relationships

``<region>`` is the connection's region (``us`` or ``eu``; ``us`` when the connection overrides the host),
``<site_id>`` its Site ID (not a secret: it is the user name of the Track API's basic auth). The same pair
is the OpenLineage namespace of the workspace (``customerio://<region>/<site_id>``, dataset name ``people``,
``objects/<type>`` or ``relationships``), so Airflow turns one into the other.

Give a sync task the asset as an outlet and a downstream DAG can be scheduled on it::

    people = customerio_asset(site_id="abc123", records="people")
    MySQLReverseETLOperator(task_id="sync_people", ..., outlets=[people])
    DAG("after_people_synced", schedule=[people], ...)

A sync that succeeds announces an asset event whose ``extra`` holds the report's counts (see
:func:`event_extra`); a sync that fails (any failed row) announces nothing. The provider registers the
scheme with Airflow through ``get_provider_info`` (``asset-uris``): a malformed ``customerio://`` URI is
refused when the DAG is parsed.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from airflow_provider_cio.sync.records.kinds import KINDS

if TYPE_CHECKING:
    from airflow.sdk import Asset, Context

    from airflow_provider_cio.hooks.customerio import WorkspaceSettings

SCHEME = "customerio"
REGIONS = ("us", "eu")
EVENT_COUNTS = (
    "rows_read",
    "rows_sent",
    "rows_failed",
    "rows_suppressed",
    "rows_unchanged",
    "rows_removed",
    "last_sync_time",
)
"""The report keys an asset event carries (those present in the report)."""


def workspace_namespace(region: str, site_id: str) -> str:
    """``customerio://<region>/<site_id>``: the workspace as an OpenLineage namespace."""
    return f"{SCHEME}://{region}/{site_id}"


def records_name(records: str, object_type_id: str = "1") -> str:
    """``people``, ``objects/<object_type_id>``, ``relationships`` or ``events``: the records a sync changes."""
    if records not in KINDS:
        raise ValueError(f"records must be one of {', '.join(map(repr, KINDS))}, not {records!r}")
    return KINDS[records].records_name(object_type_id)


def names_records(parts: list[str]) -> bool:
    """Whether the parts of a URI's path after the Site ID name the records of a kind (``objects/<type>``)."""
    kind = KINDS.get(parts[0])
    object_type_id = parts[1] if len(parts) > 1 else "1"
    valid_type = object_type_id.isdigit() and int(object_type_id) >= 1
    return kind is not None and valid_type and "/".join(parts) == kind.records_name(object_type_id)


def asset_uri(site_id: str, records: str = "people", *, region: str = "us", object_type_id: str = "1") -> str:
    """The ``customerio://`` URI of the records of a workspace."""
    return f"{workspace_namespace(region, site_id)}/{records_name(records, str(object_type_id))}"


def customerio_asset(
    site_id: str,
    records: str = "people",
    *,
    region: str = "us",
    object_type_id: str = "1",
    name: str | None = None,
    extra: dict[str, Any] | None = None,
) -> Asset:
    """An Asset for the people, objects of a type, or relationships of a workspace.

    :param site_id: the workspace's Site ID (the ``customerio`` connection's login).
    :param records: ``people``, ``objects`` or ``relationships``.
    :param region: the connection's region, ``us`` (default) or ``eu``.
    :param object_type_id: the object type (``objects`` only; a sync's default ``object_type_id``).
    :param name: the asset's name, for ``Asset.ref(name=...)`` in other DAG files (default: its URI).
    :param extra: the asset's own extra (not the events').
    """
    from airflow.sdk import Asset

    uri = asset_uri(site_id, records, region=region, object_type_id=object_type_id)
    return Asset(name=name or uri, uri=uri, extra=extra or {})


def create_asset(
    *, site_id: str, records: str = "people", region: str = "us", object_type_id: str = "1", extra: Any = None
) -> Asset:
    """The asset factory Airflow registers for the scheme (same as :func:`customerio_asset`)."""
    return customerio_asset(site_id, records, region=region, object_type_id=object_type_id, extra=extra)


def sanitize_uri(uri: urllib.parse.SplitResult) -> urllib.parse.SplitResult:
    """Check a ``customerio://`` URI when Airflow normalises it (the scheme's registered handler).

    :raises ValueError: the region, the Site ID or the records part is missing or unknown.
    """
    region = uri.netloc.lower()
    if region not in REGIONS:
        raise ValueError(f"a customerio:// asset URI starts with the region, us or eu: {urllib.parse.urlunsplit(uri)}")
    parts = [part for part in uri.path.split("/") if part]
    if not (2 <= len(parts) <= 3 and names_records(parts[1:])):
        named = ", ".join(f".../{records_name(name, '<object_type_id>')}" for name in KINDS)
        raise ValueError(
            "a customerio:// asset URI is customerio://<region>/<site_id>/<records>, the records being one of "
            f"{named}; not {urllib.parse.urlunsplit(uri)}"
        )
    return uri._replace(netloc=region, query="")


def convert_asset_to_openlineage(asset: Asset, lineage_context: Any = None) -> Any:
    """The OpenLineage dataset of a ``customerio://`` asset (the scheme's registered converter)."""
    from airflow.providers.common.compat.openlineage.facet import Dataset

    parsed = urllib.parse.urlsplit(asset.uri)
    site_id, _, name = parsed.path.lstrip("/").partition("/")
    return Dataset(namespace=workspace_namespace(parsed.netloc, site_id), name=name)


def event_extra(report: Mapping[str, Any], import_type: str, dry_run: bool) -> dict[str, Any]:
    """What a sync's asset event carries: the report's counts, the import type, and whether it was a dry run."""
    extra: dict[str, Any] = {key: report[key] for key in EVENT_COUNTS if key in report}
    extra.update(import_type=import_type, dry_run=dry_run)
    return extra


def workspace_outlets(outlets: Iterable[Any]) -> list[Asset]:
    """The task's outlets that are ``customerio://`` assets."""
    return [outlet for outlet in outlets if str(getattr(outlet, "uri", "")).startswith(f"{SCHEME}://")]


def check_outlets(outlets: Iterable[Asset], workspace: WorkspaceSettings, expected: str) -> None:
    """Refuse, before anything is sent, an outlet that names another workspace or other records.

    :param workspace: the sync's workspace (its connection's region and Site ID).
    :param expected: the records the sync changes (:func:`records_name`).
    :raises ValueError: an outlet's URI is not this workspace's ``expected`` records.
    """
    uri = f"{workspace_namespace(workspace.region, workspace.site_id)}/{expected}"
    for outlet in outlets:
        if outlet.uri != uri:
            raise ValueError(
                f"the outlet {outlet.uri} is not what this sync changes ({uri}): give the task the asset of its "
                "connection's workspace and records, customerio_asset(site_id, records, region=..., object_type_id=...)"
            )


def announce_sync(
    context: Context, outlets: Iterable[Any], report: Mapping[str, Any], import_type: str, dry_run: bool
) -> None:
    """Put the report's counts in the event of each ``customerio://`` outlet (Airflow emits it on success)."""
    for outlet in workspace_outlets(outlets):
        context["outlet_events"][outlet].extra = event_extra(report, import_type, dry_run)
