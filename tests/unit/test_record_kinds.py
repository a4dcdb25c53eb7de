"""The three kinds of record, rows to ops on in-memory rows: people and objects (one ``identify`` op a row) and
relationships (consecutive rows of one person in one op, split back per row when the workspace refuses one of
them). What is checked is what the workspace would receive (the op's JSON) and what the error report says."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
import pytest

from airflow_provider_cio.sources.mysql.column_types import mysql_columns
from airflow_provider_cio.sync.account.outcomes import (
    BINARY_VALUE,
    INVALID_EMAIL,
    INVALID_IDENTIFIER,
    INVALID_VALUE,
    MISSING_IDENTIFIER,
    TOO_LARGE,
    OpError,
    RowError,
    RowRefused,
)
from airflow_provider_cio.sync.convert.columns import QueryError
from airflow_provider_cio.sync.limits import MAX_OP_BYTES
from airflow_provider_cio.sync.records.encoded import Op
from airflow_provider_cio.sync.records.kinds import plan_columns
from airflow_provider_cio.sync.records.ops import ObjectOps, PeopleOps, identifier_text, object_type_text
from airflow_provider_cio.sync.records.relationships import RelationshipOps, is_deleted

LONGLONG, VAR_STRING, TINY = 8, 253, 1


def plan(names: list[str], import_type: Any, identify_by: Any = "id") -> Any:
    description = [(name, LONGLONG if name in ("id", "object_type_id") else VAR_STRING) for name in names]
    return plan_columns(description, import_type, identify_by)


def outcomes(builder: Any, rows: list[tuple[Any, ...]], first_row: int = 1) -> list[Any]:
    """Each op as its JSON with the rows it carries, each row error as its row, name and type."""
    built = [*builder.build(rows, first_row), *builder.finish()]
    return [
        (orjson.loads(item.body), item.first_row, item.row_count, item.identifier)
        if isinstance(item, Op)
        else (item.row_number, item.identifier, item.error_type)
        for item in built
    ]


def person(identifiers: dict[str, str], attributes: dict[str, Any]) -> dict[str, Any]:
    return {"type": "person", "identifiers": identifiers, "action": "identify", "attributes": attributes}


# --- people ---------------------------------------------------------------------------------------------------


def test_people_by_id_one_identify_op_a_row() -> None:
    builder = PeopleOps(plan(["id", "email", "plan"], "people"))
    rows = [(1, "Ada@Example.com", "pro"), (2, None, "free"), ("x-3", "c@example.com", "")]
    assert outcomes(builder, rows, 10) == [
        (person({"id": "1"}, {"email": "Ada@Example.com", "plan": "pro"}), 10, 1, "1"),
        (person({"id": "2"}, {"plan": "free"}), 11, 1, "2"),
        (person({"id": "x-3"}, {"email": "c@example.com"}), 12, 1, "x-3"),
    ]


def test_people_by_email_are_keyed_in_lower_case() -> None:
    builder = PeopleOps(plan(["email", "plan"], "people", "email"))
    (op,) = builder.build([("Ada@Example.COM", "pro")], 1)
    assert (op.identifier, op.key) == ("Ada@Example.COM", "ada@example.com")
    assert orjson.loads(op.body)["identifiers"] == {"email": "Ada@Example.COM"}


def test_delete_sends_empty_attributes_as_null_but_never_an_empty_identifier() -> None:
    builder = PeopleOps(plan(["id", "email", "plan", "seats"], "people"), "delete")
    assert outcomes(builder, [(1, None, "", None)]) == [(person({"id": "1"}, {"plan": None, "seats": None}), 1, 1, "1")]


@pytest.mark.parametrize(
    ("row", "error_type"),
    [
        ((None, "pro"), MISSING_IDENTIFIER),
        (("", "pro"), MISSING_IDENTIFIER),
        (("   ", "pro"), MISSING_IDENTIFIER),
        (("a\tb", "pro"), INVALID_IDENTIFIER),
        (("x" * 151, "pro"), TOO_LARGE),
        ((b"\x01", "pro"), BINARY_VALUE),
        ((1.5, "x" * 1001), TOO_LARGE),
        ((7, {"nested": "x" * 1000}), TOO_LARGE),
        ((7, frozenset({"x" * 500, "y" * 500})), TOO_LARGE),  # a MySQL SET: 1001 bytes once joined
        ((7, Decimal("1" * 1001)), TOO_LARGE),  # a string made by a converter is held to the limit too
        ((7, float("nan")), INVALID_VALUE),
    ],
)
def test_a_person_row_the_workspace_would_refuse_is_a_row_error(row: tuple[Any, ...], error_type: str) -> None:
    builder = PeopleOps(plan(["id", "plan"], "people"))
    (outcome,) = outcomes(builder, [row], 5)
    assert outcome[0] == 5 and outcome[2] == error_type


@pytest.mark.parametrize(
    ("email", "error_type"), [(None, MISSING_IDENTIFIER), ("not an email", INVALID_EMAIL), (42, INVALID_EMAIL)]
)
def test_people_by_email_need_a_valid_address(email: Any, error_type: str) -> None:
    builder = PeopleOps(plan(["email"], "people", "email"))
    assert [error[2] for error in outcomes(builder, [(email,)])] == [error_type]


def test_an_invalid_email_attribute_fails_a_person_identified_by_id() -> None:
    builder = PeopleOps(plan(["id", "email"], "people"))
    assert outcomes(builder, [(1, "nope")]) == [(1, "1", INVALID_EMAIL)]


def test_a_row_over_the_op_limit_is_a_row_error_naming_the_limit() -> None:
    names = ["id", *(f"a{n}" for n in range(40))]
    builder = PeopleOps(plan(names, "people"))
    (error,) = builder.build([(1, *["é" * 450] * 40)], 1)
    assert isinstance(error, RowError) and error.error_type == TOO_LARGE and str(MAX_OP_BYTES) in error.message


# --- objects --------------------------------------------------------------------------------------------------


def test_objects_take_their_type_from_the_row_or_the_default() -> None:
    builder = ObjectOps(plan(["object_id", "object_type_id", "name"], "objects"), object_type_id="2")
    rows = [("acme", 5, "Acme"), ("globex", None, "Globex"), ("initech", "007", None)]
    assert [(op[0]["identifiers"], op[0].get("attributes"), op[3]) for op in outcomes(builder, rows)] == [
        ({"object_type_id": "5", "object_id": "acme"}, {"name": "Acme"}, "5:acme"),
        ({"object_type_id": "2", "object_id": "globex"}, {"name": "Globex"}, "2:globex"),
        ({"object_type_id": "7", "object_id": "initech"}, {}, "7:initech"),
    ]


@pytest.mark.parametrize(
    ("object_type", "valid"), [("0", False), ("-1", False), ("x", False), (b"1", False), (3, True)]
)
def test_an_object_type_is_a_positive_integer(object_type: Any, valid: bool) -> None:
    builder = ObjectOps(plan(["object_id", "object_type_id"], "objects"))
    (outcome,) = outcomes(builder, [("acme", object_type)])
    assert (len(outcome) == 4) is valid
    if not valid:
        assert outcome[2] == INVALID_IDENTIFIER


def test_the_default_object_type_is_checked_when_the_builder_is_made() -> None:
    with pytest.raises(RowRefused):
        ObjectOps(plan(["object_id"], "objects"), object_type_id="zero")
    assert object_type_text(" 12 ") == "12"


@pytest.mark.parametrize(
    ("value", "text"), [(42, "42"), ("a b", "a b"), (2**70, str(2**70)), (1.5, "1.5"), (True, "True")]
)
def test_an_identifier_is_the_text_the_workspace_keys_on(value: Any, text: str) -> None:
    assert identifier_text(value, "id") == text


# --- relationships --------------------------------------------------------------------------------------------


def relationship_ops(names: list[str], **options: Any) -> RelationshipOps:
    return RelationshipOps(plan(names, "relationships", options.pop("identify_by", "id")), **options)


def test_consecutive_rows_of_one_person_and_action_travel_in_one_op() -> None:
    builder = relationship_ops(["id", "object_id", "deleted", "role"])
    rows = [(1, "a", 0, "admin"), (1, "b", None, None), (1, "c", 1, "x"), (2, "a", 0, "user"), (1, "d", 0, None)]
    ops = outcomes(builder, rows, 3)
    assert [(op[0]["identifiers"], op[0]["action"], op[1], op[2]) for op in ops] == [
        ({"id": "1"}, "add_relationships", 3, 2),
        ({"id": "1"}, "delete_relationships", 5, 1),
        ({"id": "2"}, "add_relationships", 6, 1),
        ({"id": "1"}, "add_relationships", 7, 1),
    ]
    assert ops[0][0]["cio_relationships"] == [
        {"identifiers": {"object_type_id": "1", "object_id": "a"}, "relationship_attributes": {"role": "admin"}},
        {"identifiers": {"object_type_id": "1", "object_id": "b"}},
    ]
    assert ops[0][3] == "1" and ops[1][3] == "1 -> 1:c", "a one-row op names its relationship"


def test_a_group_is_held_across_blocks_until_its_person_changes() -> None:
    builder = relationship_ops(["id", "object_id"])
    assert list(builder.build([(1, "a"), (1, "b")], 1)) == []
    (op,) = builder.build([(1, "c"), (2, "a")], 3)
    assert (op.first_row, op.row_count) == (1, 3)
    (last,) = builder.finish()
    assert (last.first_row, last.row_count) == (4, 1)


def test_a_refused_row_ends_the_group_so_every_op_carries_an_unbroken_range() -> None:
    builder = relationship_ops(["id", "object_id"])
    items = [*builder.build([(1, "a"), (1, None), (1, "c")], 1), *builder.finish()]
    assert [
        (item.first_row, item.row_count) if isinstance(item, Op) else ("error", item.row_number, item.error_type)
        for item in items
    ] == [(1, 1), ("error", 2, MISSING_IDENTIFIER), (3, 1)]
    assert items[1].identifier == "1 -> 1:"


def test_a_relationship_attribute_made_too_long_by_its_converter_fails_its_row() -> None:
    builder = relationship_ops(["id", "object_id", "tags"])
    items = [*builder.build([(1, "a", frozenset({"x" * 500, "y" * 500})), (1, "b", frozenset({"x"}))], 1)]
    items += builder.finish()
    assert [item.error_type if isinstance(item, RowError) else item.first_row for item in items] == [TOO_LARGE, 2]
    assert items[0].message == "column 'tags' is over 1000 bytes; shorten it in the query"


def test_ops_stay_under_the_op_limit() -> None:
    builder = relationship_ops(["id", "object_id", "note"])
    ops = [*builder.build([(1, f"o{n}", "x" * 990) for n in range(100)], 1), *builder.finish()]
    assert len(ops) > 3 and all(len(op.body) <= MAX_OP_BYTES for op in ops)
    assert sum(op.row_count for op in ops) == 100


def test_a_grouped_op_refused_for_one_relationship_is_split_one_op_a_row() -> None:
    builder = relationship_ops(["email", "object_id", "role"], identify_by="email")
    (op,) = [*builder.build([("Ada@x.com", "a", "r1"), ("ada@x.com", "b", "r2")], 7), *builder.finish()]
    assert op.row_count == 2 and op.key == "ada@x.com"

    split = builder.split(op, OpError(0, "not_found", "cio_relationships[1].identifiers", "no such object"))

    assert [(part.first_row, part.row_count, part.identifier) for part in split] == [
        (7, 1, "Ada@x.com -> 1:a"),
        (8, 1, "Ada@x.com -> 1:b"),
    ]
    assert orjson.loads(split[1].body) == {
        "type": "person",
        "identifiers": {"email": "Ada@x.com"},
        "action": "add_relationships",
        "cio_relationships": [
            {"identifiers": {"object_type_id": "1", "object_id": "b"}, "relationship_attributes": {"role": "r2"}}
        ],
    }
    assert builder.split(op, OpError(0, "not_found", "identifiers", "no such person")) == [], "about the person"


@pytest.mark.parametrize(
    ("value", "deleted"),
    [
        (None, False),
        (0, False),
        (1, True),
        (True, True),
        (b"\x01", True),
        (b"\x00", False),
        (" TRUE ", True),
        ("0", False),
    ],
)
def test_deleted_takes_every_form_of_a_boolean(value: Any, deleted: bool) -> None:
    assert is_deleted(value) is deleted


@pytest.mark.parametrize("value", [2, "yes", "", 0.5, b"\x02", b"", [1]])
def test_anything_else_in_deleted_fails_the_row(value: Any) -> None:
    with pytest.raises(RowRefused) as refused:
        is_deleted(value)
    assert refused.value.error_type == INVALID_VALUE and "must be a boolean" in refused.value.message


# --- the query's columns ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("names", "import_type", "message"),
    [
        (["Email", "plan"], "people", "rename it with AS email"),
        (["id", "id"], "people", "more than one column named 'id'"),
        (["id", ""], "people", "has no name"),
        (["id"], "objects", "needs a column named 'object_id'"),
        (["id", "plan"], "relationships", "needs a column named 'object_id'"),
        (["id", *(f"c{n}" for n in range(301))], "people", "the limit is 300"),
        (["id", "x" * 151], "people", "limited to 150 bytes"),
    ],
)
def test_a_query_that_breaks_a_rule_fails_before_any_row_is_read(
    names: list[str], import_type: Any, message: str
) -> None:
    with pytest.raises(QueryError, match=message):
        plan(names, import_type, "email" if names[0] == "Email" else "id")


def test_a_relationship_query_leaves_out_the_other_person_identifier_and_refuses_a_date_as_deleted() -> None:
    relationships = plan(["id", "email", "object_id", "role"], "relationships")
    assert [column.name for column in relationships.attributes] == ["role"]
    assert relationships.ignored and "email" in relationships.ignored[0]
    with pytest.raises(QueryError, match="deleted column is a DATETIME"):
        plan_columns(mysql_columns([("id", LONGLONG), ("object_id", VAR_STRING), ("deleted", 12)]), "relationships")
