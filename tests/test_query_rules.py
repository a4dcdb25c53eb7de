"""The query rules of Customer.io's MySQL sync: identifier columns, SELECT *, AS, case, 300 columns, duplicates,
read-only queries and the row limit. Each broken rule fails before anything is sent, saying how to fix the query."""

from __future__ import annotations

import uuid

import pytest
from sync_helpers import person_attributes, run_job, sync_dag_fixture  # noqa: F401

from airflow_provider_cio.sync.convert.columns import QueryError

USERS = "CREATE TABLE users (id INT PRIMARY KEY, email VARCHAR(100), Plan VARCHAR(20), FIRST_NAME VARCHAR(20))"
ACCOUNTS = "CREATE TABLE accounts (user_id INT, mail VARCHAR(100), primary_phone VARCHAR(20))"


def fill(mysql_db) -> None:
    mysql_db.execute(
        USERS,
        "INSERT INTO users VALUES (1, 'ada@example.com', 'pro', 'Ada'), (2, 'grace@example.com', 'free', 'Grace')",
        ACCOUNTS,
        "INSERT INTO accounts VALUES (7, 'linus@example.com', '+1 555 0100')",
        "CREATE TABLE companies (object_id VARCHAR(20), name VARCHAR(20))",
        "INSERT INTO companies VALUES ('acme', 'Acme')",
        "CREATE TABLE teams (team_id VARCHAR(20), name VARCHAR(20))",
        "INSERT INTO teams VALUES ('red', 'Red')",
    )


def assert_refused_before_sending(run, workspace, *phrases: str) -> None:
    """The task failed without retry, its report says why, and the workspace saw no request at all."""
    assert run.state == "failed"
    assert run.report["rows_read"] == 0 and run.report["rows_sent"] == 0
    assert run.report["status"] == "failed"
    for phrase in phrases:
        assert phrase in run.report["error"], run.report["error"]
    assert "Nothing was sent" in run.log
    assert workspace.requests_log() == []
    assert workspace.people() == [] and workspace.objects() == []


# --- identifier columns -------------------------------------------------------------------------------


def test_people_by_id_need_an_id_column(mysql_db, workspace, sync_dag) -> None:
    fill(mysql_db)
    run = sync_dag(sql="SELECT email, Plan FROM users", identify_by="id").run()
    assert_refused_before_sending(
        run, workspace, "needs a column named 'id'", "rename one with AS id", "Columns selected: email, Plan"
    )


def test_people_by_email_need_an_email_column(mysql_db, workspace, sync_dag) -> None:
    fill(mysql_db)
    run = sync_dag(sql="SELECT id, Plan FROM users", identify_by="email").run()
    assert_refused_before_sending(run, workspace, "people identified by email", "needs a column named 'email'")


def test_objects_need_an_object_id_column(mysql_db, workspace, sync_dag) -> None:
    fill(mysql_db)
    run = sync_dag(sql="SELECT team_id, name FROM teams", import_type="objects").run()
    assert_refused_before_sending(run, workspace, "needs a column named 'object_id'", "AS object_id")


# --- SELECT * -------------------------------------------------------------------------------------------


def test_select_star_works_when_the_table_has_an_id_column(mysql_db, workspace, sync_dag) -> None:
    fill(mysql_db)
    run = sync_dag(sql="SELECT * FROM users").run()
    assert run.state == "success"
    assert person_attributes(workspace) == {
        "1": {"Plan": "pro", "FIRST_NAME": "Ada"},
        "2": {"Plan": "free", "FIRST_NAME": "Grace"},
    }


def test_select_star_works_by_email_when_the_table_has_an_email_column(mysql_db, workspace) -> None:
    fill(mysql_db)
    job = run_job("SELECT * FROM users", identify_by="email")
    assert job.report.rows_sent == 2 and not job.errors
    assert workspace.person(email="ada@example.com")["id"] == "1", "the id column is sent too"


def test_select_star_without_an_id_or_email_column_is_refused(mysql_db, workspace, sync_dag) -> None:
    fill(mysql_db)
    run = sync_dag(sql="SELECT * FROM accounts").run()
    assert_refused_before_sending(
        run, workspace, "needs a column named 'id'", "SELECT * only works when the table has it", "user_id"
    )
    with pytest.raises(QueryError, match="needs a column named 'email'"):
        run_job("SELECT * FROM accounts", identify_by="email")


