"""One sync per workspace at a time: the Airflow pool of a workspace, and the command that creates it.

Customer.io runs one sync per workspace at a time. In Airflow the same rule is a pool with one slot
that every sync task of the workspace names::

    MySQLReverseETLOperator(..., pool=workspace_pool("customerio_default"))

and, once per Airflow deployment, ``cio-retl create-pool --conn-id customerio_default``.

A task that names a pool that does not exist is never started: it stays ``scheduled`` forever, and
only the scheduler's log says why. Create the pool before the DAG's first run.

This module is imported by DAG files: it imports nothing from Airflow at import time (the pool name reads
Airflow's configuration when it is asked for).
"""

from __future__ import annotations

from dataclasses import dataclass

POOL_SLOTS = 1
DEFAULT_CONN_ID = "customerio_default"
SECTION = "customerio"
DEFAULT_POOL_NAME_TEMPLATE = "customerio_{conn_id}"


def workspace_pool(customerio_conn_id: str = DEFAULT_CONN_ID) -> str:
    """The name of the pool that serialises the syncs into the workspace of a ``customerio`` connection.

    The name follows ``[customerio] pool_name_template`` (default ``customerio_{conn_id}``), so a
    deployment that names its pools otherwise sets it once for every DAG and for ``cio-retl create-pool``.

    :param customerio_conn_id: the connection of the workspace (its id, not its Site ID).
    :return: e.g. ``customerio_customerio_default`` with the default template.
    :raises ValueError: the template names a field other than ``{conn_id}``.
    """
    template = pool_name_template()
    try:
        return template.format(conn_id=customerio_conn_id)
    except (KeyError, IndexError, ValueError):
        raise ValueError(
            f"[customerio] pool_name_template may name only {{conn_id}} (the connection id), not {template!r}"
        ) from None


def pool_name_template() -> str:
    """``[customerio] pool_name_template`` (``AIRFLOW__CUSTOMERIO__POOL_NAME_TEMPLATE``), or the default."""
    from airflow.sdk import conf

    return conf.get(SECTION, "pool_name_template", fallback=None) or DEFAULT_POOL_NAME_TEMPLATE


@dataclass(frozen=True)
class PoolChange:
    """What :func:`ensure_workspace_pool` did: ``created``, ``updated`` (slots set back to 1) or ``unchanged``."""

    name: str
    action: str
    previous_slots: int | None = None

    def describe(self, customerio_conn_id: str) -> str:
        """One sentence for a terminal."""
        target = f"the workspace of connection {customerio_conn_id!r}"
        if self.action == "created":
            return f"Created pool {self.name!r} with 1 slot for {target}."
        if self.action == "updated":
            return f"Pool {self.name!r} had {self.previous_slots} slots; set it to 1 slot for {target}."
        return f"Pool {self.name!r} already exists with 1 slot for {target}; nothing changed."


def ensure_workspace_pool(customerio_conn_id: str = DEFAULT_CONN_ID, name: str | None = None) -> PoolChange:
    """Make sure the one-slot pool of a workspace exists, through the client ``airflow pools set`` uses.

    Runs where ``airflow pools list`` works (a host with access to Airflow's metadata database). A pool
    of that name with another number of slots is set back to one slot; running it again changes nothing.

    :param customerio_conn_id: the ``customerio`` connection of the workspace.
    :param name: the pool name; default :func:`workspace_pool` of the connection.
    """
    from airflow.api.client import get_current_api_client
    from airflow.exceptions import PoolNotFound

    name = name or workspace_pool(customerio_conn_id)
    description = f"One Customer.io sync at a time into the workspace of connection {customerio_conn_id!r}"
    client = get_current_api_client()
    try:
        _, slots, _, include_deferred, team_name = client.get_pool(name=name)
    except PoolNotFound:
        client.create_pool(name=name, slots=POOL_SLOTS, description=description, include_deferred=False)
        return PoolChange(name, "created")
    if slots == POOL_SLOTS:
        return PoolChange(name, "unchanged")
    client.create_pool(
        name=name, slots=POOL_SLOTS, description=description, include_deferred=include_deferred, team_name=team_name
    )
    return PoolChange(name, "updated", previous_slots=slots)
