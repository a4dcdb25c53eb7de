"""The value rules (MySQL type -> what the workspace gets), from a real MySQL table into the emulator.

The workspace keeps person and object attributes as strings (``42`` reads back as ``"42"``), nested JSON
as it came; so these tests compare what a user would see in the workspace.
"""

from __future__ import annotations

import datetime as dt
import json
import os

import pytest
from sync_helpers import person_attributes, run_job, sync_dag_fixture  # noqa: F401

from airflow_provider_cio.sync.convert.columns import QueryError

VALUES_TABLE = """CREATE TABLE vals (
    id INT PRIMARY KEY,
    price DECIMAL(40,10), cents DECIMAL(5,2), ratio DOUBLE, score FLOAT,
    big BIGINT UNSIGNED, neg TINYINT, flag BOOLEAN, bits BIT(8),
    created DATETIME(6), seen TIMESTAMP NULL, birthday DATE, before_epoch DATETIME,
    duration TIME, opens TIME, yr YEAR,
    kind ENUM('free','pro'), tags SET('x','y','z'), note TEXT, prefs JSON)"""

VALUES_ROW = (
    "INSERT INTO vals VALUES (1, 123456789012345678901234567890.0123456789, 0.10, 2.5, 1.5, "
    "18446744073709551615, -1, TRUE, b'101', '2024-01-02 03:04:05.999999', '2024-07-01 10:00:00', '2024-01-02', "
    "'1969-12-31 23:59:59', '-838:59:59', '09:30:00', 2024, 'pro', 'x,z', 'héllo wörld', "
    '\'{"theme": "dark", "tabs": [1, 2, {"pinned": true}], "none": null}\')'
)

EXPECTED = {
    "price": "123456789012345678901234567890.0123456789",
    "cents": "0.10",
    "ratio": "2.5",
    "score": "1.5",
    "big": "18446744073709551615",
    "neg": "-1",
    "flag": "1",
    "bits": "5",
    "created": str(int(dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc).timestamp())),
    "seen": str(int(dt.datetime(2024, 7, 1, 10, tzinfo=dt.timezone.utc).timestamp())),
    "birthday": str(int(dt.datetime(2024, 1, 2, tzinfo=dt.timezone.utc).timestamp())),
    "before_epoch": "-1",
    "duration": "-838:59:59",
    "opens": "09:30:00",
    "yr": "2024",
    "kind": "pro",
    "tags": "x,z",
    "note": "héllo wörld",
    "prefs": {"theme": "dark", "tabs": [1, 2, {"pinned": True}], "none": None},
}


def fill_values(mysql_db) -> None:
    mysql_db.execute(VALUES_TABLE, "SET time_zone = '+00:00'", VALUES_ROW)


def test_every_mysql_type_arrives_as_the_value_rules_say(mysql_db, workspace, sync_dag) -> None:
    fill_values(mysql_db)
    run = sync_dag(sql="SELECT * FROM vals", json_columns=["prefs"]).run()

    assert run.state == "success"
    assert person_attributes(workspace) == {"1": EXPECTED}


def test_the_driver_converters_and_plain_driver_objects_give_the_same_workspace(mysql_db, workspace) -> None:
    """The operator lets mysqlclient convert text as it reads; any other DB-API driver hands over datetime,
    Decimal, timedelta... objects, converted by their type. Both must end the same in the workspace."""
    fill_values(mysql_db)
    run_job("SELECT * FROM vals", json_columns=("prefs",), converters=True)
    with_converters = workspace.people()
    workspace.reset()
    run_job("SELECT * FROM vals", json_columns=("prefs",), converters=False)
    assert workspace.people() == with_converters
    assert with_converters[0]["attributes"] == EXPECTED


def test_decimal_keeps_every_digit_even_past_float_precision(mysql_db, workspace) -> None:
    mysql_db.execute(
        "CREATE TABLE money (id INT, amount DECIMAL(65,30), tiny DECIMAL(12,10), whole DECIMAL(30,0))",
        "INSERT INTO money VALUES (1, 12345678901234567890123456789012345.123456789012345678901234567890, "
        "0.0000000001, 99999999999999999999999999999)",
        "INSERT INTO money VALUES (2, -0.5, 0, 0)",
    )
    run_job("SELECT * FROM money")
    assert person_attributes(workspace) == {
        "1": {
            "amount": "12345678901234567890123456789012345.123456789012345678901234567890",
            "tiny": "0.0000000001",
            "whole": "99999999999999999999999999999",
        },
        "2": {"amount": "-0.500000000000000000000000000000", "tiny": "0.0000000000", "whole": "0"},
    }