def test_select_star_works_for_objects_when_the_table_has_object_id(mysql_db, workspace) -> None:
    fill(mysql_db)
    job = run_job("SELECT * FROM companies", import_type="objects")
    assert job.report.rows_sent == 1
    assert workspace.objects() == [{"object_type_id": "1", "object_id": "acme", "attributes": {"name": "Acme"}}]


def test_select_star_without_object_id_is_refused_for_objects(mysql_db, workspace) -> None:
    fill(mysql_db)
    with pytest.raises(QueryError, match="a query for objects needs a column named 'object_id'"):
        run_job("SELECT * FROM teams", import_type="objects")
    assert workspace.requests_log() == []


# --- names: AS, case, duplicates ---------------------------------------------------------------------------


def test_as_renames_columns_into_identifiers_and_attributes(mysql_db, workspace, sync_dag) -> None:
    fill(mysql_db)
    run = sync_dag(sql="SELECT user_id AS id, mail AS email, primary_phone AS phone FROM accounts").run()
    assert run.state == "success"
    assert [(p["id"], p["email"], p["attributes"]) for p in workspace.people()] == [
        ("7", "linus@example.com", {"phone": "+1 555 0100"})
    ]


def test_as_with_a_quoted_alias_renames_too(mysql_db, workspace) -> None:
    fill(mysql_db)
    run_job("SELECT team_id AS `object_id`, name AS `Team name` FROM teams", import_type="objects")
    assert workspace.objects() == [{"object_type_id": "1", "object_id": "red", "attributes": {"Team name": "Red"}}]


def test_column_names_keep_their_case_as_attribute_names(mysql_db, workspace) -> None:
    fill(mysql_db)
    run_job("SELECT id, Plan, FIRST_NAME, Plan AS plan FROM users WHERE id = 1")
    assert person_attributes(workspace) == {"1": {"Plan": "pro", "FIRST_NAME": "Ada", "plan": "pro"}}


def test_an_identifier_column_in_another_case_is_not_the_identifier(mysql_db, workspace) -> None:
    fill(mysql_db)
    with pytest.raises(QueryError, match="the query has 'ID': column names are kept exactly as written, so rename"):
        run_job("SELECT id AS ID, Plan FROM users")
    with pytest.raises(QueryError, match="the query has 'Email'"):
        run_job("SELECT email AS Email FROM users", identify_by="email")
    job = run_job("SELECT email AS Email, email FROM users", identify_by="email")
    assert job.report.rows_sent == 2
    assert workspace.person(email="ada@example.com")["attributes"] == {"Email": "ada@example.com"}


def test_duplicate_column_names_are_refused(mysql_db, workspace, sync_dag) -> None:
    fill(mysql_db)
    run = sync_dag(sql="SELECT id, Plan, FIRST_NAME AS Plan FROM users").run()
    assert_refused_before_sending(run, workspace, "more than one column named 'Plan'", "AS")


def test_a_join_selecting_two_id_columns_is_refused(mysql_db, workspace) -> None:
    fill(mysql_db)
    with pytest.raises(QueryError, match="more than one column named 'id'"):
        run_job("SELECT u.id, a.user_id AS id FROM users u JOIN accounts a")
    assert workspace.requests_log() == []


# --- 300 attribute columns ---------------------------------------------------------------------------------


def columns_query(count: int) -> str:
    return "SELECT id, " + ", ".join(f"{n} AS c{n:03d}" for n in range(1, count + 1)) + " FROM users"


def test_300_attribute_columns_are_fine(mysql_db, workspace) -> None:
    fill(mysql_db)
    job = run_job(columns_query(300) + " WHERE id = 1")
    assert job.report.rows_sent == 1 and not job.errors
    attributes = person_attributes(workspace)["1"]
    assert len(attributes) == 300 and attributes["c300"] == "300"


def test_more_than_300_attribute_columns_are_refused_naming_the_ones_over(mysql_db, workspace, sync_dag) -> None:
    fill(mysql_db)
    run = sync_dag(sql=columns_query(302)).run()
    assert_refused_before_sending(
        run, workspace, "302 attribute columns; the limit is 300", "the ones over the limit are: c301, c302"
    )


