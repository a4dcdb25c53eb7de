"""People: stored values, merge semantics, identify_by, identifier conflicts, deletion, suppression."""

from __future__ import annotations

import pytest
import requests

from .conftest import person

CONFLICT = "The identifier is already associated with a different profile."


def only_activity(workspace) -> dict:
    [activity] = workspace.activities()
    assert activity["type"] == "failed_attribute_change"
    assert isinstance(activity["id"], str) and isinstance(activity["timestamp"], int)
    return activity


def ok(response) -> None:
    assert (response.status_code, response.json()) == (200, {}), response.text


# --- values -----------------------------------------------------------------------------------------


def test_values_are_stored_as_strings(workspace, track):
    ok(
        track.batch(
            person(
                {"id": "1"},
                {
                    "count": 42,
                    "negative": -7,
                    "ratio": 2.5,
                    "whole_float": 3.0,
                    "paid": True,
                    "trial": False,
                    "created_at": 1361205308,
                    "plan": "pro",
                    "tags": ["a", 1, True],
                    "address": {"city": "Lyon", "zip": 69001},
                },
            )
        )
    )
    assert workspace.person(id="1")["attributes"] == {
        "count": "42",
        "negative": "-7",
        "ratio": "2.5",
        "whole_float": "3.0",
        "paid": "true",
        "trial": "false",
        "created_at": "1361205308",
        "plan": "pro",
        "tags": ["a", 1, True],
        "address": {"city": "Lyon", "zip": 69001},
    }


def test_id_and_email_are_top_level_fields_not_attributes(workspace, track):
    ok(track.batch(person({"id": "1"}, {"email": "jane@example.com", "plan": "pro"})))
    [jane] = workspace.people()
    assert set(jane) == {"cio_id", "id", "email", "attributes"}
    assert (jane["id"], jane["email"], jane["attributes"]) == ("1", "jane@example.com", {"plan": "pro"})
    ok(track.batch(person({"email": "solo@example.com"})))
    assert workspace.person(email="solo@example.com")["id"] is None


def test_null_and_empty_string_remove_a_person_attribute_and_missing_keys_are_untouched(workspace, track):
    ok(track.batch(person({"id": "1"}, {"a": "1", "b": "2", "c": "3", "d": "4"})))
    ok(track.batch(person({"id": "1"}, {"a": None, "b": "", "c": "changed"})))
    assert workspace.person(id="1")["attributes"] == {"c": "changed", "d": "4"}
    ok(track.batch(person({"id": "1"}, {"never_set": None})))
    assert workspace.person(id="1")["attributes"] == {"c": "changed", "d": "4"}


def test_people_are_listed_in_creation_order(workspace, track):
    ok(track.batch(*(person({"id": str(i)}) for i in (5, 3, 9))))
    ok(track.batch(person({"id": "3"}, {"touched": 1})))
    assert [p["id"] for p in workspace.people()] == ["5", "3", "9"]
    assert len({p["cio_id"] for p in workspace.people()}) == 3


# --- identify_by ------------------------------------------------------------------------------------


def test_identify_by_id_refuses_email_identifiers(workspace, track):
    assert workspace.settings(identify_by="id")["identify_by"] == "id"
    response = track.batch(person({"id": "1"}, {"email": "a@example.com"}), person({"email": "a@example.com"}))
    [error] = response.json()["errors"]
    assert (error["batch_index"], error["reason"], error["field"]) == (1, "invalid", "identifiers.email")
    assert workspace.person(id="1")["email"] == "a@example.com"


def test_identify_by_email_refuses_id_identifiers(workspace, track):
    workspace.settings(identify_by="email")
    response = track.batch(person({"email": "a@example.com"}, {"id": "1"}), person({"id": "1"}))
    [error] = response.json()["errors"]
    assert (error["batch_index"], error["reason"], error["field"]) == (1, "invalid", "identifiers.id")
    assert workspace.person(email="a@example.com")["id"] == "1"


