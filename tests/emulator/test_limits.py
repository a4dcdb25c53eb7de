"""Every size and count limit, at its edge and just over it."""

from __future__ import annotations

import base64
import contextlib
import socket

import orjson
import pytest

from airflow_provider_cio.testing.server import ADMIN_BODY_CAP, TRACK_BODY_CAP

from .conftest import obj, person


def errors_of(response) -> list[tuple[int, str, str]]:
    assert response.status_code in (200, 207), response.text
    return [(e["batch_index"], e["reason"], e["field"]) for e in response.json().get("errors", [])]


def filler(existing: dict, target: int) -> dict:
    """Attributes (each value under 1000 bytes) that bring ``existing`` to exactly ``target`` bytes of JSON."""
    added: dict = {}
    while len(orjson.dumps({**existing, **added})) + 950 < target:
        added[f"f{len(added)}"] = "v" * 900
    added["last"] = ""
    added["last"] = "v" * (target - len(orjson.dumps({**existing, **added})))
    return added


def link(object_id: str, attributes: dict | None = None) -> dict:
    item: dict = {"identifiers": {"object_type_id": "1", "object_id": object_id}}
    if attributes is not None:
        item["relationship_attributes"] = attributes
    return item


@pytest.mark.parametrize(("char", "width"), [("a", 1), ("é", 2), ("€", 3), ("😀", 4)])
def test_id_of_150_bytes_is_accepted_and_151_refused(workspace, track, char, width):
    fits = char * (150 // width) + "a" * (150 % width)
    over = fits + "a"
    assert len(fits.encode()) == 150
    response = track.batch(person({"id": fits}), person({"id": over}), person({"id": "x"}, {"id": over}))
    assert errors_of(response) == [(1, "too_large", "identifiers.id"), (2, "too_large", "attributes.id")]
    assert workspace.person(id=fits) is not None


def test_object_id_of_150_bytes_is_accepted_and_151_refused(workspace, track):
    response = track.batch(obj("o" * 150), obj("o" * 151))
    assert errors_of(response) == [(1, "too_large", "identifiers.object_id")]
    assert [o["object_id"] for o in workspace.objects()] == ["o" * 150]


def test_attribute_name_of_150_bytes_is_accepted_and_151_refused(workspace, track):
    fits, over = "é" * 75, "é" * 75 + "x"
    response = track.batch(person({"id": "1"}, {fits: "v"}), person({"id": "2"}, {over: "v"}))
    assert errors_of(response) == [(1, "too_large", "attributes")]
    assert workspace.person(id="1")["attributes"] == {fits: "v"}


@pytest.mark.parametrize(("char", "width"), [("a", 1), ("ß", 2), ("€", 3), ("😀", 4)])
def test_attribute_value_of_1000_bytes_is_accepted_and_1001_refused(workspace, track, char, width):
    fits = char * (1000 // width) + "a" * (1000 % width)
    assert len(fits.encode()) == 1000
    response = track.batch(person({"id": "1"}, {"token": fits}), person({"id": "2"}, {"token": fits + "a"}))
    assert errors_of(response) == [(1, "too_large", "attributes.token")]
    assert response.json()["errors"][0]["message"] == "value for attribute 'token' cannot be longer than 1000 bytes"
    assert workspace.person(id="1")["attributes"]["token"] == fits


def test_nested_value_is_measured_as_compact_json(workspace, track):
    fits = {"k": "v" * (1000 - len(b'{"k":""}'))}
    over = {"k": fits["k"] + "v"}
    assert len(orjson.dumps(fits)) == 1000
    response = track.batch(person({"id": "1"}, {"nested": fits}), person({"id": "2"}, {"nested": over}))
    assert errors_of(response) == [(1, "too_large", "attributes.nested")]
    assert workspace.person(id="1")["attributes"]["nested"] == fits


def test_300_attributes_per_op_are_accepted_and_301_refused(workspace, track):
    many = {f"a{i}": i for i in range(300)}
    response = track.batch(person({"id": "1"}, many), person({"id": "2"}, {**many, "one_more": 1}))
    assert errors_of(response) == [(1, "too_large", "attributes")]
    assert len(workspace.person(id="1")["attributes"]) == 300


def test_a_person_keeps_at_most_300_attributes_after_the_merge(workspace, track):
    track.batch(person({"id": "1"}, {f"a{i}": i for i in range(200)}))
    response = track.batch(
        person({"id": "1"}, {f"b{i}": i for i in range(100)}),  # 300: fine
        person({"id": "1"}, {"c0": 1}),  # 301: refused
        person({"id": "1"}, {"a0": None, "c0": 1}),  # one removed, one added: 300
    )
    assert errors_of(response) == [(1, "too_large", "attributes")]
    attributes = workspace.person(id="1")["attributes"]
    assert len(attributes) == 300
    assert "a0" not in attributes and attributes["c0"] == "1"


def test_id_and_email_do_not_count_among_a_persons_attributes(workspace, track):
    many = {f"a{i}": i for i in range(298)}
    response = track.batch(person({"id": "1"}, {**many, "email": "one@example.com", "id": "1"}))
    assert errors_of(response) == []
    track.batch(person({"id": "1"}, {"a298": 1, "a299": 1}))
    assert len(workspace.person(id="1")["attributes"]) == 300


def test_object_attributes_at_most_300_and_100_kb_after_the_merge(workspace, track):
    first = {f"a{i}": "v" * 900 for i in range(30)}
    second = {f"b{i}": "v" * 900 for i in range(30)}
    third = {f"c{i}": "v" * 900 for i in range(30)}
    assert errors_of(track.batch(obj("acme", first), obj("acme", second), obj("acme", third))) == []
    fill = filler(workspace.objects()[0]["attributes"], 100_000)
    response = track.batch(obj("acme", fill), obj("acme", {"more": "v"}))
    assert errors_of(response) == [(1, "too_large", "attributes")]
    assert len(orjson.dumps(workspace.objects()[0]["attributes"])) == 100_000
    track.batch(obj("counted", {f"a{i}": 1 for i in range(300)}))
    assert errors_of(track.batch(obj("counted", {"a300": 1}))) == [(0, "too_large", "attributes")]


def test_relationship_attributes_at_most_300_and_100_kb_after_the_merge(workspace, track):
    track.batch(person({"id": "1"}), obj("acme"))
    field = "cio_relationships[0].relationship_attributes"
    chunks = [{f"k{n}_{i}": "v" * 900 for i in range(30)} for n in range(3)]
    for chunk in chunks:
        assert (
            errors_of(
                track.batch(person({"id": "1"}, action="add_relationships", cio_relationships=[link("acme", chunk)]))
            )
            == []
        )
    fill = filler(workspace.relationships()[0]["attributes"], 100_000)
    response = track.batch(
        person({"id": "1"}, action="add_relationships", cio_relationships=[link("acme", fill)]),
        person({"id": "1"}, action="add_relationships", cio_relationships=[link("acme", {"more": "v"})]),
    )
    assert errors_of(response) == [(1, "too_large", field)]
    assert len(orjson.dumps(workspace.relationships()[0]["attributes"])) == 100_000
    many = {f"a{i}": 1 for i in range(300)}
    track.batch(obj("other"))
    response = track.batch(
        person({"id": "1"}, action="add_relationships", cio_relationships=[link("other", many)]),
        person({"id": "1"}, action="add_relationships", cio_relationships=[link("other", {"a300": 1})]),
        person({"id": "1"}, action="add_relationships", cio_relationships=[link("other", {**many, "x": 1})]),
    )
    assert errors_of(response) == [(1, "too_large", field), (2, "too_large", field)]


def test_email_over_1000_bytes_is_too_large(track):
    address = "a" * 990 + "@example.com"
    response = track.batch(person({"email": address}), person({"id": "1"}, {"email": address}))
    assert errors_of(response) == [(0, "too_large", "identifiers.email"), (1, "too_large", "attributes.email")]


GIB = 1 << 30


def exchange(workspace, head: str, sent: bytes, *, authorized: bool = True) -> bytes:
    """Send a request's head and the first ``sent`` bytes of its body over a raw socket, then read the
    answer until the server closes the connection. A server that waited for the rest of the body would
    never answer (the read times out and the test fails)."""
    token = base64.b64encode(f"{workspace.site_id}:{workspace.api_key}".encode()).decode()
    auth = f"Authorization: Basic {token}\r\n" if authorized else ""
    with socket.create_connection((workspace.host, workspace.port), timeout=20) as connection:
        connection.sendall(f"{head}Host: x\r\n{auth}\r\n".encode())
        with contextlib.suppress(OSError):  # the server may close while the body is still going out
            connection.sendall(sent)
        received = b""
        with contextlib.suppress(ConnectionResetError):
            while piece := connection.recv(65536):
                received += piece
    return received


def answer_of(received: bytes) -> tuple[int, dict[str, str], dict]:
    """Status, headers and JSON body of a raw HTTP answer."""
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, orjson.loads(body)


def test_a_track_body_declared_over_the_cap_is_413_before_it_is_sent(workspace):
    received = exchange(
        workspace, f"POST /api/v2/batch HTTP/1.1\r\nContent-Length: {GIB}\r\n", b'{"batch": [' + b" " * 10_000
    )

    status, headers, body = answer_of(received)
    assert status == 413 and headers["connection"] == "close"
    assert body["errors"][0]["message"] == f"request body is {GIB} bytes; the limit is 500000"
    assert [entry["status"] for entry in workspace.requests_log()] == [413]


def test_a_chunked_track_body_is_read_only_up_to_the_cap(workspace):
    head = "POST /api/v2/batch HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
    one_chunk_of_a_gib = f"{GIB:x}\r\n".encode() + b" " * (TRACK_BODY_CAP + 200_000)

    status, headers, body = answer_of(exchange(workspace, head, one_chunk_of_a_gib))

    assert status == 413 and headers["connection"] == "close"
    assert body["errors"][0]["message"] == f"request body is over {TRACK_BODY_CAP} bytes; the limit is 500000"
    assert workspace.people() == []


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_track_request_without_credentials_is_401_before_its_body_is_read(workspace, framing):
    head = "POST /api/v2/batch HTTP/1.1\r\n"  # a body under the cap, of which a part is sent
    head += "Content-Length: 400000\r\n" if framing == "content-length" else "Transfer-Encoding: chunked\r\n"
    sent = b"1000\r\n" + b" " * 0x1000 if framing == "chunked" else b" " * 10_000

    status, headers, body = answer_of(exchange(workspace, head, sent, authorized=False))

    assert (status, body) == (401, {"meta": {"error": "Unauthorized request"}})
    assert headers["connection"] == "close"


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_an_admin_body_over_64_kib_is_413(workspace, framing):
    head = "POST /_emulator/reset HTTP/1.1\r\n"
    head += f"Content-Length: {GIB}\r\n" if framing == "content-length" else "Transfer-Encoding: chunked\r\n"
    sent = f"{GIB:x}\r\n".encode() + b" " * (ADMIN_BODY_CAP + 100_000) if framing == "chunked" else b"{}"

    status, headers, body = answer_of(exchange(workspace, head, sent, authorized=False))

    assert (status, body) == (413, {"meta": {"error": f"request body over {ADMIN_BODY_CAP} bytes"}})
    assert headers["connection"] == "close"
    assert workspace.requests_log() == []  # the admin routes are not logged
