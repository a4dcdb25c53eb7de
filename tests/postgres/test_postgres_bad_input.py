"""Bad input from a PostgreSQL source: a clear error naming the connection, and nothing written or sent."""

from __future__ import annotations

import datetime as dt

import pytest

from airflow_provider_cio.operators.postgres import PostgresReverseETLOperator

from .helpers import PostgresSyncDag

pytestmark = pytest.mark.usefixtures("airflow_db")

USERS = (
    "CREATE TABLE users (id int PRIMARY KEY, plan text)",
    "INSERT INTO users VALUES (1, 'pro'), (2, 'free')",
    "CREATE SEQUENCE tickets",
)


def failed_before_sending(postgres_db, workspace, sql: str, **kwargs) -> str:
    """Run the sync; check it failed with nothing sent and the table untouched; return the report's error."""
    run = PostgresSyncDag(PostgresReverseETLOperator, sql=sql, **kwargs).run()
    assert run.state == "failed"
    assert workspace.people() == []
    assert postgres_db.query("SELECT id, plan FROM users ORDER BY id") == [(1, "pro"), (2, "free")]
    return run.report["error"]


def test_a_query_that_writes_fails_and_changes_nothing(postgres_db, workspace) -> None:
    postgres_db.execute(*USERS)
    error = failed_before_sending(postgres_db, workspace, "SELECT id, nextval('tickets') AS ticket FROM users")
    assert "the query tried to write (PostgreSQL connection 'postgres_default', SQLSTATE 25006" in error
    assert "read-only transaction and changed nothing" in error
    assert postgres_db.query("SELECT is_called FROM tickets") == [(False,)]

    error = failed_before_sending(
        postgres_db, workspace, "WITH gone AS (DELETE FROM users RETURNING id) SELECT id FROM gone"
    )
    assert "the query tried to write" in error and "data-modifying" in error


def test_a_second_statement_is_refused_before_it_reaches_the_server(postgres_db, workspace) -> None:
    postgres_db.execute(*USERS)
    error = failed_before_sending(postgres_db, workspace, "SELECT id FROM users; DELETE FROM users")
    assert "more than one statement" in error


@pytest.mark.parametrize(
    ("sql", "phrase"),
    [
        (
            "SELECT t.id FROM dblink('{conninfo}', 'DELETE FROM users RETURNING id') AS t(id int)",
            "calls dblink()",
        ),
        ("SELECT 1 AS id, dblink_exec('{conninfo}', 'DELETE FROM users') AS deleted", "calls dblink_exec()"),
        ("SELECT '#' AS note, /* '/* */ */ dblink_exec('', 'DELETE FROM users') AS id", "calls dblink_exec()"),
        ("SELECT $q$ $$ $q$ AS note, lo_export(1, '/tmp/cio-users') AS id", "calls lo_export()"),
        ("SELECT 1 AS id, pg_read_file('postgresql.conf') AS conf", "calls pg_read_file()"),
        ("SELECT id FROM users FOR NO KEY UPDATE", "takes row locks (FOR NO KEY UPDATE)"),
        ("SELECT id, pg_advisory_lock(id) AS locked FROM users", "calls pg_advisory_lock()"),
    ],
)
def test_a_call_that_escapes_the_read_only_transaction_is_refused_before_it_reaches_the_server(
    postgres_db, workspace, sql, phrase
) -> None:
    postgres_db.execute(*USERS, "CREATE EXTENSION dblink")  # a dblink that works: its writes would stay
    server = postgres_db.server
    conninfo = f"host={server.host} port={server.port} user={server.user} dbname={postgres_db.name}"
    error = failed_before_sending(postgres_db, workspace, sql.replace("{conninfo}", conninfo))
    assert phrase in error and "remove" in error.lower(), error