def test_settings_are_validated_and_partial(workspace):
    assert workspace.settings() == {
        "identify_by": "both",
        "allow_email_update_by_id": False,
        "object_types": ["1"],
        "track_requests_per_second": None,
        "phone_identifiers": False,
    }
    assert workspace.settings(allow_email_update_by_id=True)["identify_by"] == "both"
    for bad in (
        {"identify_by": "phone"},
        {"allow_email_update_by_id": "yes"},
        {"object_types": ["0"]},
        {"x": 1},
        {"phone_identifiers": 1},
    ):
        with pytest.raises(ValueError, match="400"):
            workspace.settings(**bad)
    assert workspace.settings()["allow_email_update_by_id"] is True


# --- conflicts --------------------------------------------------------------------------------------


def test_identify_by_id_with_its_own_email_in_other_case_is_fine(workspace, track):
    ok(track.batch(person({"id": "1"}, {"email": "Jane@Example.com"})))
    ok(track.batch(person({"id": "1"}, {"email": "jane@example.com", "plan": "pro"})))
    assert workspace.person(id="1")["email"] == "Jane@Example.com"
    assert workspace.activities() == []


def test_identify_by_id_sets_a_missing_email_when_free(workspace, track):
    ok(track.batch(person({"id": "1"})))
    ok(track.batch(person({"id": "1"}, {"email": "jane@example.com"})))
    assert workspace.person(id="1")["email"] == "jane@example.com"


def test_identify_by_id_refuses_an_email_another_person_has(workspace, track):
    ok(track.batch(person({"id": "1"}), person({"id": "2"}, {"email": "taken@example.com"})))
    ok(track.batch(person({"id": "1"}, {"email": "taken@example.com", "plan": "pro"})))
    one = workspace.person(id="1")
    assert (one["email"], one["attributes"]) == (None, {"plan": "pro"})
    activity = only_activity(workspace)
    assert activity["customer_identifiers"] == {"id": "1", "email": None, "cio_id": one["cio_id"]}
    assert activity["data"] == {"attribute": "email", "value": "taken@example.com", "reason": CONFLICT}


def test_identify_by_id_does_not_change_an_email_by_default(workspace, track):
    ok(track.batch(person({"id": "1"}, {"email": "old@example.com"})))
    ok(track.batch(person({"id": "1"}, {"email": "new@example.com"})))
    assert workspace.person(id="1")["email"] == "old@example.com"
    assert only_activity(workspace)["data"]["value"] == "new@example.com"
    assert only_activity(workspace)["customer_identifiers"]["email"] == "old@example.com"


def test_allow_email_update_by_id_changes_the_email_unless_taken(workspace, track):
    workspace.settings(allow_email_update_by_id=True)
    ok(track.batch(person({"id": "1"}, {"email": "old@example.com"}), person({"id": "2"}, {"email": "b@example.com"})))
    ok(track.batch(person({"id": "1"}, {"email": "new@example.com"})))
    assert workspace.person(id="1")["email"] == "new@example.com"
    assert workspace.person(email="old@example.com") is None
    assert workspace.activities() == []
    ok(track.batch(person({"email": "old@example.com"})))  # the old address is free again
    ok(track.batch(person({"id": "1"}, {"email": "b@example.com"})))
    assert workspace.person(id="1")["email"] == "new@example.com"
    assert only_activity(workspace)["data"]["value"] == "b@example.com"


def test_removing_an_email_by_id_is_a_change_of_identifier(workspace, track):
    ok(track.batch(person({"id": "1"}, {"email": "jane@example.com"})))
    ok(track.batch(person({"id": "1"}, {"email": None})))
    assert workspace.person(id="1")["email"] == "jane@example.com"
    assert only_activity(workspace)["data"] == {"attribute": "email", "value": None, "reason": CONFLICT}
    workspace.settings(allow_email_update_by_id=True)
    ok(track.batch(person({"id": "1"}, {"email": ""})))
    assert workspace.person(id="1")["email"] is None


