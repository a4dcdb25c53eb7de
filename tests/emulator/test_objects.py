"""Objects, object types, and relationships from both sides."""

from __future__ import annotations

from .conftest import obj, person


def ok(response) -> None:
    assert (response.status_code, response.json()) == (200, {}), response.text


def errors_of(response) -> list[tuple[int, str, str]]:
    assert response.status_code == 207, response.text
    return [(e["batch_index"], e["reason"], e["field"]) for e in response.json()["errors"]]


def to_object(object_id: str, attributes: dict | None = None, type_id: str = "1") -> dict:
    item: dict = {"identifiers": {"object_type_id": type_id, "object_id": object_id}}
    if attributes is not None:
        item["relationship_attributes"] = attributes
    return item


def to_person(identifiers: dict, attributes: dict | None = None) -> dict:
    item: dict = {"identifiers": identifiers}
    if attributes is not None:
        item["relationship_attributes"] = attributes
    return item


def relationship_rows(workspace) -> list[tuple]:
    return [
        (r["person"]["id"], r["object_type_id"], r["object_id"], r["attributes"]) for r in workspace.relationships()
    ]


# --- objects ----------------------------------------------------------------------------------------


def test_object_identify_merges_and_stores_strings(workspace, track):
    ok(track.batch(obj("acme", {"name": "Acme", "seats": 50, "active": True, "ratio": 0.5})))
    ok(track.batch(obj("acme", {"seats": 60, "plan": "pro"})))
    assert workspace.objects() == [
        {
            "object_type_id": "1",
            "object_id": "acme",
            "attributes": {"name": "Acme", "seats": "60", "active": "true", "ratio": "0.5", "plan": "pro"},
        }
    ]


def test_null_and_empty_string_remove_object_attributes(workspace, track):
    ok(track.batch(obj("acme", {"a": 1, "b": 2, "c": 3})))
    ok(track.batch(obj("acme", {"a": None, "b": ""})))
    assert workspace.objects()[0]["attributes"] == {"c": "3"}


def test_object_ids_are_unique_within_a_type(workspace, track):
    workspace.settings(object_types=["1", "2"])
    ok(track.batch(obj("acme", {"v": 1}), obj("acme", {"v": 2}, type_id="2"), obj("acme", {"w": 3})))
    assert [(o["object_type_id"], o["attributes"]) for o in workspace.objects()] == [
        ("1", {"v": "1", "w": "3"}),
        ("2", {"v": "2"}),
    ]


def test_only_listed_object_types_exist(workspace, track):
    response = track.batch(obj("a"), obj("b", type_id="2"), obj("c", type_id="0"), obj("d", type_id="01"))
    assert errors_of(response) == [
        (1, "invalid", "identifiers.object_type_id"),
        (2, "invalid", "identifiers.object_type_id"),
        (3, "invalid", "identifiers.object_type_id"),
    ]
    assert response.json()["errors"][0]["message"] == "object type 2 does not exist"
    assert workspace.settings(object_types=["1", 2])["object_types"] == ["1", "2"]
    ok(track.batch(obj("b", type_id="2")))


def test_delete_object_removes_its_relationships(workspace, track):
    ok(track.batch(person({"id": "1"}), obj("acme"), obj("globex")))
    ok(
        track.batch(
            person({"id": "1"}, action="add_relationships", cio_relationships=[to_object("acme"), to_object("globex")])
        )
    )
    ok(track.batch(obj("acme", action="delete"), obj("never-existed", action="delete")))
    assert [o["object_id"] for o in workspace.objects()] == ["globex"]
    assert [r[2] for r in relationship_rows(workspace)] == ["globex"]


# --- relationships from the person side -------------------------------------------------------------


def test_person_side_relationships_set_change_and_remove_attributes(workspace, track):
    ok(track.batch(person({"id": "1"}, {"email": "jane@example.com"}), obj("acme")))
    ok(
        track.batch(
            person(
                {"id": "1"},
                action="add_relationships",
                cio_relationships=[to_object("acme", {"role": "admin", "since": 2020})],
            )
        )
    )
    assert relationship_rows(workspace) == [("1", "1", "acme", {"role": "admin", "since": "2020"})]
    ok(
        track.batch(
            person(
                {"email": "JANE@example.com"},
                action="add_relationships",
                cio_relationships=[to_object("acme", {"role": "owner", "since": None, "seat": 4})],
            )
        )
    )
    assert relationship_rows(workspace) == [("1", "1", "acme", {"role": "owner", "seat": "4"})]
    ok(
        track.batch(
            person({"id": "1"}, action="add_relationships", cio_relationships=[to_object("acme", {"seat": ""})])
        )
    )
    assert relationship_rows(workspace) == [("1", "1", "acme", {"role": "owner"})]
    relationship = workspace.relationships()[0]
    assert relationship["person"] == {
        "cio_id": workspace.person(id="1")["cio_id"],
        "id": "1",
        "email": "jane@example.com",
    }
    ok(track.batch(person({"id": "1"}, action="delete_relationships", cio_relationships=[to_object("acme")])))
    assert workspace.relationships() == []
    ok(track.batch(person({"id": "1"}, action="delete_relationships", cio_relationships=[to_object("acme")])))


def test_identify_with_relationships_creates_the_person_then_relates_it(workspace, track):
    ok(track.batch(obj("acme")))
    ok(track.batch(person({"id": "9"}, {"plan": "pro"}, cio_relationships=[to_object("acme", {"role": "admin"})])))
    assert workspace.person(id="9")["attributes"] == {"plan": "pro"}
    assert relationship_rows(workspace) == [("9", "1", "acme", {"role": "admin"})]


