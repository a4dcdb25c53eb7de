"""``identify_by="phone"`` and ``update_only=True`` in the ops: the E.164 rule (``sync/records/phones.py``) on every
path that reads a phone identifier, the ``_update`` flag on people ops, and the settings refused when the DAG is
parsed. The bytes of both paths are compared on any block in ``tests/unit/test_column_path.py``."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_cio.cli import main
from airflow_provider_cio.operators.publish import report_settings
from airflow_provider_cio.operators.relationships import RelationshipOperator
from airflow_provider_cio.operators.reverse_etl import MySQLReverseETLOperator
from airflow_provider_cio.preview import describe_import
from airflow_provider_cio.sync import planning
from airflow_provider_cio.sync.account.outcomes import INVALID_PHONE, MISSING_IDENTIFIER, RowError, RowRefused
from airflow_provider_cio.sync.convert.column_types import SourceColumn
from airflow_provider_cio.sync.mirror.keys import key_reader, removal_op
from airflow_provider_cio.sync.mirror.options import MirrorOptions
from airflow_provider_cio.sync.planning import SyncPlanner
from airflow_provider_cio.sync.records.encoded import Op
from airflow_provider_cio.sync.records.kinds import plan_columns
from airflow_provider_cio.sync.records.ops import CHECKED, PeopleOps
from airflow_provider_cio.sync.records.phones import all_valid_phones, is_valid_phone, phone_text
from airflow_provider_cio.sync.records.relationships import RelationshipOps
from airflow_provider_cio.sync.settings import SyncSettings
from airflow_provider_cio.testing.workspace.values import is_e164

TEXT = 253
ADVICE = "write numbers as E.164, e.g. +14155550123"


def people(names: list[str], identify_by: Any = "phone", empty_values: Any = "ignore", update_only: bool = False):
    plan = plan_columns([(name, TEXT) for name in names], "people", identify_by)
    return PeopleOps(plan, empty_values, update_only)


def row_by_row(builder: PeopleOps, rows: list[tuple[Any, ...]]) -> list[Op | RowError]:
    return list(builder.row_by_row(rows, 1, CHECKED))


# --- the E.164 rule ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("number", ["+14155550123", "+12", "+442071838750", "+999999999999999", "+861012345678"])
def test_e164_numbers_are_phones(number: str) -> None:
    assert is_valid_phone(number) and all_valid_phones([number, number]) and phone_text(number) == number


@pytest.mark.parametrize(
    "value",
    [
        "14155550123",  # no plus
        "+1 415 555 0123",  # spaces
        "+1-415-555-0123",
        "+(1)4155550123",
        "+04155550123",  # a country code never starts with 0
        "+1234567890123456",  # 16 digits
        "+",
        "+1",  # a country code alone: E.164 is a country code and a number, 2 digits at least
        "++14155550123",
        "+14155550123\n",
        "+14155550123\n+14155550124",  # two numbers in one value: a column check must not see two rows
        " +14155550123",
        "+١٤١٥",  # Arabic-Indic digits are digits to Python, not to E.164
        "+\uff11\uff14\uff11\uff15",  # fullwidth digits
        "+1\u0664\u0661\u0665",  # a country code, then digits that are not ASCII
        14155550123,
        14155550123.0,
        b"+14155550123",
    ],
)
def test_what_is_not_e164_fails_its_row_with_advice(value: Any) -> None:
    assert not is_valid_phone(value) and not all_valid_phones(["+14155550123", value])
    with pytest.raises(RowRefused) as refused:
        phone_text(value)
    assert refused.value.error_type == INVALID_PHONE and ADVICE in refused.value.message
    assert refused.value.message.startswith("the phone column does not hold an E.164 number; ")  # not the value


@pytest.mark.parametrize("value", [None, ""])
def test_an_empty_phone_is_a_missing_identifier(value: Any) -> None:
    with pytest.raises(RowRefused) as refused:
        phone_text(value)
    assert refused.value.error_type == MISSING_IDENTIFIER


anything = st.one_of(
    st.text(max_size=20),
    st.from_regex(r"\+[0-9]{0,17}", fullmatch=True),
    st.integers(),
    st.floats(),
    st.none(),
    st.binary(max_size=8),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
)


@given(values=st.lists(anything, max_size=6))
def test_the_phone_rule_never_raises_anything_but_a_row_refusal(values: list[Any]) -> None:
    """Whatever a column holds, the rule answers (or refuses the row): it never stops a sync."""
    assert all_valid_phones(values) == (bool(values) and all(map(is_valid_phone, values)))
    for value in values:
        try:
            assert phone_text(value) == value
        except RowRefused as refused:
            assert refused.error_type in (INVALID_PHONE, MISSING_IDENTIFIER)


@given(value=st.one_of(st.from_regex(r"\+[0-9]{0,17}", fullmatch=True), st.text(alphabet="+0123456789 ", max_size=18)))
def test_the_sync_and_the_workspace_emulator_hold_the_same_phone_rule(value: str) -> None:
    """Written apart (the emulator stands for the workspace), the two rules accept exactly the same numbers."""
    assert is_valid_phone(value) == is_e164(value)


# --- people by phone ------------------------------------------------------------------------------------------


def test_people_by_phone_send_the_number_as_it_is_and_key_on_it() -> None:
    built = list(people(["phone", "plan"]).build([("+14155550123", "pro")], 1))
    assert [(op.body, op.identifier, op.key) for op in built if isinstance(op, Op)] == [
        (
            b'{"type":"person","identifiers":{"phone":"+14155550123"},"action":"identify","attributes":{"plan":"pro"}}',
            "+14155550123",
            "+14155550123",
        )
    ]


def test_a_bad_phone_fails_its_row_only_on_either_path() -> None:
    rows = [("+14155550123", "pro"), ("+1 415 555 0124", "pro"), ("+14155550125", "free")]
    builder = people(["phone", "plan"])
    for built in (list(builder.build(rows, 1)), row_by_row(builder, rows)):
        errors = [item for item in built if isinstance(item, RowError)]
        assert [op.first_row for op in built if isinstance(op, Op)] == [1, 3]
        assert [(e.row_number, e.identifier, e.error_type) for e in errors] == [(2, "+1 415 555 0124", INVALID_PHONE)]
        assert ADVICE in errors[0].message


def test_with_phones_an_email_attribute_is_still_checked() -> None:
    built = list(people(["phone", "email"]).build([("+14155550123", "not an email")], 1))
    assert [(item.error_type) for item in built if isinstance(item, RowError)] == ["invalid_email"]


@pytest.mark.parametrize(
    ("identify_by", "names", "row"),
    [
        ("id", ["id", "phone", "email"], ("7", None, "")),
        ("phone", ["phone", "id", "email"], ("+14155550123", "", None)),
    ],
    ids=["phone attribute, people by id", "id and email attributes, people by phone"],
)
def test_an_empty_identifier_attribute_is_never_sent_as_null(identify_by: Any, names: list[str], row: Any) -> None:
    """An identify cannot remove an identifier: with ``empty_values="delete"`` an empty ``phone`` (people by id)
    or ``id``/``email`` (people by phone) is left out, as an empty ``email`` is for people by id."""
    (op,) = people(names, identify_by, "delete").build([row], 1)
    assert isinstance(op, Op)
    assert orjson.loads(op.body)["identifiers"] == {identify_by: row[0]}
    assert orjson.loads(op.body)["attributes"] == {}


# --- update only ----------------------------------------------------------------------------------------------


def test_update_only_puts_update_true_last_on_every_op() -> None:
    rows = [("+14155550123", "pro", None), ("+14155550124", "free", "x")]
    built = list(people(["phone", "plan", "note"], update_only=True).build(rows, 1))
    assert [orjson.loads(op.body)["attributes"] for op in built if isinstance(op, Op)] == [
        {"plan": "pro", "_update": True},
        {"plan": "free", "note": "x", "_update": True},
    ]
    assert list(orjson.loads(built[0].body)["attributes"])[-1] == "_update"  # type: ignore[union-attr]


def test_a_sync_with_update_only_builds_its_ops_with_update() -> None:
    """What the engine is given (``planning.builder_for``) carries the setting to the ops."""
    plan = plan_columns([("phone", TEXT), ("plan", TEXT)], "people", "phone")
    for update_only in (False, True):
        builder = planning.builder_for(
            plan, SyncSettings(import_type="people", identify_by="phone", update_only=update_only)
        )
        (op,) = builder.build([("+14155550123", "pro")], 1)
        assert isinstance(op, Op) and op.body.endswith(b',"_update":true}}') is update_only


def test_without_update_only_no_op_carries_update() -> None:
    built = list(people(["phone", "plan"]).build([("+14155550123", "pro")], 1))
    assert b"_update" not in built[0].body  # type: ignore[union-attr]


@pytest.mark.parametrize("import_type", ["objects", "relationships", "events"])
def test_update_only_is_refused_for_anything_but_people(import_type: Any) -> None:
    with pytest.raises(ValueError, match=r"update_only=True applies to people only|import_type must be one of"):
        SyncSettings(import_type=import_type, update_only=True)


def test_update_only_must_be_a_bool() -> None:
    with pytest.raises(ValueError, match="update_only must be True or False, not 'yes'"):
        SyncSettings(import_type="people", update_only="yes")  # type: ignore[arg-type]


def test_operators_refuse_update_only_when_the_dag_is_parsed() -> None:
    with pytest.raises(ValueError, match="update_only=True applies to people only, not to objects"):
        MySQLReverseETLOperator(task_id="sync", sql="SELECT 1", import_type="objects", update_only=True)
    with pytest.raises(ValueError, match="update_only=True applies to people only, not to relationships"):
        RelationshipOperator(task_id="sync", sql="SELECT 1", update_only=True)
    people_task = MySQLReverseETLOperator(task_id="sync", sql="SELECT 1", identify_by="phone", update_only=True)
    assert people_task.settings().update_only and people_task.settings().identify_by == "phone"


def test_a_segment_is_refused_with_phones() -> None:
    with pytest.raises(ValueError, match="a manual segment is filled by id or email, never by phone"):
        MySQLReverseETLOperator(task_id="sync", sql="SELECT 1", identify_by="phone", segment_id=3)


def test_the_report_settings_say_whether_the_sync_was_update_only() -> None:
    for update_only in (False, True):
        settings = SyncSettings(import_type="people", identify_by="phone", update_only=update_only)
        shown = report_settings(settings, None, "customerio_default", "mysql_default")
        assert shown["update_only"] is update_only and shown["identify_by"] == "phone"


def test_the_preview_takes_phone_and_update_only_and_refuses_them_as_a_sync_does(capsys) -> None:
    settings = SyncSettings(import_type="people", identify_by="phone", update_only=True)
    assert describe_import(settings) == "people identified by phone, update only (creates nobody)"
    status = main(
        ["preview", "--sql", "SELECT 1", "--import-type", "relationships", "--identify-by", "phone", "--update-only"]
    )
    assert status == 1
    assert "update_only=True applies to people only, not to relationships" in capsys.readouterr().out


# --- relationships and mirror keys ----------------------------------------------------------------------------


def test_relationships_by_phone_group_by_the_number_and_refuse_a_bad_one() -> None:
    plan = plan_columns([("phone", TEXT), ("object_id", TEXT), ("id", TEXT)], "relationships", "phone")
    builder = RelationshipOps(plan)
    rows = [("+14155550123", "acme", "7"), ("+14155550123", "globex", "7"), ("4155550124", "acme", "8")]
    built = [*builder.build(rows, 1), *builder.finish()]
    op, error = built
    assert isinstance(op, Op) and isinstance(error, RowError)
    assert orjson.loads(op.body)["identifiers"] == {"phone": "+14155550123"} and op.row_count == 2
    assert b'"id"' not in op.body  # the other identifiers are never relationship attributes
    assert (error.row_number, error.error_type) == (3, INVALID_PHONE)


def test_mirror_keys_people_by_their_number_and_remove_them_by_it() -> None:
    plan = plan_columns([("phone", TEXT), ("plan", TEXT)], "people", "phone")
    assert key_reader(plan, "1")([("+14155550123", "pro"), ("+442071838750", "free")]) == [
        "+14155550123",
        "+442071838750",
    ]
    assert orjson.loads(removal_op("people", "phone", "delete", "+14155550123")) == {
        "type": "person",
        "identifiers": {"phone": "+14155550123"},
        "action": "delete",
    }


def test_switching_update_only_makes_a_mirror_send_every_row_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """A row sent under ``update_only`` may have matched nobody: switching it off (or on) must not leave such
    rows counted as unchanged, so the value fingerprint differs (with another one every row is sent again),
    and it stays what it was for syncs that never set it (their snapshots stay comparable)."""
    seen: dict[tuple[bool, str], str] = {}

    class Recorded:
        def __init__(self, options: Any, **kwargs: Any) -> None:
            self.kwargs = kwargs

        def load(self) -> None:
            pass

    monkeypatch.setattr(planning, "MirrorRun", Recorded)
    options = MirrorOptions(on_removed="ignore", max_removed="10%", store=None)  # type: ignore[arg-type]
    for update_only in (False, True):
        for identify_by in ("id", "phone"):
            settings = SyncSettings(import_type="people", identify_by=identify_by, update_only=update_only)
            mirror: Any = SyncPlanner(settings).mirror(
                options, [SourceColumn("id"), SourceColumn("plan")], segment=None, workdir=None, logger=None
            )
            seen[update_only, identify_by] = mirror.kwargs["value_fingerprint"]
    assert seen[False, "id"] == seen[False, "phone"] == planning.fingerprint([["id", "plan"], "ignore", (), "UTC"])
    assert seen[True, "id"] != seen[False, "id"]