def test_unknown_id_adopts_the_person_who_has_the_email_and_no_id(workspace, track):
    ok(track.batch(person({"email": "jane@example.com"}, {"plan": "free"})))
    cio_id = workspace.people()[0]["cio_id"]
    ok(track.batch(person({"id": "42"}, {"email": "JANE@example.com", "seats": 3})))
    [jane] = workspace.people()
    assert (jane["cio_id"], jane["id"], jane["email"]) == (cio_id, "42", "jane@example.com")
    assert jane["attributes"] == {"plan": "free", "seats": "3"}
    assert workspace.activities() == []


def test_unknown_id_with_the_email_of_another_id_creates_a_person_without_email(workspace, track):
    ok(track.batch(person({"id": "1"}, {"email": "jane@example.com"})))
    ok(track.batch(person({"id": "2"}, {"email": "jane@example.com", "plan": "pro"})))
    two = workspace.person(id="2")
    assert (two["email"], two["attributes"]) == (None, {"plan": "pro"})
    assert workspace.person(id="1")["email"] == "jane@example.com"
    activity = only_activity(workspace)
    assert activity["customer_identifiers"] == {"id": "2", "email": None, "cio_id": two["cio_id"]}
    assert activity["data"] == {"attribute": "email", "value": "jane@example.com", "reason": CONFLICT}


def test_unknown_id_with_a_free_email_creates_the_person(workspace, track):
    ok(track.batch(person({"id": "1"}, {"email": "jane@example.com"})))
    assert workspace.person(id="1")["email"] == "jane@example.com"


def test_identify_by_email_sets_a_missing_id_when_free(workspace, track):
    ok(track.batch(person({"email": "jane@example.com"})))
    ok(track.batch(person({"email": "jane@example.com"}, {"id": 42})))
    assert workspace.person(email="jane@example.com")["id"] == "42"
    assert workspace.activities() == []


def test_identify_by_email_refuses_an_id_another_person_has(workspace, track):
    ok(track.batch(person({"id": "42"}), person({"email": "jane@example.com"})))
    ok(track.batch(person({"email": "jane@example.com"}, {"id": "42", "plan": "pro"})))
    jane = workspace.person(email="jane@example.com")
    assert (jane["id"], jane["attributes"]) == (None, {"plan": "pro"})
    activity = only_activity(workspace)
    assert activity["data"] == {"attribute": "id", "value": "42", "reason": CONFLICT}
    assert activity["customer_identifiers"] == {"id": None, "email": "jane@example.com", "cio_id": jane["cio_id"]}


def test_identify_by_email_refuses_a_different_id(workspace, track):
    ok(track.batch(person({"email": "jane@example.com"}, {"id": "1"})))
    ok(track.batch(person({"email": "jane@example.com"}, {"id": "2"})))
    assert workspace.person(email="jane@example.com")["id"] == "1"
    assert only_activity(workspace)["data"]["value"] == "2"


def test_identify_by_unknown_email_creates_it_with_a_free_id_or_without_a_taken_one(workspace, track):
    ok(track.batch(person({"email": "a@example.com"}, {"id": "1"})))
    ok(track.batch(person({"email": "b@example.com"}, {"id": "1"})))
    assert workspace.person(email="a@example.com")["id"] == "1"
    b = workspace.person(email="b@example.com")
    assert b["id"] is None
    activity = only_activity(workspace)
    assert activity["customer_identifiers"] == {"id": None, "email": "b@example.com", "cio_id": b["cio_id"]}


def test_identify_by_email_refuses_changing_the_email(workspace, track):
    ok(track.batch(person({"email": "a@example.com"}, {"email": "other@example.com"})))
    assert workspace.person(email="a@example.com") is not None
    assert only_activity(workspace)["data"]["attribute"] == "email"