def test_an_unknown_column_names_the_connection_and_the_fix(postgres_db, workspace) -> None:
    postgres_db.execute(*USERS)
    error = failed_before_sending(postgres_db, workspace, "SELECT id, nope FROM users")
    assert error.startswith("PostgreSQL connection 'postgres_default' failed (UndefinedColumn 42703)")
    assert 'column "nope" does not exist' in error and "names a column the table does not have" in error


def test_permission_denied_says_what_to_grant(postgres_db, workspace, monkeypatch) -> None:
    postgres_db.execute(*USERS, "DROP ROLE IF EXISTS cio_reader", "CREATE ROLE cio_reader LOGIN")
    monkeypatch.setenv("AIRFLOW_CONN_POSTGRES_READER", postgres_db.connection_uri("cio_reader"))
    error = failed_before_sending(postgres_db, workspace, "SELECT id FROM users", postgres_conn_id="postgres_reader")
    assert error.startswith("PostgreSQL connection 'postgres_reader' failed (InsufficientPrivilege 42501)")
    assert "Grant the connection's PostgreSQL user SELECT" in error


def test_statement_timeout_cancels_a_slow_query_on_the_server(postgres_db, workspace) -> None:
    postgres_db.execute(*USERS)
    error = failed_before_sending(
        postgres_db, workspace, "SELECT id, pg_sleep(30) AS slept FROM users", statement_timeout=0.5
    )
    assert "(QueryCanceled 57014)" in error and "statement_timeout" in error


def test_execution_timeout_cancels_the_query_on_the_server(postgres_db, workspace) -> None:
    postgres_db.execute(*USERS)
    run = PostgresSyncDag(
        PostgresReverseETLOperator,
        sql="SELECT id, pg_sleep(300) AS slept FROM users",
        execution_timeout=dt.timedelta(seconds=2),
    ).run()

    assert run.state == "failed" and workspace.people() == []
    # the active statement of a server-side cursor is its FETCH: look for any query on this database
    still_running = postgres_db.query(
        "SELECT query FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' "
        "AND pid <> pg_backend_pid()"
    )
    assert still_running == []


def test_mysql_conn_id_is_refused_at_parse_time() -> None:
    with pytest.raises(TypeError, match="postgres_conn_id"):
        PostgresReverseETLOperator(task_id="sync", sql="SELECT 1 AS id", mysql_conn_id="mysql_default")
    with pytest.raises(ValueError, match="statement_timeout"):
        PostgresReverseETLOperator(task_id="sync", sql="SELECT 1 AS id", statement_timeout=0)


def test_the_server_refuses_a_second_statement_even_past_the_sql_check(postgres_db, monkeypatch) -> None:
    """The second line of defence: a server-side cursor is one prepared statement."""
    import airflow_provider_cio.sources.postgres.stream as postgres_stream

    postgres_db.execute(*USERS)
    monkeypatch.setattr(postgres_stream, "check_select", lambda sql, dialect: None)
    stream = postgres_stream.PostgresQueryStream()
    with pytest.raises(Exception, match="cannot insert multiple commands"):
        stream.execute("SELECT id FROM users; DELETE FROM users")
    stream.close(finished=False)
    assert postgres_db.query("SELECT count(*) FROM users") == [(2,)]


@pytest.mark.parametrize("finished", [True, False], ids=["read to the end", "stopped early"])
def test_a_closed_stream_leaves_no_open_server_cursor_behind(postgres_db, finished: bool) -> None:
    """A server cursor collected while open warns (ResourceWarning) wherever the collection happens to run."""
    import gc
    import warnings

    from airflow_provider_cio.sources.postgres.stream import PostgresQueryStream

    postgres_db.execute(*USERS)
    stream = PostgresQueryStream()
    cursor = stream.execute("SELECT id FROM users ORDER BY id")
    rows = cursor.fetchmany(10 if finished else 1)
    assert rows
    server_cursor = stream.cursor
    stream.close(finished=finished)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del cursor, server_cursor
        gc.collect()
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []
