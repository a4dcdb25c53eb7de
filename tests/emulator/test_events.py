"""Events: stored per person, deduplicated by their ULID id, their limits, the listing, stats and reset."""

from __future__ import annotations

import pytest

from .conftest import person

ULID = "01HGW2N7EHJ7RQKX3T5Z9B8C4D"
OTHER_ULID = "01HGW2N7EHJ7RQKX3T5Z9B8C4E"


def event(identifiers: dict, name: str = "purchase", **fields) -> dict:
    return {"type": "person", "identifiers": identifiers, "action": "event", "name": name, **fields}


def ok(response) -> None:
    assert (response.status_code, response.json()) == (200, {}), response.text


def errors_of(response) -> list[tuple[int, str, str]]:
    assert response.status_code == 207, response.text
    return [(e["batch_index"], e["reason"], e["field"]) for e in response.json()["errors"]]


def test_an_event_is_listed_with_the_identifiers_it_was_sent_with(workspace, track):
    ok(track.batch(person({"id": "42"}, {"plan": "pro"})))
    ok(track.batch(event({"id": "42"}, id=ULID, timestamp=1704164645, attributes={"total": 19.5, "sku": "A1"})))
    assert workspace.events() == [
        {
            "person": {"id": "42"},
            "name": "purchase",
            "id": ULID,
            "timestamp": 1704164645,
            "attributes": {"total": 19.5, "sku": "A1"},
        }
    ]
    assert workspace.person(id="42")["attributes"] == {"plan": "pro"}  # event data is not a person attribute


def test_an_event_with_an_id_already_stored_is_accepted_and_not_stored_again(workspace, track):
    ok(track.batch(event({"id": "42"}, id=ULID, timestamp=1), event({"id": "42"}, id=ULID, timestamp=2)))
    ok(track.batch(event({"id": "42"}, id=ULID.lower(), timestamp=3)))  # ULIDs are case-insensitive
    ok(track.batch(event({"id": "42"}, id=OTHER_ULID, timestamp=4)))
    assert [(e["id"], e["timestamp"]) for e in workspace.events()] == [(ULID, 1), (OTHER_ULID, 4)]
    assert workspace.stats()["POST /api/v2/batch"]["ops"] == {"accepted": 4, "failed": 0}


def test_events_without_an_id_are_all_stored(workspace, track):
    ok(track.batch(event({"id": "42"}, timestamp=7), event({"id": "42"}, timestamp=7)))
    assert [(e["id"], e["timestamp"]) for e in workspace.events()] == [(None, 7), (None, 7)]


@pytest.mark.parametrize(
    "bad_id",
    [
        "01HGW2N7EHJ7RQKX3T5Z9B8C4",  # 25 characters
        "01HGW2N7EHJ7RQKX3T5Z9B8C4DX",  # 27
        "81HGW2N7EHJ7RQKX3T5Z9B8C4D",  # first character over 7: more than 48 bits of time
        "01HGW2N7EHJ7RQKX3T5Z9B8C4U",  # U is not Crockford base 32
        "01HGW2N7EHJ7RQKX3T5Z9B8C4I",  # nor I
        "order-1",
        42,
    ],
)
def test_a_malformed_ulid_is_an_item_error_and_nothing_is_stored(workspace, track, bad_id):
    response = track.batch(event({"id": "42"}, id=OTHER_ULID), event({"id": "43"}, id=bad_id))
    assert errors_of(response) == [(1, "invalid", "id")]
    assert "ULID" in response.json()["errors"][0]["message"]
    assert [e["person"] for e in workspace.events()] == [{"id": "42"}]
    assert workspace.person(id="43") is None


def test_event_name_is_required_and_at_most_100_bytes(workspace, track):
    response = track.batch(
        event({"id": "1"}, name="é" * 50),  # 100 bytes: fine
        event({"id": "1"}, name="é" * 50 + "x"),  # 101 bytes
        {"type": "person", "identifiers": {"id": "1"}, "action": "event"},
        event({"id": "1"}, name=""),
    )
    assert errors_of(response) == [(1, "too_large", "name"), (2, "required", "name"), (3, "invalid", "name")]
    assert "100 bytes" in response.json()["errors"][0]["message"]
    assert [e["name"] for e in workspace.events()] == ["é" * 50]