def test_an_id_attribute_that_differs_from_the_identifying_id_is_a_conflict(workspace, track):
    ok(track.batch(person({"id": "1"}, {"id": "1"}), person({"id": "1"}, {"id": "2"})))
    assert workspace.person(id="1") is not None and workspace.person(id="2") is None
    assert only_activity(workspace)["data"] == {"attribute": "id", "value": "2", "reason": CONFLICT}


def test_identify_by_cio_id_must_find_the_person_and_may_change_identifiers(workspace, track):
    response = track.batch(person({"cio_id": "nobody"}))
    [error] = response.json()["errors"]
    assert (error["reason"], error["field"]) == ("not_found", "identifiers.cio_id")
    ok(track.batch(person({"id": "1"}, {"email": "a@example.com"}), person({"id": "2"})))
    cio_id = workspace.person(id="1")["cio_id"]
    ok(track.batch(person({"cio_id": cio_id}, {"id": "10", "email": "b@example.com", "plan": "pro"})))
    changed = workspace.person(id="10")
    assert (changed["cio_id"], changed["email"], changed["attributes"]) == (cio_id, "b@example.com", {"plan": "pro"})
    assert workspace.person(id="1") is None
    ok(track.batch(person({"cio_id": cio_id}, {"id": "2"})))
    assert workspace.person(id="10") is not None
    assert only_activity(workspace)["data"] == {"attribute": "id", "value": "2", "reason": CONFLICT}


def test_identify_by_cio_id_cannot_remove_both_identifiers(workspace, track):
    ok(track.batch(person({"id": "1"}, {"email": "a@example.com"})))
    cio_id = workspace.person(id="1")["cio_id"]
    ok(track.batch(person({"cio_id": cio_id}, {"email": None})))
    assert workspace.person(id="1")["email"] is None
    ok(track.batch(person({"cio_id": cio_id}, {"id": None})))
    assert workspace.person(id="1") is not None
    assert only_activity(workspace)["data"] == {"attribute": "id", "value": None, "reason": CONFLICT}


# --- deletion ---------------------------------------------------------------------------------------


def test_delete_action_removes_the_person_and_unknown_people_are_fine(workspace, track):
    ok(track.batch(person({"id": "1"}, {"email": "a@example.com"}), person({"id": "2"})))
    ok(track.batch(person({"email": "A@example.com"}, action="delete"), person({"id": "nobody"}, action="delete")))
    assert [p["id"] for p in workspace.people()] == ["2"]
    ok(track.batch(person({"id": "3"}, {"email": "a@example.com"})))  # the identifiers are free again
    assert workspace.activities() == []


# --- suppression ------------------------------------------------------------------------------------


def test_suppressing_a_person_deletes_it_and_ignores_later_calls(workspace, track):
    ok(track.batch(person({"id": "1"}, {"email": "jane@example.com", "plan": "pro"})))
    workspace.suppress(id="1")
    assert workspace.people() == []
    ok(track.batch(person({"id": "1"}, {"plan": "free"})))
    ok(track.batch(person({"email": "JANE@example.com"})))
    ok(track.batch(person({"id": "2"}, {"email": "jane@example.com"})))
    ok(track.batch(person({"email": "other@example.com"}, {"id": "1"})))
    assert workspace.people() == []
    activities = workspace.activities()
    assert [a["data"] for a in activities] == [
        {"attribute": "id", "value": "1", "reason": "person is suppressed"},
        {"attribute": "email", "value": "JANE@example.com", "reason": "person is suppressed"},
        {"attribute": "email", "value": "jane@example.com", "reason": "person is suppressed"},
        {"attribute": "id", "value": "1", "reason": "person is suppressed"},
    ]
    assert [a["customer_identifiers"] for a in activities] == [
        {"id": "1", "email": None, "cio_id": None},
        {"id": None, "email": "JANE@example.com", "cio_id": None},
        {"id": "2", "email": None, "cio_id": None},
        {"id": None, "email": "other@example.com", "cio_id": None},
    ]
    assert workspace.stats()["POST /api/v2/batch"]["ops"] == {"accepted": 5, "failed": 0}


def test_suppressing_an_identifier_nobody_has_blocks_just_it(workspace, track):
    ok(track.batch(person({"id": "1"}, {"email": "jane@example.com"})))
    workspace.suppress(email="ghost@example.com")
    assert len(workspace.people()) == 1
    ok(track.batch(person({"email": "ghost@example.com"}), person({"id": "2"})))
    assert [p["id"] for p in workspace.people()] == ["1", "2"]
    assert only_activity(workspace)["data"]["value"] == "ghost@example.com"


def test_suppress_needs_exactly_one_valid_identifier(workspace):
    url = f"{workspace.url}/_emulator/suppress"
    for body in ({"id": "1", "email": "a@example.com"}, {}, {"phone": "1"}, {"email": "not an email"}, [1]):
        response = requests.post(url, json=body, timeout=10)
        assert response.status_code == 400
        assert response.json()["meta"]["error"]
    with pytest.raises(ValueError, match="400"):
        workspace.suppress(email="not an email")


def test_delete_and_relationship_calls_on_suppressed_people_are_ignored(workspace, track):
    ok(track.batch(person({"id": "1"})))
    workspace.suppress(id="1")
    link = [{"identifiers": {"object_type_id": "1", "object_id": "acme"}}]
    ok(
        track.batch(
            {"type": "object", "identifiers": {"object_type_id": "1", "object_id": "acme"}, "action": "identify"}
        )
    )
    ok(
        track.batch(
            person({"id": "1"}, action="delete"),
            person({"id": "1"}, action="add_relationships", cio_relationships=link),
            person({"id": "1"}, action="delete_relationships", cio_relationships=link),
        )
    )
    assert [a["data"]["reason"] for a in workspace.activities()] == ["person is suppressed"] * 3
    assert workspace.relationships() == []


# --- update only ------------------------------------------------------------------------------------


def test_update_only_identify_updates_an_existing_person_without_storing_update(workspace, track):
    ok(track.batch(person({"id": "1"}, {"plan": "free"}), person({"email": "jane@example.com"})))
    ok(
        track.batch(
            person({"id": "1"}, {"plan": "pro", "_update": True}),
            person({"email": "JANE@example.com"}, {"seats": 3, "_update": True}),
        )
    )
    assert workspace.person(id="1")["attributes"] == {"plan": "pro"}
    assert workspace.person(email="jane@example.com")["attributes"] == {"seats": "3"}


def test_update_only_identify_never_creates_a_person_and_is_accepted(workspace, track):
    ok(track.batch(person({"email": "jane@example.com"}, {"plan": "free"})))
    ok(
        track.batch(
            person({"id": "ghost"}, {"plan": "pro", "_update": True}),
            person({"email": "ghost@example.com"}, {"_update": True}),
            person({"cio_id": "nobody"}, {"_update": True}),
            # by an unknown id, with the email of a person without id: still not adopted, nothing changes
            person({"id": "2"}, {"email": "jane@example.com", "plan": "pro", "_update": True}),
        )
    )
    assert [(p["id"], p["email"], p["attributes"]) for p in workspace.people()] == [
        (None, "jane@example.com", {"plan": "free"})
    ]
    assert workspace.stats()["POST /api/v2/batch"]["ops"] == {"accepted": 5, "failed": 0}


def test_update_false_creates_as_usual_and_a_non_boolean_update_is_an_item_error(workspace, track):
    response = track.batch(person({"id": "1"}, {"_update": False}), person({"id": "2"}, {"_update": "yes"}))
    assert response.status_code == 207
    assert [(e["batch_index"], e["reason"], e["field"]) for e in response.json()["errors"]] == [
        (1, "invalid", "attributes._update")
    ]
    assert [(p["id"], p["attributes"]) for p in workspace.people()] == [("1", {})]


# --- phone identifiers ------------------------------------------------------------------------------