def test_dates_become_unix_seconds_in_the_timezone_given(mysql_db, workspace) -> None:
    mysql_db.execute(
        "CREATE TABLE dates (id INT, local_time DATETIME, day DATE, moment TIMESTAMP NULL)",
        "SET time_zone = '+00:00'",
        "INSERT INTO dates VALUES (1, '2024-07-01 12:00:00', '2024-07-01', '2024-07-01 10:00:00')",
    )
    summer_noon_in_paris = int(dt.datetime(2024, 7, 1, 10, tzinfo=dt.timezone.utc).timestamp())
    paris_midnight = int(dt.datetime(2024, 6, 30, 22, tzinfo=dt.timezone.utc).timestamp())
    for converters in (True, False):
        workspace.reset()
        run_job("SELECT * FROM dates", timezone="Europe/Paris", converters=converters)
        assert person_attributes(workspace)["1"] == {
            "local_time": str(summer_noon_in_paris),
            "day": str(paris_midnight),
            "moment": str(summer_noon_in_paris),
        }, "a TIMESTAMP is a point in time: the timezone parameter does not move it"


def test_a_zero_date_is_a_row_error(mysql_db, workspace) -> None:
    mysql_db.execute(
        "SET SESSION sql_mode = ''",
        "CREATE TABLE dates (id INT, day DATE, at DATETIME)",
        "INSERT INTO dates VALUES (1, '2024-01-01', '2024-01-01 00:00:00'), (2, '0000-00-00', '2024-01-01'), "
        "(3, '2024-01-01', '0000-00-00 00:00:00')",
    )
    job = run_job("SELECT * FROM dates ORDER BY id")
    assert job.error_rows() == [(2, "2", "invalid_value"), (3, "3", "invalid_value")]
    assert "column 'day'" in job.errors[0].message and "NULLIF" in job.errors[0].message
    assert set(person_attributes(workspace)) == {"1"}


def test_json_columns_arrive_nested(mysql_db, workspace) -> None:
    mysql_db.execute(
        "CREATE TABLE docs (id INT, prefs JSON, list_text TEXT, scalar JSON, nothing JSON)",
        """INSERT INTO docs VALUES (1, '{"a": {"b": [1, "two", 3.5, false]}}', '[1, [2, [3]]]', '"plain"', 'null')""",
    )
    run_job("SELECT *, JSON_OBJECT('k', id) AS built FROM docs", json_columns=("prefs", "list_text", "scalar", "built"))
    assert person_attributes(workspace)["1"] == {
        "prefs": {"a": {"b": [1, "two", 3.5, False]}},
        "list_text": [1, [2, [3]]],
        "scalar": "plain",
        "nothing": "null",
        "built": {"k": 1},
    }, "MariaDB reports JSON as text: only json_columns are parsed"


def test_a_json_null_is_an_empty_value(mysql_db, workspace) -> None:
    mysql_db.execute(
        "CREATE TABLE docs (id INT, prefs JSON)",
        """INSERT INTO docs VALUES (1, '{"a": 1}')""",
    )
    run_job("SELECT * FROM docs", json_columns=("prefs",))
    mysql_db.execute("UPDATE docs SET prefs = 'null'")
    run_job("SELECT * FROM docs", json_columns=("prefs",), empty_values="ignore")
    assert person_attributes(workspace)["1"] == {"prefs": {"a": 1}}, "ignore leaves it"
    run_job("SELECT * FROM docs", json_columns=("prefs",), empty_values="delete")
    assert person_attributes(workspace)["1"] == {}, "delete removes it"


def test_invalid_or_oversized_json_is_a_row_error(mysql_db, workspace) -> None:
    mysql_db.execute(
        "CREATE TABLE docs (id INT, prefs TEXT)",
        """INSERT INTO docs VALUES (1, '{"ok": true}'), (2, '{not json'), (3, CONCAT('["', REPEAT('x', 1000), '"]'))""",
    )
    job = run_job("SELECT * FROM docs ORDER BY id", json_columns=("prefs",))
    assert job.error_rows() == [(2, "2", "invalid_value"), (3, "3", "too_large")]
    assert "invalid JSON" in job.errors[0].message and "column 'prefs'" in job.errors[0].message
    assert "{not json" not in job.errors[0].message, "the message never holds the value"
    assert person_attributes(workspace) == {"1": {"prefs": {"ok": True}}}