def test_identifier_and_type_columns_do_not_count_toward_the_300(mysql_db, workspace) -> None:
    fill(mysql_db)
    job = run_job(
        columns_query(300).replace("SELECT id,", "SELECT id AS object_id, '1' AS object_type_id,"),
        import_type="objects",
    )
    assert job.report.rows_sent == 2 and not job.errors
    assert all(len(o["attributes"]) == 300 for o in workspace.objects())


# --- read-only ---------------------------------------------------------------------------------------------


def users_table(mysql_db) -> list[tuple]:
    return mysql_db.query("SELECT id, email, Plan FROM users ORDER BY id")


@pytest.mark.parametrize(
    ("sql", "phrase"),
    [
        ("UPDATE users SET Plan = 'hacked'", "this statement starts with UPDATE"),
        ("DELETE FROM users", "this statement starts with DELETE"),
        ("SELECT id FROM users; DROP TABLE users", "more than one statement"),
        ("SELECT id FROM users; UPDATE users SET Plan = 'hacked'", "more than one statement"),
        ("SELECT id FROM users WHERE 1--1; DROP TABLE users", "more than one statement"),
        ("/*!CREATE TABLE copied */ SELECT * FROM users", "this statement starts with CREATE"),
        ("-- a comment\nDROP TABLE users", "this statement starts with DROP"),
        ("SELECT id FROM users INTO OUTFILE '/tmp/cio-users.txt'", "INTO OUTFILE"),
        ("SELECT id FROM users INTO /* x */ DUMPFILE '/tmp/cio-users.bin'", "INTO OUTFILE/DUMPFILE"),
    ],
)
def test_a_statement_that_writes_is_refused_and_changes_nothing(mysql_db, workspace, sync_dag, sql, phrase) -> None:
    fill(mysql_db)
    before = users_table(mysql_db)
    run = sync_dag(sql=sql).run()
    assert_refused_before_sending(run, workspace, phrase)
    assert users_table(mysql_db) == before
    assert mysql_db.query("SHOW TABLES") == [("accounts",), ("companies",), ("teams",), ("users",)]


# Each walks around a check that stripped comments with a regex blind to string literals and quoted names.
FILE_WALK_AROUNDS = [
    "SELECT '#', id FROM users INTO/**/OUTFILE '{path}'",
    "SELECT id AS `#` FROM users INTO/**/OUTFILE '{path}'",
    "SELECT '/*', id FROM users INTO/**/OUTFILE '{path}'",
    "SELECT id, '-- ' FROM users INTO/**/DUMPFILE '{path}'",
    "SELECT id FROM users /*!INTO*/ OUTFILE '{path}'",
]


@pytest.mark.parametrize("sql", FILE_WALK_AROUNDS)
def test_a_file_write_hidden_behind_a_quoted_comment_mark_is_refused_and_writes_no_file(
    mysql_db, workspace, sync_dag, sql
) -> None:
    fill(mysql_db)
    [(tmpdir,)] = mysql_db.query("SELECT @@tmpdir")
    path = f"{tmpdir}/cio-{uuid.uuid4().hex}.out"
    run = sync_dag(sql=sql.format(path=path)).run()
    assert_refused_before_sending(run, workspace, "INTO OUTFILE/DUMPFILE writes a file on the server")
    assert mysql_db.query(f"SELECT LOAD_FILE('{path}') IS NULL") == [(1,)], "the server wrote no file"


@pytest.mark.parametrize(
    ("sql", "phrase"),
    [
        (
            "SELECT id, Plan FROM users LOCK IN SHARE MODE",
            "takes row locks (LOCK IN SHARE MODE), which block every writer",
        ),
        ("SELECT id, Plan FROM users FOR UPDATE", "takes row locks (FOR UPDATE)"),
        ("SELECT id, Plan FROM users WHERE id = 1 /*!FOR*/ UPDATE", "takes row locks (FOR UPDATE)"),
        ("SELECT id, GET_LOCK('cio', 0) AS locked FROM users", "calls GET_LOCK(), which takes a lock"),
        ("SELECT id INTO @last_id FROM users ORDER BY id DESC LIMIT 1", "INTO @variable"),
    ],
)
def test_a_query_that_locks_or_stores_instead_of_reading_is_refused(mysql_db, workspace, sync_dag, sql, phrase) -> None:
    fill(mysql_db)
    run = sync_dag(sql=sql).run()
    assert_refused_before_sending(run, workspace, phrase)