def test_phone_identifiers_are_refused_until_the_setting_enables_them(workspace, track):
    response = track.batch(person({"phone": "+15551234567"}, {"plan": "pro"}))
    assert response.status_code == 207
    [error] = response.json()["errors"]
    assert (error["reason"], error["field"]) == ("invalid", "identifiers.phone")
    assert "phone_identifiers" in error["message"]
    assert workspace.people() == []
    # while off, "phone" is an ordinary attribute
    ok(track.batch(person({"id": "1"}, {"phone": "not a number"})))
    assert workspace.person(id="1")["attributes"] == {"phone": "not a number"}
    assert "phone" not in workspace.person(id="1")

    assert workspace.settings(phone_identifiers=True)["phone_identifiers"] is True
    ok(track.batch(person({"phone": "+15551234567"}, {"plan": "pro"})))
    ok(track.batch(person({"phone": "+15551234567"}, {"seats": 2})))  # the same person
    found = workspace.person(phone="+15551234567")
    assert (found["id"], found["email"], found["attributes"]) == (None, None, {"plan": "pro", "seats": "2"})
    assert workspace.person(phone="+15550000000") is None


@pytest.mark.parametrize(
    "number", ["15551234567", "+1555123456789012", "+0555123456", "+1 555 123", "+", "+1", 15551234567]
)
def test_a_phone_identifier_that_is_not_e164_is_an_item_error(workspace, track, number):
    workspace.settings(phone_identifiers=True)
    response = track.batch(person({"phone": "+15551234567"}), person({"phone": number}))
    assert response.status_code == 207
    [error] = response.json()["errors"]
    assert (error["batch_index"], error["reason"], error["field"]) == (1, "invalid", "identifiers.phone")
    assert "E.164" in error["message"]
    assert [p["phone"] for p in workspace.people()] == ["+15551234567"]


def test_a_phone_attribute_is_set_when_free_and_never_changed_or_removed(workspace, track):
    workspace.settings(phone_identifiers=True)
    ok(track.batch(person({"id": "1"}, {"phone": "+15551234567"}), person({"id": "2"})))
    assert workspace.person(id="1")["phone"] == "+15551234567"
    assert "phone" not in workspace.person(id="1")["attributes"]
    ok(
        track.batch(
            person({"id": "1"}, {"phone": "+15557654321", "plan": "pro"}),  # a change: refused
            person({"id": "1"}, {"phone": None}),  # a removal: refused
            person({"id": "2"}, {"phone": "+15551234567"}),  # another person has it: refused
            person({"phone": "+15551234567"}, {"id": "3"}),  # a different id by phone: refused
        )
    )
    assert [(p["id"], p.get("phone"), p["attributes"]) for p in workspace.people()] == [
        ("1", "+15551234567", {"plan": "pro"}),
        ("2", None, {}),
    ]
    assert [(a["data"]["attribute"], a["data"]["value"], a["data"]["reason"]) for a in workspace.activities()] == [
        ("phone", "+15557654321", CONFLICT),
        ("phone", None, CONFLICT),
        ("phone", "+15551234567", CONFLICT),
        ("id", "3", CONFLICT),
    ]
    response = track.batch(person({"id": "2"}, {"phone": "555"}))
    assert [(e["reason"], e["field"]) for e in response.json()["errors"]] == [("invalid", "attributes.phone")]


def test_a_phone_identified_person_can_be_deleted_and_receive_events(workspace, track):
    workspace.settings(phone_identifiers=True)
    event = {"type": "person", "identifiers": {"phone": "+4915112345678"}, "action": "event", "name": "call"}
    ok(track.batch(event))
    assert [(p["phone"], p["id"], p["email"]) for p in workspace.people()] == [("+4915112345678", None, None)]
    assert [e["person"] for e in workspace.events()] == [{"phone": "+4915112345678"}]
    ok(track.batch(person({"phone": "+4915112345678"}, action="delete")))
    assert workspace.people() == [] and workspace.events() == []
