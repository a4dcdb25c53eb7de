"""``POST /api/v2/batch`` and ``POST /api/v2/entity``: statuses, item errors and size limits."""

from __future__ import annotations

import orjson
import pytest

from .conftest import obj, person


def sized_op(size: int, person_id: str = "big") -> dict:
    """A person op whose compact JSON is exactly ``size`` bytes (every attribute value under 1000 bytes)."""
    op = person({"id": person_id}, {})
    attributes = op["attributes"]
    index = 0
    while len(orjson.dumps(op)) + 1000 < size:
        attributes[f"a{index}"] = "x" * 900
        index += 1
    attributes["pad"] = ""
    attributes["pad"] = "y" * (size - len(orjson.dumps(op)))
    assert len(orjson.dumps(op)) == size
    return op


def sized_batch(size: int) -> bytes:
    """A ``{"batch": [...]}`` body of exactly ``size`` bytes of small person ops."""
    ops = [person({"id": "last"}, {"pad": ""})]
    while len(orjson.dumps({"batch": ops})) + 1500 < size:
        ops.insert(0, person({"id": f"p{len(ops)}"}, {"note": "n" * 900}))
    ops[-1]["attributes"]["pad"] = "z" * (size - len(orjson.dumps({"batch": ops})))
    body = orjson.dumps({"batch": ops})
    assert len(body) == size
    return body


def test_all_ops_accepted_is_200_empty_object(workspace, track):
    response = track.batch(person({"id": "1"}, {"plan": "pro"}), obj("acme", {"name": "Acme"}))
    assert (response.status_code, response.json()) == (200, {})
    assert [p["id"] for p in workspace.people()] == ["1"]
    assert workspace.objects() == [{"object_type_id": "1", "object_id": "acme", "attributes": {"name": "Acme"}}]


def test_some_ops_failed_is_207_with_exact_indexes_and_others_applied(workspace, track):
    response = track.batch(
        person({"id": "1"}, {"plan": "pro"}),
        person({"id": "2"}, {"email": "not-an-email"}),
        person({"id": "3"}),
        person({"id": ""}),
        obj("acme", type_id="9"),
        person({"id": "6"}, {"plan": "x" * 1001}),
    )
    assert response.status_code == 207
    errors = response.json()["errors"]
    assert [e["batch_index"] for e in errors] == [1, 3, 4, 5]
    assert [(e["reason"], e["field"]) for e in errors] == [
        ("invalid", "attributes.email"),
        ("required", "identifiers.id"),
        ("invalid", "identifiers.object_type_id"),
        ("too_large", "attributes.plan"),
    ]
    assert all(e["message"] for e in errors)
    assert [p["id"] for p in workspace.people()] == ["1", "3"]


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", b'{"ops": []}', b'{"batch": {}}', b""],
    ids=["not-json", "array", "no-batch", "batch-not-list", "empty"],
)
def test_malformed_batch_request_is_400(track, body):
    response = track.post("/api/v2/batch", data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert (error["reason"], error["field"]) == ("invalid", "batch")
    assert error["message"]


@pytest.mark.parametrize(
    ("op", "reason", "field"),
    [
        ("a string", "invalid", ""),
        ({"identifiers": {"id": "1"}, "action": "identify"}, "required", "type"),
        ({"type": "event", "identifiers": {"id": "1"}, "action": "identify"}, "invalid", "type"),
        ({"type": "person", "identifiers": {"id": "1"}}, "required", "action"),
        ({"type": "person", "identifiers": {"id": "1"}, "action": "merge"}, "invalid", "action"),
        ({"type": "person", "action": "identify"}, "required", "identifiers"),
        ({"type": "person", "identifiers": {}, "action": "identify"}, "required", "identifiers"),
        (
            {"type": "person", "identifiers": {"id": "1", "email": "a@b.co"}, "action": "identify"},
            "invalid",
            "identifiers",
        ),
        ({"type": "person", "identifiers": {"phone": "1"}, "action": "identify"}, "invalid", "identifiers.phone"),
        ({"type": "person", "identifiers": {"id": True}, "action": "identify"}, "invalid", "identifiers.id"),
        ({"type": "person", "identifiers": {"cio_id": ""}, "action": "identify"}, "invalid", "identifiers.cio_id"),
        (
            {"type": "person", "identifiers": {"id": "1"}, "action": "identify", "attributes": [1]},
            "invalid",
            "attributes",
        ),
        (
            {"type": "person", "identifiers": {"id": "1"}, "action": "identify", "attributes": {"": 1}},
            "invalid",
            "attributes",
        ),
        (
            {"type": "person", "identifiers": {"id": "1"}, "action": "identify", "attributes": {"id": False}},
            "invalid",
            "attributes.id",
        ),
        (
            {"type": "person", "identifiers": {"cio_id": "nobody"}, "action": "identify"},
            "not_found",
            "identifiers.cio_id",
        ),
        (
            {"type": "object", "identifiers": {"object_id": "a"}, "action": "identify"},
            "required",
            "identifiers.object_type_id",
        ),
        (
            {"type": "object", "identifiers": {"object_type_id": "1"}, "action": "identify"},
            "required",
            "identifiers.object_id",
        ),
        (
            {"type": "object", "identifiers": {"object_type_id": "x", "object_id": "a"}, "action": "identify"},
            "invalid",
            "identifiers.object_type_id",
        ),
        (
            {"type": "object", "identifiers": {"object_type_id": "1", "object_id": "a", "x": 1}, "action": "identify"},
            "invalid",
            "identifiers.x",
        ),
    ],
)
def test_invalid_op_gets_an_item_error(workspace, track, op, reason, field):
    response = track.batch(person({"id": "ok"}), op)
    assert response.status_code == 207
    assert response.json()["errors"] == [
        {"batch_index": 1, "reason": reason, "field": field, "message": response.json()["errors"][0]["message"]}
    ]
    assert [p["id"] for p in workspace.people()] == ["ok"]


def test_numbers_are_accepted_as_ids_and_object_types(workspace, track):
    assert track.batch(person({"id": 42}), obj(7, type_id=1)).status_code == 200
    assert workspace.person(id="42") is not None
    assert workspace.objects()[0]["object_type_id"] == "1"
    assert workspace.objects()[0]["object_id"] == "7"


def test_entity_applies_one_op(workspace, track):
    response = track.entity(person({"id": "1"}, {"plan": "pro"}))
    assert (response.status_code, response.content) == (200, b"{}")
    assert workspace.person(id="1")["attributes"] == {"plan": "pro"}


def test_entity_with_invalid_op_is_400_without_batch_index(workspace, track):
    response = track.entity(person({"id": "1"}, {"email": "nope"}))
    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {
                "reason": "invalid",
                "field": "attributes.email",
                "message": "'nope' is not a valid email address (RFC 5322)",
            }
        ]
    }
    assert workspace.people() == []
    not_json = track.post("/api/v2/entity", data=b"{", headers={"Content-Type": "application/json"})
    assert not_json.status_code == 400