def test_json_columns_must_name_selected_columns(mysql_db, workspace) -> None:
    mysql_db.execute("CREATE TABLE docs (id INT, prefs TEXT)")
    with pytest.raises(QueryError, match="json_columns names columns the query does not select: settings"):
        run_job("SELECT * FROM docs", json_columns=("settings",))


@pytest.mark.parametrize("empty_values", ["ignore", "delete"])
def test_null_and_empty_strings_follow_empty_values(mysql_db, workspace, empty_values) -> None:
    mysql_db.execute(
        "CREATE TABLE users (id INT, plan VARCHAR(10), nickname VARCHAR(10), seats INT, joined DATE)",
        "INSERT INTO users VALUES (1, 'pro', 'ace', 5, '2024-01-01'), (2, 'free', 'bee', 1, '2024-01-01')",
    )
    run_job("SELECT * FROM users")
    mysql_db.execute("UPDATE users SET plan = NULL, nickname = '', seats = NULL, joined = NULL WHERE id = 1")
    job = run_job("SELECT * FROM users", empty_values=empty_values)

    assert job.report.rows_sent == 2 and not job.errors
    attributes = person_attributes(workspace)
    if empty_values == "ignore":
        assert attributes["1"] == {"plan": "pro", "nickname": "ace", "seats": "5", "joined": "1704067200"}
    else:
        assert attributes["1"] == {}, "NULL and '' remove the attributes"
    assert attributes["2"] == {"plan": "free", "nickname": "bee", "seats": "1", "joined": "1704067200"}


def test_an_empty_identifier_attribute_is_left_out_even_under_delete(mysql_db, workspace) -> None:
    """Identifiers cannot be removed by an identify call: sending ``email: null`` would only be refused later
    as a failed attribute change, so an empty ``email`` (people by id) or ``id`` (people by email) is left out."""
    mysql_db.execute(
        "CREATE TABLE users (id VARCHAR(10), email VARCHAR(50), plan VARCHAR(10))",
        "INSERT INTO users VALUES ('1', 'ada@example.com', 'pro')",
    )
    run_job("SELECT * FROM users")
    mysql_db.execute("UPDATE users SET email = NULL, plan = NULL")
    job = run_job("SELECT * FROM users", empty_values="delete")
    assert job.errors == [] and job.report.rows_sent == 1
    assert workspace.people() == [
        {"cio_id": workspace.people()[0]["cio_id"], "id": "1", "email": "ada@example.com", "attributes": {}}
    ]

    mysql_db.execute("UPDATE users SET email = 'ada@example.com', id = ''")
    job = run_job("SELECT email, id FROM users", identify_by="email", empty_values="delete")
    assert job.errors == [] and workspace.person(email="ada@example.com")["id"] == "1"


def test_null_under_delete_through_the_operator(mysql_db, workspace, sync_dag) -> None:
    mysql_db.execute(
        "CREATE TABLE users (id INT, plan VARCHAR(10), seats INT)", "INSERT INTO users VALUES (1, 'pro', 5)"
    )
    assert sync_dag(sql="SELECT * FROM users").run().state == "success"
    mysql_db.execute("UPDATE users SET plan = NULL")
    assert sync_dag(sql="SELECT * FROM users", empty_values="ignore").run().state == "success"
    assert person_attributes(workspace)["1"] == {"plan": "pro", "seats": "5"}
    assert sync_dag(sql="SELECT * FROM users", empty_values="delete").run().state == "success"
    assert person_attributes(workspace)["1"] == {"seats": "5"}


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("VARBINARY(16)", "x'00ff10'"),
        ("BLOB", "x'89504e47'"),
        ("BINARY(4)", "'abcd'"),
        ("POINT", "POINT(1, 2)"),
    ],
)
def test_binary_values_are_refused_never_mangled(mysql_db, workspace, column, value) -> None:
    mysql_db.execute(
        f"CREATE TABLE files (id INT, name VARCHAR(10), payload {column} NULL)",
        f"INSERT INTO files VALUES (1, 'one', NULL), (2, 'two', {value}), (3, 'three', NULL)",
    )
    job = run_job("SELECT * FROM files ORDER BY id")

    assert job.error_rows() == [(2, "2", "binary_value")]
    assert "column 'payload' holds binary data" in job.errors[0].message and "HEX(col)" in job.errors[0].message
    assert person_attributes(workspace) == {"1": {"name": "one"}, "3": {"name": "three"}}, "row 2 is not sent at all"
    assert job.report.rows_failed == 1 and job.report.rows_sent == 2