def test_a_query_naming_refused_phrases_only_inside_literals_and_comments_runs(mysql_db, workspace) -> None:
    fill(mysql_db)
    job = run_job(
        "SELECT id, 'INTO OUTFILE /tmp/x FOR UPDATE' AS `note`, `Plan` AS `LOCK IN SHARE MODE` "
        "FROM users /* GET_LOCK('cio', 0) */ -- INTO @x\n"
    )
    assert job.report.rows_sent == 2 and not job.errors
    assert person_attributes(workspace)["1"] == {"note": "INTO OUTFILE /tmp/x FOR UPDATE", "LOCK IN SHARE MODE": "pro"}


def test_a_select_that_writes_through_a_function_fails_in_the_read_only_transaction(
    mysql_db, workspace, sync_dag
) -> None:
    fill(mysql_db)
    mysql_db.execute(
        "CREATE TABLE audit (id INT)",
        "CREATE FUNCTION touch(x INT) RETURNS INT MODIFIES SQL DATA BEGIN INSERT INTO audit VALUES (x); "
        "UPDATE users SET Plan = 'hacked' WHERE id = x; RETURN x; END",
    )
    before = users_table(mysql_db)
    run = sync_dag(sql="SELECT touch(id) AS id, Plan FROM users").run()
    assert run.state == "failed"
    assert "the query tried to write" in run.report["error"] and "read-only transaction" in run.report["error"]
    assert users_table(mysql_db) == before
    assert mysql_db.query("SELECT COUNT(*) FROM audit") == [(0,)]
    assert workspace.people() == []


def test_the_query_streams_from_a_server_side_cursor_in_a_read_only_transaction(mysql_db, workspace) -> None:
    mysql_db.execute("CREATE TABLE users (id INT PRIMARY KEY, bio TEXT)")
    mysql_db.insert("users", [{"id": n, "bio": "b" * 900} for n in range(1, 20_001)])
    sql = "SELECT id, bio FROM users /* streamed */"
    seen: list[tuple[int, list[tuple]]] = []

    def look_at_the_server(progress) -> None:
        if not seen:
            query = "SELECT COMMAND, INFO FROM information_schema.PROCESSLIST WHERE INFO LIKE '%streamed */'"
            seen.append((progress.rows_read, mysql_db.query(query)))

    job = run_job(sql, fetch_size=500, progress=look_at_the_server)

    assert job.report.rows_sent == 20_000
    rows_read, running = seen[0]
    assert rows_read == 500
    assert running == [("Query", sql)], "the server is still sending rows: they are streamed, not buffered"


def test_a_trailing_semicolon_is_fine(mysql_db, workspace) -> None:
    fill(mysql_db)
    assert run_job("SELECT id, Plan FROM users ;\n").report.rows_sent == 2


# --- the row limit -----------------------------------------------------------------------------------------


def test_more_rows_than_the_limit_sends_the_limit_then_fails(mysql_db, workspace, sync_dag) -> None:
    mysql_db.execute(USERS)
    mysql_db.insert("users", [{"id": n, "Plan": "pro"} for n in range(1, 8)])
    run = sync_dag(sql="SELECT id, Plan FROM users ORDER BY id", max_rows=5).run()

    assert run.state == "failed"
    assert sorted(int(p["id"]) for p in workspace.people()) == [1, 2, 3, 4, 5], "nothing past the limit"
    assert run.report["rows_read"] == 5 and run.report["rows_sent"] == 5
    assert run.report["row_limit_reached"] is True and run.report["status"] == "failed"
    assert "more than 5 rows" in run.log and "ORDER BY and LIMIT" in run.log and "last_sync_time" in run.log


def test_exactly_the_limit_is_fine(mysql_db, workspace) -> None:
    mysql_db.execute(USERS)
    mysql_db.insert("users", [{"id": n, "Plan": "pro"} for n in range(1, 6)])
    job = run_job("SELECT id, Plan FROM users", max_rows=5)
    assert job.report.rows_sent == 5 and not job.report.row_limit_reached and not job.report.failed
