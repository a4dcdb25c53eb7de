"""A ``customerio`` connection read into :class:`WorkspaceSettings`: region, base URLs, keys, extras.

The fields and extras are described in :mod:`airflow_provider_cio.hooks.customerio` (and docs/hook.md).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from airflow_provider_cio.hooks.customerio.errors import CustomerIOError

REGION_HOSTS = {
    "us": ("https://track.customer.io", "https://api.customer.io"),
    "eu": ("https://track-eu.customer.io", "https://api-eu.customer.io"),
}
DEFAULT_REQUESTS_PER_SECOND = 100.0
"""Customer.io's fair-use limit for the Track API, per workspace."""


@dataclass(frozen=True)
class WorkspaceSettings:
    """Everything the hook needs from a connection. Secrets are kept out of ``repr``."""

    conn_id: str
    site_id: str
    track_url: str
    app_url: str
    verify: bool | str
    api_key: str = ""
    app_api_key: str = ""
    requests_per_second: float = DEFAULT_REQUESTS_PER_SECOND
    region: str = "us"

    def __repr__(self) -> str:
        return (
            f"WorkspaceSettings(conn_id={self.conn_id!r}, site_id={self.site_id!r}, "
            f"track_url={self.track_url!r}, app_url={self.app_url!r}, "
            f"app_api_key={'set' if self.app_api_key else 'unset'})"
        )


def extra_value(extra: dict[str, Any], name: str) -> Any:
    """Read a connection extra stored either plainly or as ``extra__customerio__<name>``."""
    value = extra.get(name)
    if value in (None, ""):
        value = extra.get(f"extra__customerio__{name}")
    return value if value not in ("",) else None


def parse_connection(conn: Any) -> WorkspaceSettings:
    """Turn an Airflow connection of type ``customerio`` into :class:`WorkspaceSettings`.

    :raises CustomerIOError: when the Site ID or Track API key is missing, the region is unknown or the
        ``ca_bundle`` file does not exist.
    """
    extra = conn.extra_dejson or {}
    if not conn.login or not conn.password:
        raise CustomerIOError(
            f"connection {conn.conn_id!r} needs the Site ID as login and the Track API key as password"
        )
    region = (extra_value(extra, "region") or "us").lower()
    if region not in REGION_HOSTS:
        raise CustomerIOError(f"connection {conn.conn_id!r}: region must be 'us' or 'eu', not {region!r}")
    track_url, app_url = REGION_HOSTS[region]
    if conn.host:
        track_url = app_url = base_url(conn.host, conn.port, conn.schema)
    ca_bundle = extra_value(extra, "ca_bundle")
    if ca_bundle and not os.path.exists(ca_bundle):
        raise CustomerIOError(
            f"connection {conn.conn_id!r}: the extra ca_bundle names {ca_bundle!r}, which does not exist on this "
            "worker; give the path of a PEM file holding the CA certificate(s) to trust"
        )
    return WorkspaceSettings(
        conn_id=conn.conn_id,
        site_id=conn.login,
        api_key=conn.password,
        track_url=track_url,
        app_url=app_url,
        app_api_key=extra_value(extra, "app_api_key") or "",
        verify=ca_bundle or True,
        requests_per_second=parse_requests_per_second(conn.conn_id, extra_value(extra, "requests_per_second")),
        region=region,
    )


def parse_requests_per_second(conn_id: str, value: Any) -> float:
    """The extra ``requests_per_second`` as a number over 0 (default 100).

    :raises CustomerIOError: when it is not a number over 0.
    """
    if value is None:
        return DEFAULT_REQUESTS_PER_SECOND
    try:
        rate = float(value)
    except (TypeError, ValueError):
        rate = 0.0
    if not rate > 0 or rate == float("inf"):
        raise CustomerIOError(
            f"connection {conn_id!r}: the extra requests_per_second must be a number over 0 (default 100), "
            f"not {value!r}"
        )
    return rate


def base_url(host: str, port: int | None, scheme: str | None) -> str:
    """The base URL of a ``host`` override: ``host`` may already hold a scheme."""
    url = host.rstrip("/") if "://" in host else f"{scheme or 'https'}://{host}"
    return f"{url}:{port}" if port else url
