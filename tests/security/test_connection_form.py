"""What the Airflow UI's connection form receives for a ``customerio`` connection: the Track API key in the
password field (always masked), the App API key as a password-format extra field, a field with help text for
every extra the hook reads, and, for a connection that exists, both keys as ``***``. Asked of the API server
itself (its FastAPI app, in process, on the test session's metadata DB) and of the providers manager behind it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

pytestmark = [
    pytest.mark.usefixtures("airflow_db"),
    # the simple auth manager signs its tokens with the short key of the test configuration
    pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning"),
]

TRACK_KEY = "track-key-for-the-form-test"
APP_KEY = "app-key-for-the-form-test"
HOOK_EXTRAS = {"region", "app_api_key", "ca_bundle", "requests_per_second"}
"""Every connection extra ``CustomerIOHook`` reads (``parse_connection``): the form must offer each one."""


@pytest.fixture(scope="module")
def api() -> Iterator[Any]:
    """A client of the Airflow API server's app; the simple auth manager lets every request in as admin."""
    from fastapi.testclient import TestClient

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "True")
        from airflow.api_fastapi.app import create_app

        yield TestClient(create_app())  # no lifespan: the core API needs none of what it starts


def customerio_form(api: Any) -> dict[str, Any]:
    response = api.get("/ui/connections/hook_meta")
    assert response.status_code == 200, response.text
    [form] = [meta for meta in response.json() if meta["connection_type"] == "customerio"]
    return form


def test_the_form_labels_the_password_field_as_the_track_api_key(api) -> None:
    form = customerio_form(api)
    assert form["hook_name"] == "Customer.io"
    assert form["standard_fields"]["password"]["title"] == "Track API key"
    assert form["standard_fields"]["login"]["title"] == "Site ID"


def test_the_app_api_key_is_a_password_field_and_the_others_are_not(api) -> None:
    extra_fields = customerio_form(api)["extra_fields"]
    assert extra_fields["app_api_key"]["schema"]["format"] == "password"
    assert extra_fields["app_api_key"]["schema"]["title"] == "App API key"
    assert "format" not in extra_fields["region"]["schema"]
    assert "format" not in extra_fields["ca_bundle"]["schema"]


def test_the_form_has_a_field_with_help_text_for_every_extra_the_hook_reads(api) -> None:
    """The raw extra is hidden (below), so an extra without a field could not be set from the UI at all."""
    extra_fields = customerio_form(api)["extra_fields"]
    assert set(extra_fields) == HOOK_EXTRAS
    for name, field in extra_fields.items():
        assert field["schema"]["title"] and len(field["description"]) > 20, name
    rate = extra_fields["requests_per_second"]
    assert rate["schema"]["title"] == "Requests per second"
    assert rate["schema"]["type"] == ["number", "null"]  # the form shows a number input, empty by default
    assert rate["value"] is None
    assert "100" in rate["description"]


def test_requests_per_second_set_through_the_form_paces_the_hook(api) -> None:
    """The form posts its extra fields as the connection's extra JSON; the hook reads the value from there.

    A task's hook gets the connection from the metadata DB through the task API; here it is read from the
    DB directly and given to the hook's own parsing.
    """
    from airflow.models.connection import Connection

    from airflow_provider_cio.hooks.customerio import CustomerIOHook, parse_connection

    body = {
        "connection_id": "cio_form_rate",
        "conn_type": "customerio",
        "login": "site",
        "password": TRACK_KEY,
        "extra": json.dumps({"region": "us", "requests_per_second": 12.5}),
    }
    created = api.post("/api/v2/connections", json=body)
    try:
        assert created.status_code == 201, created.text
        hook = CustomerIOHook("cio_form_rate")
        hook.settings = parse_connection(Connection.get_connection_from_secrets("cio_form_rate"))
        assert hook.settings.requests_per_second == 12.5
        assert hook.sender.pacer.ceiling == 12.5  # the most requests per second the hook will send
        assert json.loads(api.get("/api/v2/connections/cio_form_rate").json()["extra"])["requests_per_second"] == 12.5
    finally:
        api.delete("/api/v2/connections/cio_form_rate")


def test_the_providers_manager_hides_the_raw_extra_field() -> None:
    """The JSON ``extra`` field would show the App API key in clear text: the form hides it."""
    from airflow.providers_manager import ProvidersManager

    behaviour = ProvidersManager().field_behaviours["customerio"]
    assert "extra" in behaviour["hidden_fields"]
    assert behaviour["relabeling"]["password"] == "Track API key"


def test_an_existing_connection_comes_back_with_both_keys_masked(api) -> None:
    body = {
        "connection_id": "cio_form_test",
        "conn_type": "customerio",
        "login": "site",
        "password": TRACK_KEY,
        "extra": json.dumps({"app_api_key": APP_KEY, "region": "eu"}),
    }
    created = api.post("/api/v2/connections", json=body)
    try:
        assert created.status_code == 201, created.text
        shown = api.get("/api/v2/connections/cio_form_test")
        assert shown.status_code == 200
        connection = shown.json()
        assert connection["password"] == "***"
        assert json.loads(connection["extra"]) == {"app_api_key": "***", "region": "eu"}
        listed = api.get("/api/v2/connections").text
        for text in (created.text, shown.text, listed):
            assert TRACK_KEY not in text and APP_KEY not in text
    finally:
        api.delete("/api/v2/connections/cio_form_test")
