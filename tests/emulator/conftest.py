"""Fixtures of the emulator's own tests: a fresh emulator per test and a small Track API client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from airflow_provider_cio.testing.emulator import WorkspaceEmulator


class TrackClient:
    """Sends Track and App API requests to an emulator over real HTTP, with its credentials."""

    def __init__(self, workspace: WorkspaceEmulator) -> None:
        self.workspace = workspace
        self.session = requests.Session()
        self.session.auth = (workspace.site_id, workspace.api_key)

    def batch(self, *ops: Any) -> requests.Response:
        """``POST /api/v2/batch`` with these ops."""
        return self.post("/api/v2/batch", json={"batch": list(ops)})

    def entity(self, op: Any) -> requests.Response:
        """``POST /api/v2/entity`` with one op."""
        return self.post("/api/v2/entity", json=op)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """A Track API call (Basic auth). ``verify`` goes with each request, because requests lets
        the ``REQUESTS_CA_BUNDLE`` environment variable override a session's ``verify``."""
        verify = self.workspace.ca_bundle or True
        return self.session.request(method, f"{self.workspace.url}{path}", timeout=30, verify=verify, **kwargs)

    def app(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """An App API call (Bearer auth)."""
        headers = {"Authorization": f"Bearer {self.workspace.app_api_key}"}
        verify = self.workspace.ca_bundle or True
        url = f"{self.workspace.url}{path}"
        return requests.request(method, url, headers=headers, timeout=30, verify=verify, **kwargs)

    def close(self) -> None:
        self.session.close()


def person(identifiers: dict[str, Any], attributes: dict[str, Any] | None = None, **op: Any) -> dict[str, Any]:
    """A person op (``identify`` unless ``action=`` says otherwise)."""
    built: dict[str, Any] = {"type": "person", "identifiers": identifiers, "action": "identify", **op}
    if attributes is not None:
        built["attributes"] = attributes
    return built


def obj(object_id: str, attributes: dict[str, Any] | None = None, type_id: Any = "1", **op: Any) -> dict[str, Any]:
    """An object op (``identify`` unless ``action=`` says otherwise)."""
    built: dict[str, Any] = {
        "type": "object",
        "identifiers": {"object_type_id": type_id, "object_id": object_id},
        "action": "identify",
        **op,
    }
    if attributes is not None:
        built["attributes"] = attributes
    return built


@pytest.fixture
def workspace() -> Iterator[WorkspaceEmulator]:
    with WorkspaceEmulator() as ws:
        yield ws


@pytest.fixture
def track(workspace: WorkspaceEmulator) -> Iterator[TrackClient]:
    client = TrackClient(workspace)
    yield client
    client.close()