def test_op_of_exactly_32000_bytes_is_accepted_and_32001_refused(workspace, track):
    response = track.batch(sized_op(32_000, "fits"), sized_op(32_001, "too-big"))
    assert response.status_code == 207
    [error] = response.json()["errors"]
    assert (error["batch_index"], error["reason"], error["field"]) == (1, "too_large", "")
    assert "32001" in error["message"]
    assert [p["id"] for p in workspace.people()] == ["fits"]


def test_entity_over_32000_bytes_is_refused(workspace, track):
    response = track.entity(sized_op(32_001))
    assert response.status_code == 400
    assert response.json()["errors"][0]["reason"] == "too_large"
    assert track.entity(sized_op(32_000)).status_code == 200


def test_op_size_is_measured_as_compact_json_not_as_sent(workspace, track):
    op = sized_op(32_000)
    spaced = orjson.dumps({"batch": [op]}).replace(b'":"', b'" : "')  # more bytes on the wire
    response = track.post("/api/v2/batch", data=spaced, headers={"Content-Type": "application/json"})
    assert response.status_code == 200


def test_batch_of_exactly_500000_bytes_is_accepted(workspace, track):
    body = sized_batch(500_000)
    response = track.post("/api/v2/batch", data=body, headers={"Content-Type": "application/json"})
    assert (response.status_code, response.json()) == (200, {})
    assert len(workspace.people()) == len(orjson.loads(body)["batch"])


def test_batch_over_500000_bytes_is_413_and_applies_nothing(workspace, track):
    response = track.post("/api/v2/batch", data=sized_batch(500_001), headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json() == {
        "errors": [
            {"reason": "too_large", "field": "batch", "message": "request body is 500001 bytes; the limit is 500000"}
        ]
    }
    assert workspace.people() == []
    # the body was read and discarded: the same keep-alive connection goes on working
    assert track.batch(person({"id": "after"})).status_code == 200
    assert [entry["status"] for entry in workspace.requests_log()] == [413, 200]


def test_chunked_batch_over_500000_bytes_is_413(workspace, track):
    body = sized_batch(600_000)
    pieces = (body[i : i + 100_000] for i in range(0, len(body), 100_000))
    response = track.post("/api/v2/batch", data=pieces, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert "600000" in response.json()["errors"][0]["message"]
    assert workspace.people() == []


def test_errors_are_sorted_by_batch_index(track):
    ops = [person({"id": str(i)}, {"email": "bad"} if i % 3 == 0 else {}) for i in range(30)]
    errors = track.batch(*ops).json()["errors"]
    assert [e["batch_index"] for e in errors] == list(range(0, 30, 3))


def test_a_refused_op_changes_nothing(workspace, track):
    track.batch(person({"id": "1"}, {"plan": "free", "seats": 1}))
    response = track.batch(person({"id": "1"}, {"plan": "pro", "seats": None, "bad": "x" * 1001}))
    assert response.status_code == 207
    assert workspace.person(id="1")["attributes"] == {"plan": "free", "seats": "1"}
