"""The kinds of record as objects (``KINDS``): every kind the settings accept has one, and what differs between
kinds is read from it (the column rule, the mirror rule, the records' name, the preview's line)."""

from __future__ import annotations

import urllib.parse
from typing import get_args

import pytest

from airflow_provider_cio.assets import records_name, sanitize_uri
from airflow_provider_cio.operators.reverse_etl import MySQLReverseETLOperator
from airflow_provider_cio.preview import describe_import
from airflow_provider_cio.sync.convert.columns import ImportType, QueryError
from airflow_provider_cio.sync.records.kinds import KINDS, plan_columns
from airflow_provider_cio.sync.settings import SyncSettings

TEXT = "text"


def test_every_import_type_is_a_kind() -> None:
    assert list(KINDS) == list(get_args(ImportType))
    assert all(name == kind.name for name, kind in KINDS.items())


def test_an_unknown_import_type_is_refused_naming_the_kinds() -> None:
    with pytest.raises(QueryError, match="import_type must be one of 'people', 'objects', 'relationships', 'events'"):
        plan_columns([("id", TEXT)], "users")


@pytest.mark.parametrize(
    ("import_type", "columns", "roles", "attributes"),
    [
        ("people", ["plan", "email", "id"], {"identifier_index": 2}, ["plan", "email"]),
        ("objects", ["object_type_id", "object_id", "x"], {"identifier_index": 1, "object_type_index": 0}, ["x"]),
        (
            "relationships",
            ["object_id", "id", "deleted", "email", "role"],
            {"identifier_index": 1, "object_id_index": 0, "deleted_index": 2},
            ["role"],  # the other person identifier is left out
        ),
        (
            "events",
            ["timestamp", "event_id", "id", "name", "total"],
            {"identifier_index": 2, "event_id_index": 1, "name_index": 3},
            ["total"],
        ),
    ],
)
def test_each_kind_gives_its_columns_their_roles(
    import_type: str, columns: list[str], roles: dict[str, int], attributes: list[str]
) -> None:
    plan = plan_columns([(name, TEXT) for name in columns], import_type)
    assert {role: getattr(plan, role) for role in roles} == roles
    assert [column.name for column in plan.attributes] == attributes


def test_the_kinds_name_their_records_and_describe_their_sync() -> None:
    assert [records_name(name, "7") for name in KINDS] == ["people", "objects/7", "relationships", "events"]
    settings = SyncSettings(import_type="objects", object_type_id="7")
    assert describe_import(settings) == "objects, default object type 7"


def test_what_mirror_mode_may_remove_is_the_kinds() -> None:
    assert {name: kind.on_removed_choices for name, kind in KINDS.items()} == {
        "people": ("ignore", "delete", "suppress"),
        "objects": ("ignore", "delete"),
        "relationships": ("ignore", "delete"),
        "events": ("ignore",),  # never mirrored: nothing is removed
    }
    with pytest.raises(ValueError, match="on_removed must be one of 'ignore', not 'delete'"):
        MySQLReverseETLOperator(task_id="t", sql="SELECT 1", import_type="events", event_name="e", on_removed="delete")


@pytest.mark.parametrize("records", ["people", "objects/3", "relationships", "events"])
def test_the_asset_uri_of_each_kinds_records_is_accepted(records: str) -> None:
    uri = urllib.parse.urlsplit(f"customerio://US/site/{records}")
    assert sanitize_uri(uri).geturl() == f"customerio://us/site/{records}"


@pytest.mark.parametrize("records", ["users", "objects", "objects/0", "people/2", ""])
def test_an_asset_uri_naming_no_kinds_records_is_refused(records: str) -> None:
    with pytest.raises(ValueError, match=r"the records being one of .*/people, .*/objects/<object_type_id>"):
        sanitize_uri(urllib.parse.urlsplit(f"customerio://us/site/{records}"))
