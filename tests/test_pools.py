"""``cio-retl create-pool``: the workspace's one-slot pool in Airflow's metadata database."""

from __future__ import annotations

import pytest

from airflow_provider_cio.cli import main
from airflow_provider_cio.pools import workspace_pool

pytestmark = pytest.mark.usefixtures("airflow_db")


def pool_slots(name: str) -> int | None:
    """The slots of a pool as Airflow has it, or None when there is no such pool."""
    from airflow.api.client import get_current_api_client
    from airflow.exceptions import PoolNotFound

    try:
        return get_current_api_client().get_pool(name=name)[1]
    except PoolNotFound:
        return None


def create_pool(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["create-pool", *args]) == 0
    return capsys.readouterr().out


def test_create_pool_creates_one_slot_once_and_restores_it(capsys: pytest.CaptureFixture[str]) -> None:
    name = workspace_pool("cio_pool_test")
    assert name == "customerio_cio_pool_test"
    assert pool_slots(name) is None

    out = create_pool(capsys, "--conn-id", "cio_pool_test")
    assert f"Created pool '{name}' with 1 slot" in out and f"pool='{name}'" in out
    assert pool_slots(name) == 1

    assert f"Pool {name!r} already exists with 1 slot" in create_pool(capsys, "--conn-id", "cio_pool_test")
    assert pool_slots(name) == 1

    from airflow.api.client import get_current_api_client

    get_current_api_client().create_pool(name=name, slots=4, description="widened", include_deferred=False)
    assert f"Pool {name!r} had 4 slots; set it to 1 slot" in create_pool(capsys, "--conn-id", "cio_pool_test")
    assert pool_slots(name) == 1


def test_create_pool_takes_a_name(capsys: pytest.CaptureFixture[str]) -> None:
    out = create_pool(capsys, "--conn-id", "cio_eu", "--name", "cio_eu_syncs")
    assert "Created pool 'cio_eu_syncs' with 1 slot for the workspace of connection 'cio_eu'" in out
    assert pool_slots("cio_eu_syncs") == 1
