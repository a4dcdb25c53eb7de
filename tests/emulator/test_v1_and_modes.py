"""v1 identify (with the official ``customerio`` client over TLS), TLS, in-subprocess mode and the CLI."""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys

import pytest
import requests
from customerio import CustomerIO, CustomerIOException

from airflow_provider_cio.testing.emulator import WorkspaceEmulator

from .conftest import TrackClient, person


@pytest.fixture
def tls_workspace():
    with WorkspaceEmulator(tls=True) as ws:
        yield ws


def official_client(workspace: WorkspaceEmulator, monkeypatch: pytest.MonkeyPatch) -> CustomerIO:
    # The client's requests session has no CA option, and requests lets REQUESTS_CA_BUNDLE override
    # a session's ``verify``: the environment variable is the way to make it trust the emulator.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", workspace.ca_bundle)
    return CustomerIO(workspace.site_id, workspace.api_key, host=workspace.host, port=workspace.port, retries=0)


def test_official_client_identifies_over_tls(tls_workspace, monkeypatch):
    assert tls_workspace.url.startswith("https://127.0.0.1:")
    with official_client(tls_workspace, monkeypatch) as client:
        client.identify(id=42, email="jane@example.com", plan="pro", seats=3, paid=True)
        client.identify(id="jane.doe@example.com", nickname="JD")  # an email in the path
        client.identify(id="a/b c", plan="free")  # percent-encoded in the path
    assert tls_workspace.person(id="42") == {
        "cio_id": tls_workspace.person(id="42")["cio_id"],
        "id": "42",
        "email": "jane@example.com",
        "attributes": {"plan": "pro", "seats": "3", "paid": "true"},
    }
    by_email = tls_workspace.person(email="jane.doe@example.com")
    assert (by_email["id"], by_email["attributes"]) == (None, {"nickname": "JD"})
    assert tls_workspace.person(id="a/b c")["attributes"] == {"plan": "free"}
    assert tls_workspace.stats()["PUT /api/v1/customers/{identifier}"]["ops"] == {"accepted": 3, "failed": 0}


def test_official_client_sees_v1_errors(tls_workspace, monkeypatch):
    with official_client(tls_workspace, monkeypatch) as client, pytest.raises(CustomerIOException) as raised:
        client.identify(id="1", token="t" * 1001)
    assert "value for attribute 'token' cannot be longer than 1000 bytes" in str(raised.value)
    assert tls_workspace.people() == []


def test_v1_error_shape_and_identifier_kinds(workspace, track):
    url = f"{workspace.url}/api/v1/customers"
    too_long = track.session.put(f"{url}/1", json={"token": "t" * 1001}, timeout=10)
    assert too_long.status_code == 400
    assert too_long.json() == {"meta": {"errors": ["value for attribute 'token' cannot be longer than 1000 bytes"]}}
    assert track.session.put(f"{url}/1", data=b"[1]", timeout=10).status_code == 400
    assert track.session.put(f"{url}/1", data=b"{", timeout=10).status_code == 400
    workspace.settings(identify_by="id")
    assert track.session.put(f"{url}/a@example.com", json={}, timeout=10).status_code == 200
    assert workspace.person(id="a@example.com") is not None  # an id that looks like an email
    workspace.settings(identify_by="email")
    refused = track.session.put(f"{url}/7", json={}, timeout=10)
    assert refused.status_code == 400
    assert refused.json()["meta"]["errors"] == ["this workspace identifies people by email, not by id"]
    assert track.session.put(f"{url}/b@example.com", json={"id": "8"}, timeout=10).status_code == 200
    assert workspace.person(email="b@example.com")["id"] == "8"


def test_v1_delete_removes_the_person(workspace, track):
    track.batch(person({"id": "1"}), person({"email": "b@example.com"}))
    url = f"{workspace.url}/api/v1/customers"
    assert track.session.delete(f"{url}/1", timeout=10).json() == {}
    assert track.session.delete(f"{url}/B%40example.com", timeout=10).status_code == 200
    assert track.session.delete(f"{url}/nobody", timeout=10).status_code == 200
    assert workspace.people() == []