def test_binary_converted_in_the_query_is_sent(mysql_db, workspace) -> None:
    mysql_db.execute("CREATE TABLE files (id INT, payload VARBINARY(4))", "INSERT INTO files VALUES (1, x'00ff')")
    job = run_job("SELECT id, HEX(payload) AS payload, TO_BASE64(payload) AS b64 FROM files")
    assert not job.errors
    assert person_attributes(workspace) == {"1": {"payload": "00FF", "b64": "AP8="}}


def test_a_binary_identifier_is_refused(mysql_db, workspace) -> None:
    mysql_db.execute("CREATE TABLE things (id VARBINARY(8), name VARCHAR(10))", "INSERT INTO things VALUES ('a', 'A')")
    job = run_job("SELECT * FROM things")
    assert [e.error_type for e in job.errors] == ["binary_value"]
    assert "CAST(id AS CHAR)" in job.errors[0].message
    assert workspace.people() == []


def read_through_connector(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``mysql_default`` read through mysql-connector-python (the connection's ``client`` extra), whose values
    are Python objects: a SET arrives as a set, a YEAR as an integer."""
    name = "AIRFLOW_CONN_MYSQL_DEFAULT"
    connection = json.loads(os.environ[name])
    connection["extra"] = {**connection.get("extra", {}), "client": "mysql-connector-python"}
    monkeypatch.setenv(name, json.dumps(connection))


def test_a_set_made_into_a_string_over_1000_bytes_fails_its_row_before_sending(
    mysql_db, workspace, monkeypatch
) -> None:
    read_through_connector(monkeypatch)
    members = [f"m{n:02d}" + "x" * 97 for n in range(12)]  # 12 members of 100 characters: 1211 bytes joined
    mysql_db.execute(
        f"CREATE TABLE tagged (id INT PRIMARY KEY, tags SET({', '.join(repr(m) for m in members)}))",
        f"INSERT INTO tagged VALUES (1, '{','.join(members)}'), (2, '{members[0]}')",
    )
    job = run_job("SELECT id, tags FROM tagged ORDER BY id")

    assert job.error_rows() == [(1, "1", "too_large")]
    assert job.errors[0].message == "column 'tags' is over 1000 bytes; shorten it in the query"
    assert person_attributes(workspace) == {"2": {"tags": members[0]}}
    assert workspace.stats()["POST /api/v2/batch"]["ops"] == {"accepted": 1, "failed": 0}, "nothing sent for row 1"


@pytest.mark.parametrize("read", ["server text", "driver objects", "mysql-connector-python"])
def test_a_year_is_sent_as_a_string_whichever_way_the_driver_reads_it(
    mysql_db, workspace, monkeypatch: pytest.MonkeyPatch, read: str
) -> None:
    """As the server's text (the operator with mysqlclient), as mysqlclient's objects (the preview reads so) or
    mysql-connector-python's (integers both): a string. Event data is stored as sent, so it shows ``2024`` apart
    from ``"2024"`` (people attributes would not: the workspace keeps them as strings)."""
    if read == "mysql-connector-python":
        read_through_connector(monkeypatch)
    mysql_db.execute(
        "CREATE TABLE seasons (id INT PRIMARY KEY, yr YEAR)", "INSERT INTO seasons VALUES (1, 2024), (2, 0)"
    )
    sql = "SELECT id, CONCAT('season-', id) AS event_id, yr FROM seasons ORDER BY id"
    run_job(sql, import_type="events", event_name="season", converters=read != "driver objects")

    by_person = {event["person"]["id"]: event["attributes"] for event in workspace.events()}
    assert by_person == {"1": {"yr": "2024"}, "2": {"yr": "0000"}}