def test_relationship_to_an_unknown_object_fails_the_whole_op(workspace, track):
    ok(track.batch(person({"id": "1"}), obj("acme")))
    response = track.batch(
        person({"id": "2"}, {"plan": "pro"}, cio_relationships=[to_object("acme"), to_object("missing")]),
        person({"id": "1"}, action="add_relationships", cio_relationships=[to_object("acme"), to_object("missing")]),
    )
    assert errors_of(response) == [
        (0, "not_found", "cio_relationships[1].identifiers"),
        (1, "not_found", "cio_relationships[1].identifiers"),
    ]
    assert workspace.person(id="2") is None
    assert workspace.relationships() == []


def test_relationship_ops_need_an_existing_person(workspace, track):
    ok(track.batch(obj("acme")))
    response = track.batch(
        person({"id": "ghost"}, action="add_relationships", cio_relationships=[to_object("acme")]),
        person({"id": "ghost"}, action="delete_relationships", cio_relationships=[to_object("acme")]),
    )
    assert errors_of(response) == [(0, "not_found", "identifiers"), (1, "not_found", "identifiers")]


def test_relationship_items_are_validated(workspace, track):
    ok(track.batch(person({"id": "1"}), obj("acme")))
    response = track.batch(
        person({"id": "1"}, action="add_relationships"),
        person({"id": "1"}, action="add_relationships", cio_relationships={"not": "a list"}),
        person({"id": "1"}, action="add_relationships", cio_relationships=["nope"]),
        person({"id": "1"}, action="add_relationships", cio_relationships=[{"relationship_attributes": {}}]),
        person({"id": "1"}, action="add_relationships", cio_relationships=[to_object("acme", type_id="5")]),
        person({"id": "1"}, action="add_relationships", cio_relationships=[to_object("acme", {"r": "x" * 1001})]),
    )
    assert errors_of(response) == [
        (0, "required", "cio_relationships"),
        (1, "invalid", "cio_relationships"),
        (2, "invalid", "cio_relationships[0]"),
        (3, "required", "cio_relationships[0].identifiers"),
        (4, "invalid", "cio_relationships[0].identifiers.object_type_id"),
        (5, "too_large", "cio_relationships[0].relationship_attributes.r"),
    ]


# --- relationships from the object side -------------------------------------------------------------


def test_object_side_relationships_set_change_and_remove_attributes(workspace, track):
    ok(track.batch(person({"id": "1"}), person({"email": "b@example.com"}), obj("acme")))
    two_cio = workspace.person(email="b@example.com")["cio_id"]
    ok(
        track.batch(
            obj(
                "acme",
                action="add_relationships",
                cio_relationships=[
                    to_person({"id": "1"}, {"role": "admin"}),
                    to_person({"cio_id": two_cio}, {"role": "user"}),
                ],
            )
        )
    )
    assert relationship_rows(workspace) == [
        ("1", "1", "acme", {"role": "admin"}),
        (None, "1", "acme", {"role": "user"}),
    ]
    ok(
        track.batch(
            obj("acme", action="add_relationships", cio_relationships=[to_person({"id": "1"}, {"role": None, "x": 1})])
        )
    )
    assert relationship_rows(workspace)[0] == ("1", "1", "acme", {"x": "1"})
    ok(
        track.batch(
            obj(
                "acme",
                action="delete_relationships",
                cio_relationships=[to_person({"email": "B@example.com"}), to_person({"id": "ghost"})],
            )
        )
    )
    assert relationship_rows(workspace) == [("1", "1", "acme", {"x": "1"})]


def test_object_identify_with_people_relates_them(workspace, track):
    ok(track.batch(person({"id": "1"})))
    ok(track.batch(obj("acme", {"name": "Acme"}, cio_relationships=[to_person({"id": "1"}, {"role": "admin"})])))
    assert relationship_rows(workspace) == [("1", "1", "acme", {"role": "admin"})]


def test_object_side_unknown_person_or_object_fails_the_whole_op(workspace, track):
    ok(track.batch(person({"id": "1"}), obj("acme")))
    response = track.batch(
        obj("new", {"name": "New"}, cio_relationships=[to_person({"id": "1"}), to_person({"id": "ghost"})]),
        obj("missing", action="add_relationships", cio_relationships=[to_person({"id": "1"})]),
        obj("missing", action="delete_relationships", cio_relationships=[to_person({"id": "1"})]),
        obj("acme", action="add_relationships", cio_relationships=[to_person({"phone": "1"})]),
    )
    assert errors_of(response) == [
        (0, "not_found", "cio_relationships[1].identifiers"),
        (1, "not_found", "identifiers"),
        (2, "not_found", "identifiers"),
        (3, "invalid", "cio_relationships[0].identifiers.phone"),
    ]
    assert [o["object_id"] for o in workspace.objects()] == ["acme"]
    assert workspace.relationships() == []


def test_object_side_relationship_to_a_suppressed_person_is_skipped_with_an_activity(workspace, track):
    ok(track.batch(person({"id": "1"}), person({"id": "2"}), obj("acme")))
    workspace.suppress(id="2")
    ok(
        track.batch(
            obj("acme", action="add_relationships", cio_relationships=[to_person({"id": "1"}), to_person({"id": "2"})])
        )
    )
    assert [r[0] for r in relationship_rows(workspace)] == ["1"]
    [activity] = workspace.activities()
    assert activity["data"] == {"attribute": "id", "value": "2", "reason": "person is suppressed"}


def test_deleting_a_person_removes_its_relationships(workspace, track):
    ok(track.batch(person({"id": "1"}), obj("acme")))
    ok(track.batch(person({"id": "1"}, action="add_relationships", cio_relationships=[to_object("acme")])))
    ok(track.batch(person({"id": "1"}, action="delete")))
    assert workspace.relationships() == []
    ok(track.batch(person({"id": "1"})))
    assert workspace.relationships() == []
