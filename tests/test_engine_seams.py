"""The engine's optional seams, now Protocols: a workspace that can cancel, a builder that can split.

The engine is free of Airflow and of MySQL, so these run on an in-memory DB-API cursor; the workspaces
are small doubles (the seams are what is under test, not a workspace).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from airflow_provider_cio.hooks.customerio import CustomerIOHook
from airflow_provider_cio.sync.account.outcomes import OpError
from airflow_provider_cio.sync.engine import SyncEngine
from airflow_provider_cio.sync.planning import builder_for
from airflow_provider_cio.sync.records.kinds import plan_columns
from airflow_provider_cio.sync.records.wrapping import SplittingBuilder
from airflow_provider_cio.sync.send.workspace import CancellableWorkspace, DryRunWorkspace
from airflow_provider_cio.sync.settings import SyncSettings


class Interrupted(BaseException):
    """What Airflow raises in a task on its execution timeout (not an ``Exception``)."""


class Cursor:
    """Two rows, then the sync is interrupted while it reads."""

    description = (("id", 3, None, None, None, None, True), ("plan", 253, None, None, None, None, True))

    def __init__(self) -> None:
        self.calls = 0

    def fetchmany(self, size: int) -> Sequence[Sequence[Any]]:
        self.calls += 1
        if self.calls == 1:
            return [(1, "pro"), (2, "free")]
        raise Interrupted


class CancellingWorkspace:
    throttled_responses = 0

    def __init__(self) -> None:
        self.cancelled = 0

    def send_batch(self, ops: Sequence[bytes]) -> list[OpError]:
        return []

    def cancel(self) -> None:
        self.cancelled += 1


def people_builder() -> Any:
    settings = SyncSettings(import_type="people")
    return builder_for(plan_columns(Cursor.description, "people", "id"), settings)


def test_an_interrupted_sync_cancels_a_workspace_that_can_cancel() -> None:
    workspace = CancellingWorkspace()
    engine = SyncEngine(people_builder(), workspace, fetch_size=2)
    try:
        with pytest.raises(Interrupted):
            engine.run(Cursor())
    finally:
        engine.close()

    assert workspace.cancelled == 1


def test_an_interrupted_sync_leaves_a_workspace_without_cancel_alone() -> None:
    engine = SyncEngine(people_builder(), DryRunWorkspace(), fetch_size=2)
    try:
        with pytest.raises(Interrupted):  # not an AttributeError about cancel()
            engine.run(Cursor())
    finally:
        engine.close()


def test_the_real_parts_fill_the_seams() -> None:
    relationships = plan_columns((("id", 3), ("object_id", 3)), "relationships", "id")
    assert isinstance(CustomerIOHook("customerio_default"), CancellableWorkspace)
    assert not isinstance(DryRunWorkspace(), CancellableWorkspace)
    assert isinstance(builder_for(relationships, SyncSettings(import_type="relationships")), SplittingBuilder)
    assert not isinstance(people_builder(), SplittingBuilder)