def test_tls_certificate_names_localhost_and_the_ip_and_is_removed_at_stop():
    emulator = WorkspaceEmulator(tls=True).start()
    try:
        bundle = emulator.ca_bundle
        assert bundle is not None
        for host in ("127.0.0.1", "localhost"):
            url = f"https://{host}:{emulator.port}/api/v1/accounts/region"
            response = requests.get(url, auth=(emulator.site_id, emulator.api_key), verify=bundle, timeout=10)
            assert response.status_code == 200
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(emulator.url + "/_emulator/people", verify=True, timeout=10)  # system CAs only
        context = ssl.create_default_context(cafile=bundle)
        assert context.cert_store_stats()["x509_ca"] == 1
    finally:
        emulator.stop()
    assert not os.path.exists(bundle)
    assert emulator.ca_bundle is None


def test_connection_json_for_airflow(tls_workspace):
    connection = tls_workspace.connection()
    assert connection == {
        "conn_type": "customerio",
        "login": "emulator-site",
        "password": "emulator-track-key",
        "host": "127.0.0.1",
        "port": tls_workspace.port,
        "schema": "https",
        "extra": {"app_api_key": "emulator-app-key", "ca_bundle": tls_workspace.ca_bundle},
    }
    env = tls_workspace.connection_env("cio_test")
    assert list(env) == ["AIRFLOW_CONN_CIO_TEST"]
    assert json.loads(env["AIRFLOW_CONN_CIO_TEST"]) == connection


def test_plain_http_connection_and_custom_credentials():
    with WorkspaceEmulator(site_id="s", api_key="k", app_api_key="a") as ws:
        assert ws.scheme == "http" and ws.ca_bundle is None
        assert ws.connection() == {
            "conn_type": "customerio",
            "login": "s",
            "password": "k",
            "host": "127.0.0.1",
            "port": ws.port,
            "schema": "http",
            "extra": {"app_api_key": "a"},
        }
        assert requests.get(f"{ws.url}/api/v1/accounts/region", auth=("s", "k"), timeout=10).status_code == 200
    with pytest.raises(RuntimeError):
        _ = ws.url


def test_in_subprocess_mode_serves_the_same_api():
    with WorkspaceEmulator(in_subprocess=True, tls=True, site_id="sub") as ws:
        process = ws._process
        assert process is not None and process.poll() is None
        client = TrackClient(ws)
        assert client.batch(person({"id": "1"}, {"plan": "pro"})).status_code == 200
        assert ws.person(id="1")["attributes"] == {"plan": "pro"}
        assert ws.create_segment("VIP")["id"] == 1
        assert ws.stats()["POST /api/v2/batch"]["ops"]["accepted"] == 1
        client.close()
    assert process.poll() is not None


def test_cli_prints_its_url_and_stops_on_sigterm():
    command = [sys.executable, "-m", "airflow_provider_cio.testing", "--port", "0", "--api-key", "cli-key"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        assert line.startswith("listening on http://127.0.0.1:")
        url = line.split()[-1]
        response = requests.get(f"{url}/api/v1/accounts/region", auth=("emulator-site", "cli-key"), timeout=10)
        assert response.json()["url"] == url
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 0
    assert process.stdout.read() == ""  # exactly one line on stdout
    process.stdout.close()
    process.stderr.close()


def test_cli_with_generated_tls_certificate_names_it_on_stderr():
    command = [sys.executable, "-m", "airflow_provider_cio.testing", "--tls"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        bundle = process.stderr.readline().split(": ", 1)[1].strip()
        url = line.split()[-1]
        assert url.startswith("https://")
        assert requests.get(f"{url}/_emulator/people", verify=bundle, timeout=10).json() == []
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(10) == 0
    assert not os.path.exists(bundle)
    process.stdout.close()
    process.stderr.close()


def test_cli_refuses_a_certificate_without_its_key():
    result = subprocess.run(
        [sys.executable, "-m", "airflow_provider_cio.testing", "--tls", "--certificate", "x.pem"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "--private-key" in result.stderr


def test_v1_identify_has_no_32000_byte_op_limit(workspace, track):
    attributes = {f"a{i}": "v" * 900 for i in range(40)}  # about 37 kB
    response = track.session.put(f"{workspace.url}/api/v1/customers/1", json=attributes, timeout=10)
    assert response.status_code == 200
    assert len(workspace.person(id="1")["attributes"]) == 40
