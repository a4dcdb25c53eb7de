"""Authentication, routing and HTTP plumbing of the emulator, over real HTTP."""

from __future__ import annotations

import base64
import socket

import requests

from .conftest import person


def test_track_api_requires_basic_auth(workspace, track):
    url = f"{workspace.url}/api/v2/batch"
    body = {"batch": [person({"id": "1"})]}
    wrong_key = requests.post(url, json=body, auth=(workspace.site_id, "wrong"), timeout=10)
    no_auth = requests.post(url, json=body, timeout=10)
    bearer = requests.post(url, json=body, headers={"Authorization": f"Bearer {workspace.api_key}"}, timeout=10)
    for response in (wrong_key, no_auth, bearer):
        assert response.status_code == 401
        assert response.json() == {"meta": {"error": "Unauthorized request"}}
    assert workspace.people() == []
    assert track.batch(person({"id": "1"})).status_code == 200


def test_basic_auth_is_decoded_not_only_compared(workspace):
    token = base64.b64encode(f"{workspace.site_id}:{workspace.api_key}".encode()).decode()
    response = requests.get(
        f"{workspace.url}/api/v1/accounts/region", headers={"Authorization": f"basic  {token}"}, timeout=10
    )
    assert response.status_code == 200


def test_app_api_requires_bearer_auth(workspace, track):
    url = f"{workspace.url}/v1/segments"
    basic = requests.get(url, auth=(workspace.site_id, workspace.api_key), timeout=10)
    wrong = requests.get(url, headers={"Authorization": "Bearer nope"}, timeout=10)
    for response in (basic, wrong):
        assert response.status_code == 401
        assert response.json() == {"meta": {"error": "Unauthorized request"}}
    assert track.app("GET", "/v1/segments").json() == {"segments": []}


def test_accounts_region_is_the_credential_check(workspace, track):
    response = track.get("/api/v1/accounts/region")
    assert response.status_code == 200
    assert response.json() == {"url": workspace.url, "region": "us", "environment_id": 3}
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    refused = requests.get(f"{workspace.url}/api/v1/accounts/region", auth=("x", "y"), timeout=10)
    assert refused.status_code == 401
    assert refused.json() == {"meta": {"error": "Unauthorized request"}}


def test_unknown_route_is_404_and_wrong_method_405(workspace, track):
    missing = track.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.json() == {"meta": {"error": "not found"}}
    wrong_method = track.get("/api/v2/batch")
    assert wrong_method.status_code == 405
    assert wrong_method.headers["Allow"] == "POST"
    assert requests.delete(f"{workspace.url}/_emulator/people", timeout=10).status_code == 405
    assert requests.get(f"{workspace.url}/_emulator/nothing", timeout=10).status_code == 404


def test_success_body_is_empty_object(track):
    response = track.batch(person({"id": "1"}, {"plan": "pro"}))
    assert response.status_code == 200
    assert response.content == b"{}"
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"


def test_keep_alive_serves_many_requests_on_one_connection(workspace):
    host, port = workspace.host, workspace.port
    request = f"GET /_emulator/people HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\n\r\n".encode() * 3
    with socket.create_connection((host, port), timeout=10) as connection:
        connection.sendall(request)
        received = b""
        while received.count(b"HTTP/1.1 200 OK") < 3:
            piece = connection.recv(65536)
            assert piece, "the server closed a keep-alive connection"
            received += piece
    assert b"Connection: close" not in received


def test_chunked_request_body_is_read(workspace, track):
    def chunks():
        yield b'{"batch": [{"type": "person", "identifiers": {"id": "7"}, '
        yield b'"action": "identify", "attributes": {"plan": "pro"}}]}'

    response = track.post("/api/v2/batch", data=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 200
    assert workspace.person(id="7")["attributes"] == {"plan": "pro"}


def test_bad_content_length_is_400_and_closes(workspace):
    token = base64.b64encode(f"{workspace.site_id}:{workspace.api_key}".encode())
    with socket.create_connection((workspace.host, workspace.port), timeout=10) as connection:
        connection.sendall(
            b"POST /api/v2/batch HTTP/1.1\r\nHost: x\r\nAuthorization: Basic "
            + token
            + b"\r\nContent-Length: abc\r\n\r\n"
        )
        received = b""
        while piece := connection.recv(65536):
            received += piece
    assert received.startswith(b"HTTP/1.1 400 ")
    assert b"Connection: close" in received
