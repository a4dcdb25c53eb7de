"""``cio-retl preview``: the first rows of a query as the attributes a sync would set, the rows that would
fail, and the verdict of the column rules, read from a real MySQL server through an Airflow connection, and
(``--conn-id``) from any SQL connection through the source its type picks: MySQL, SQLite and DuckDB files.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3

import duckdb
import pytest

from airflow_provider_cio.cli import main


def preview(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """Run ``cio-retl preview ARGS``; return its exit status and what it printed."""
    capsys.readouterr()
    status = main(["preview", *args])
    return status, capsys.readouterr().out


@pytest.fixture
def users(mysql_db):
    """People with a decimal, a date, a JSON text column and rows a sync would refuse."""
    mysql_db.execute(
        "CREATE TABLE users (seq INT AUTO_INCREMENT PRIMARY KEY, id VARCHAR(40), email VARCHAR(100), "
        "plan VARCHAR(20), balance DECIMAL(12,3), signed_up DATETIME, prefs TEXT)"
    )
    mysql_db.insert(
        "users",
        [
            {"id": "1", "email": "ada@example.com", "plan": "pro", "balance": "12.500",
             "signed_up": "2025-01-02 03:04:05", "prefs": '{"lang": "en"}'},
            {"id": "2", "email": "grace@example.com", "plan": None, "balance": None, "signed_up": None,
             "prefs": None},
            {"id": "3", "email": "not an email", "plan": "free", "balance": "0", "signed_up": None, "prefs": None},
            {"id": "", "email": "nobody@example.com", "plan": "free", "balance": "0", "signed_up": None,
             "prefs": None},
            {"id": "1", "email": "ada.again@example.com", "plan": "pro", "balance": "1", "signed_up": None,
             "prefs": None},
        ],
    )  # fmt: skip
    return mysql_db


def test_a_good_query_shows_the_attributes_each_row_would_set(capsys, users):
    status, out = preview(
        capsys,
        "--sql", "SELECT id, email, plan, balance, signed_up, prefs FROM users WHERE seq <= 2 ORDER BY seq",
        "--json-columns", "prefs",
    )  # fmt: skip

    assert status == 0
    assert out.startswith("Column rules: OK (people identified by id)\n")
    assert "  identifier column: id\n" in out
    assert "  attribute columns (5): email, plan, balance, signed_up, prefs\n" in out
    assert (
        "row 1: person id=1 (identify)\n"
        '    email = "ada@example.com"\n'
        '    plan = "pro"\n'
        '    balance = "12.500"\n'
        "    signed_up = 1735787045\n"
        '    prefs = {"lang":"en"}\n'
        "row 2: person id=2 (identify)\n"
        '    email = "grace@example.com"\n'
    ) in out
    assert "2 rows previewed: 2 would be sent, 0 would fail." in out


def test_empty_values_delete_shows_the_attributes_that_would_be_removed(capsys, users):
    status, out = preview(capsys, "--sql", "SELECT id, plan FROM users WHERE seq = 2", "--empty-values", "delete")

    assert status == 0
    assert "row 1: person id=2 (identify)\n    plan = null\n" in out


def test_rows_a_sync_would_refuse_are_listed_with_the_reason(capsys, users):
    status, out = preview(capsys, "--sql", "SELECT id, email, plan FROM users ORDER BY seq")

    assert status == 1
    assert "Column rules: OK" in out
    assert "row 3: ERROR invalid_email: the email column is not a valid email address (RFC 5322)" in out
    assert "row 4: ERROR missing_identifier: the id column is empty" in out
    assert "row 5: ERROR duplicate_identifier: row 1 of this sync already has this identifier" in out
    assert "row 5: person" not in out  # a refused duplicate is shown as its error only
    assert "5 rows previewed: 2 would be sent, 3 would fail." in out
    assert "Fix the failing rows (duplicate_identifier, invalid_email, missing_identifier)" in out


def test_select_star_without_an_id_column_fails_the_column_rules(capsys, mysql_db):
    mysql_db.execute("CREATE TABLE customers (customer_id INT, email VARCHAR(100))")
    mysql_db.insert("customers", [{"customer_id": 1, "email": "ada@example.com"}])

    status, out = preview(capsys, "--sql", "SELECT * FROM customers")

    assert status == 1
    assert out == (
        "Column rules: FAILED\n"
        "  a query for people identified by id needs a column named 'id'; select a column named id, or rename "
        "one with AS id (SELECT * only works when the table has it). Columns selected: customer_id, email\n"
        "Nothing would be sent. Fix the query and preview it again.\n"
    )


def test_select_star_is_fine_when_the_table_has_the_identifier(capsys, mysql_db):
    mysql_db.execute("CREATE TABLE people (email VARCHAR(100), name VARCHAR(100))")
    mysql_db.insert("people", [{"email": "ada@example.com", "name": "Ada"}])

    status, out = preview(capsys, "--sql", "SELECT * FROM people", "--identify-by", "email")

    assert status == 0
    assert 'row 1: person email=ada@example.com (identify)\n    name = "Ada"\n' in out


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELECT id AS Id, email FROM users", "the query has 'Id': column names are kept exactly as written"),
        ("SELECT id, email, plan AS email FROM users", "more than one column named 'email'"),
        ("UPDATE users SET plan = 'hacked'", "this statement starts with UPDATE"),
    ],
)
def test_bad_queries_get_the_message_that_says_how_to_fix_them(capsys, users, sql, message):
    status, out = preview(capsys, "--sql", sql)

    assert status == 1
    assert out.startswith("Column rules: FAILED\n")
    assert message in out
    assert "row 1" not in out
    assert users.query("SELECT COUNT(*) FROM users WHERE plan = 'hacked'") == [(0,)]


def test_a_query_mysql_refuses_is_reported_without_secrets(capsys, users):
    password = json.loads(os.environ["AIRFLOW_CONN_MYSQL_DEFAULT"]).get("password") or "no password set"

    status, out = preview(capsys, "--sql", "SELECT id FROM no_such_table")

    assert status == 1
    assert out.startswith("Query: FAILED on MySQL\n")
    assert "MySQL connection 'mysql_default' failed (ProgrammingError 1146)" in out
    assert password not in out


def test_an_unknown_connection_is_named(capsys, users):
    status, out = preview(capsys, "--sql", "SELECT id FROM users", "--mysql-conn-id", "no_such_mysql")

    assert status == 1
    assert "no Airflow connection is named 'no_such_mysql'" in out


def test_objects_and_their_type_column(capsys, mysql_db):
    mysql_db.execute("CREATE TABLE companies (object_id VARCHAR(20), object_type_id INT, name VARCHAR(50))")
    mysql_db.insert(
        "companies",
        [
            {"object_id": "acme", "object_type_id": 2, "name": "Acme"},
            {"object_id": "globex", "object_type_id": None, "name": "Globex"},
        ],
    )

    status, out = preview(
        capsys, "--sql", "SELECT * FROM companies ORDER BY object_id", "--import-type", "objects",
        "--object-type-id", "3",
    )  # fmt: skip

    assert status == 0
    assert "Column rules: OK (objects, default object type 3)" in out
    assert 'row 1: object object_type_id=2 object_id=acme (identify)\n    name = "Acme"\n' in out
    assert 'row 2: object object_type_id=3 object_id=globex (identify)\n    name = "Globex"\n' in out


def test_relationships_of_one_person_share_an_op(capsys, mysql_db):
    mysql_db.execute("CREATE TABLE memberships (person_id INT, company_id VARCHAR(20), role VARCHAR(20), gone BOOL)")
    mysql_db.insert(
        "memberships",
        [
            {"person_id": 7, "company_id": "acme", "role": "admin", "gone": 0},
            {"person_id": 7, "company_id": "globex", "role": "user", "gone": 0},
            {"person_id": 8, "company_id": "acme", "role": None, "gone": 1},
        ],
    )

    status, out = preview(
        capsys,
        "--sql", "SELECT person_id AS id, company_id AS object_id, role, gone AS deleted FROM memberships "
        "ORDER BY person_id, company_id",
        "--import-type", "relationships",
    )  # fmt: skip

    assert status == 0
    assert (
        "rows 1-2: person id=7 (add_relationships)\n"
        "    relationship with object_type_id=1 object_id=acme\n"
        '      role = "admin"\n'
        "    relationship with object_type_id=1 object_id=globex\n"
        '      role = "user"\n'
        "row 3: person id=8 (delete_relationships)\n"
        "    relationship with object_type_id=1 object_id=acme\n"
    ) in out


def test_last_sync_time_is_filled_in_and_the_limit_is_kept(capsys, users):
    sql = "SELECT id, email FROM users WHERE seq > {{ last_sync_time }} ORDER BY seq"

    status, out = preview(capsys, "--sql", sql, "--last-sync-time", "1", "--limit", "1")

    assert status == 0
    assert "First 1 row (the query returns more):\nrow 1: person id=2 (identify)\n" in out
    assert "1 row previewed: 1 would be sent, 0 would fail." in out


def test_the_query_can_come_from_a_file(capsys, users, tmp_path):
    sql_file = tmp_path / "people.sql"
    sql_file.write_text("SELECT id, email FROM users WHERE seq = 1\n")

    status, out = preview(capsys, "--sql-file", str(sql_file))

    assert status == 0
    assert 'row 1: person id=1 (identify)\n    email = "ada@example.com"\n' in out


def test_more_than_100_rows_is_refused(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["preview", "--sql", "SELECT 1 AS id", "--limit", "101"])

    assert exited.value.code == 2
    assert "--limit must be between 1 and 100, not 101" in capsys.readouterr().err


def test_a_connection_kept_in_the_metadata_db_is_found(capsys, users, airflow_db):
    from airflow.models import Connection
    from airflow.utils.session import create_session

    conn_id = "mysql_in_the_db"
    fields = json.loads(os.environ["AIRFLOW_CONN_MYSQL_DEFAULT"])
    fields.pop("extra", None)
    with create_session() as session:
        session.add(Connection(conn_id=conn_id, **fields))
    try:
        status, out = preview(capsys, "--sql", "SELECT id FROM users WHERE seq = 1", "--mysql-conn-id", conn_id)
    finally:
        with create_session() as session:
            session.query(Connection).filter(Connection.conn_id == conn_id).delete()

    assert status == 0
    assert "row 1: person id=1 (identify)" in out
    assert "_AIRFLOW_PROCESS_CONTEXT" not in os.environ


def test_terminal_control_characters_of_row_values_are_printed_escaped(capsys, mysql_db):
    mysql_db.execute("CREATE TABLE users (seq INT, id VARCHAR(60), plan VARCHAR(40))")
    mysql_db.insert(
        "users",
        [
            {"seq": 1, "id": "7", "plan": "pro\u009b2J\u009b1;31m"},  # C1 CSI: clear the screen, red
            {"seq": 2, "id": "8", "plan": "free\u202e\x7f\x1b[31m"},  # right-to-left override, DEL, ESC
            {"seq": 3, "id": "9\x1b[2J", "plan": "x"},  # an identifier with control characters fails
        ],
    )

    status, out = preview(capsys, "--sql", "SELECT id, plan FROM users ORDER BY seq")

    assert status == 1, out
    assert (
        "row 1: person id=7 (identify)\n"
        '    plan = "pro\\x9b2J\\x9b1;31m"\n'
        "row 2: person id=8 (identify)\n"
        '    plan = "free\\u202e\\x7f\\u001b[31m"\n'
        "row 3: ERROR invalid_identifier: "
    ) in out
    assert "(identifier '9\\x1b[2J')\n" in out
    assert [c for c in out if not c.isprintable()] == ["\n"] * out.count("\n")


PEOPLE_ROWS = [(1, "ada@example.com", "pro", 5), (2, "not an email", None, 1)]


def people_in(database: str, request: pytest.FixtureRequest, tmp_path, monkeypatch) -> str:
    """The same two people in MySQL (the session's server), a SQLite file or a DuckDB file; the connection id."""
    if database == "mysql":
        mysql_db = request.getfixturevalue("mysql_db")
        mysql_db.execute("CREATE TABLE people (id INT, email VARCHAR(200), plan VARCHAR(20), seats INT)")
        mysql_db.insert(
            "people", [dict(zip(("id", "email", "plan", "seats"), row, strict=True)) for row in PEOPLE_ROWS]
        )
        return "mysql_default"
    path = tmp_path / f"people.{database}"
    if database == "sqlite":
        with contextlib.closing(sqlite3.connect(path)) as con, con:
            con.execute("CREATE TABLE people (id INTEGER, email TEXT, plan TEXT, seats INTEGER)")
            con.executemany("INSERT INTO people VALUES (?, ?, ?, ?)", PEOPLE_ROWS)
    else:
        with duckdb.connect(str(path)) as con:
            con.execute("CREATE TABLE people (id BIGINT, email VARCHAR, plan VARCHAR, seats INTEGER)")
            con.executemany("INSERT INTO people VALUES (?, ?, ?, ?)", PEOPLE_ROWS)
    conn_id = f"people_{database}"
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": database, "host": str(path)}))
    return conn_id


@pytest.mark.parametrize("database", ["mysql", "sqlite", "duckdb"])
def test_conn_id_previews_any_sql_connection_through_its_source(capsys, database, request, tmp_path, monkeypatch):
    conn_id = people_in(database, request, tmp_path, monkeypatch)

    status, out = preview(
        capsys, "--conn-id", conn_id, "--sql", "SELECT id, email, plan, seats FROM people ORDER BY id"
    )

    assert status == 1, out  # row 2 would fail
    assert "Column rules: OK (people identified by id)\n" in out  # after DuckDBHook's log line, on DuckDB
    assert (
        "row 1: person id=1 (identify)\n"
        '    email = "ada@example.com"\n'
        '    plan = "pro"\n'
        "    seats = 5\n"
        "row 2: ERROR invalid_email: "
    ) in out
    assert "2 rows previewed: 1 would be sent, 1 would fail." in out


@pytest.mark.parametrize("database", ["sqlite", "duckdb"])
def test_conn_id_refuses_a_write_naming_the_connection(capsys, database, request, tmp_path, monkeypatch):
    conn_id = people_in(database, request, tmp_path, monkeypatch)

    status, out = preview(capsys, "--conn-id", conn_id, "--sql", "DELETE FROM people RETURNING id")

    assert status == 1
    assert "Column rules: FAILED\n" in out
    assert "this statement starts with DELETE" in out and repr(conn_id) in out


def test_conn_id_reports_the_drivers_error_naming_the_database(capsys, request, tmp_path, monkeypatch):
    conn_id = people_in("sqlite", request, tmp_path, monkeypatch)

    status, out = preview(capsys, "--conn-id", conn_id, "--sql", "SELECT id FROM no_such_table")

    assert status == 1
    assert out.startswith("Query: FAILED on SQLite\n")
    assert f"SQLite connection {conn_id!r} failed (OperationalError): no such table: no_such_table" in out


def test_conn_id_names_a_missing_or_non_sql_connection(capsys, monkeypatch):
    status, out = preview(capsys, "--conn-id", "no_such_connection", "--sql", "SELECT 1 AS id")

    assert status == 1
    assert out.startswith("Query: FAILED\n")
    assert "no Airflow connection is named 'no_such_connection'; give --conn-id a SQL connection" in out

    monkeypatch.setenv("AIRFLOW_CONN_WORKSPACE", json.dumps({"conn_type": "customerio", "login": "site"}))
    status, out = preview(capsys, "--conn-id", "workspace", "--sql", "SELECT 1 AS id")

    assert status == 1
    assert out.startswith("Query: FAILED\n")
    assert "connection 'workspace' (type 'customerio') is not a SQL connection" in out


def test_conn_id_and_mysql_conn_id_are_one_or_the_other(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["preview", "--conn-id", "a", "--mysql-conn-id", "b", "--sql", "SELECT 1 AS id"])

    assert exited.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err