def test_event_data_over_100000_bytes_is_refused_by_its_own_limit(workspace, track):
    """Such an event is also over the 32,000-byte op limit; the error names the event data limit."""
    exactly = {"blob": "x" * (100_000 - len('{"blob":""}'))}
    response = track.batch(
        event({"id": "1"}, attributes={"blob": "x" * 100_000}),
        event({"id": "1"}, attributes=exactly),
        event({"id": "1"}, attributes={"small": 1}),
    )
    assert errors_of(response) == [(0, "too_large", "attributes"), (1, "too_large", "")]
    assert "event data may be at most 100000 bytes" in response.json()["errors"][0]["message"]
    assert "op may be at most 32000 bytes" in response.json()["errors"][1]["message"]
    assert [e["attributes"] for e in workspace.events()] == [{"small": 1}]


def test_bad_timestamp_and_attributes_are_item_errors(workspace, track):
    response = track.batch(
        event({"id": "1"}, timestamp="2024-01-01"),
        event({"id": "1"}, timestamp=-1),
        event({"id": "1"}, attributes=["a"]),
    )
    assert errors_of(response) == [
        (0, "invalid", "timestamp"),
        (1, "invalid", "timestamp"),
        (2, "invalid", "attributes"),
    ]
    assert workspace.events() == []


def test_an_event_without_timestamp_gets_the_time_it_was_received(workspace, track):
    ok(track.batch(event({"id": "1"})))
    [stored] = workspace.events()
    assert isinstance(stored["timestamp"], int) and stored["timestamp"] > 1_700_000_000


def test_an_event_creates_its_person_when_nobody_has_the_identifier(workspace, track):
    ok(track.batch(event({"email": "New@Example.com"}, id=ULID), event({"id": "7"})))
    assert [(p["id"], p["email"], p["attributes"]) for p in workspace.people()] == [
        (None, "New@Example.com", {}),
        ("7", None, {}),
    ]
    ok(track.batch(event({"email": "new@example.com"}, id=OTHER_ULID)))  # the same person, found case-insensitively
    assert len(workspace.people()) == 2
    assert [e["person"] for e in workspace.events()] == [
        {"email": "New@Example.com"},
        {"id": "7"},
        {"email": "new@example.com"},
    ]


def test_an_event_by_unknown_cio_id_is_refused(workspace, track):
    assert errors_of(track.batch(event({"cio_id": "nobody"}))) == [(0, "not_found", "identifiers.cio_id")]
    assert workspace.events() == [] and workspace.people() == []


def test_an_event_of_a_suppressed_person_is_ignored(workspace, track):
    workspace.suppress(id="9")
    ok(track.batch(event({"id": "9"}, id=ULID)))
    assert workspace.events() == [] and workspace.people() == []
    assert workspace.activities()[0]["data"]["reason"] == "person is suppressed"


def test_deleting_a_person_drops_its_events_but_their_ids_still_deduplicate(workspace, track):
    ok(track.batch(event({"id": "1"}, id=ULID), event({"id": "2"}, id=OTHER_ULID)))
    ok(track.batch(person({"id": "1"}, action="delete")))
    assert [e["person"] for e in workspace.events()] == [{"id": "2"}]
    ok(track.batch(event({"id": "1"}, id=ULID)))
    assert [e["person"] for e in workspace.events()] == [{"id": "2"}]


def test_event_ops_count_in_the_stats_like_other_ops(workspace, track):
    track.batch(event({"id": "1"}, id=ULID), event({"id": "1"}, id="bad"), person({"id": "2"}))
    ok(track.entity(event({"id": "1"}, id=OTHER_ULID)))
    stats = workspace.stats()
    assert stats["POST /api/v2/batch"]["ops"] == {"accepted": 2, "failed": 1}
    assert stats["POST /api/v2/entity"]["ops"] == {"accepted": 1, "failed": 0}


def test_reset_clears_events_and_their_ids(workspace, track):
    ok(track.batch(event({"id": "1"}, id=ULID)))
    workspace.reset()
    assert workspace.events() == []
    ok(track.batch(event({"id": "1"}, id=ULID)))
    assert len(workspace.events()) == 1
