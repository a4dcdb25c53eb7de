"""MySQLReverseETLOperator, people: real DagRuns from a real MySQL table into the emulator over HTTP."""

from __future__ import annotations

import pytest
from sync_helpers import SQL_DIR, person_attributes, sync_dag_fixture  # noqa: F401

from airflow_provider_cio.operators.reverse_etl import MySQLReverseETLOperator

USERS = """CREATE TABLE users (
    id INT PRIMARY KEY, email VARCHAR(200), first_name VARCHAR(50), plan VARCHAR(20), seats INT,
    updated_at BIGINT NOT NULL DEFAULT 0)"""


def fill_users(mysql_db) -> None:
    mysql_db.execute(USERS)
    mysql_db.insert(
        "users",
        [
            {"id": 1, "email": "ada@example.com", "first_name": "Ada", "plan": "pro", "seats": 5},
            {"id": 2, "email": "grace@example.com", "first_name": "Grace", "plan": "free", "seats": 1},
            {"id": 3, "email": None, "first_name": "Linus", "plan": "pro", "seats": 12},
        ],
    )


def test_people_by_id_become_profiles_with_their_attributes(mysql_db, workspace, sync_dag) -> None:
    fill_users(mysql_db)
    run = sync_dag(sql="SELECT id, email, first_name, plan, seats FROM users ORDER BY id", identify_by="id").run()

    assert run.state == "success"
    people = {p["id"]: p for p in workspace.people()}
    assert set(people) == {"1", "2", "3"}
    assert people["1"]["email"] == "ada@example.com"
    assert people["1"]["attributes"] == {"first_name": "Ada", "plan": "pro", "seats": "5"}
    assert people["3"]["email"] is None
    assert people["3"]["attributes"] == {"first_name": "Linus", "plan": "pro", "seats": "12"}
    assert run.report["rows_read"] == 3 and run.report["rows_sent"] == 3 and run.report["rows_failed"] == 0
    assert run.report["error_report"] is None


def test_people_by_email_become_profiles_keyed_by_email(mysql_db, workspace, sync_dag) -> None:
    fill_users(mysql_db)
    run = sync_dag(
        sql="SELECT email, first_name, plan FROM users WHERE email IS NOT NULL ORDER BY id", identify_by="email"
    ).run()

    assert run.state == "success"
    assert sorted((p["id"], p["email"]) for p in workspace.people()) == [
        (None, "ada@example.com"),
        (None, "grace@example.com"),
    ]
    assert workspace.person(email="grace@example.com")["attributes"] == {"first_name": "Grace", "plan": "free"}
    assert run.report["rows_sent"] == 2


def test_people_by_email_also_set_the_id_column(mysql_db, workspace, sync_dag) -> None:
    fill_users(mysql_db)
    run = sync_dag(sql="SELECT email, id, plan FROM users WHERE id = 1", identify_by="email").run()

    assert run.state == "success"
    assert [(p["id"], p["email"], p["attributes"]) for p in workspace.people()] == [
        ("1", "ada@example.com", {"plan": "pro"})
    ]


def test_a_second_run_updates_the_same_profiles_and_leaves_other_attributes(mysql_db, workspace, sync_dag) -> None:
    fill_users(mysql_db)
    dag = sync_dag(sql="SELECT id, plan FROM users ORDER BY id")
    assert dag.run().state == "success"
    mysql_db.execute("UPDATE users SET plan = 'enterprise' WHERE id = 2")
    dag.operator.sql = "SELECT id, plan, seats FROM users WHERE id = 2"
    second = dag.run()

    assert second.state == "success"
    assert person_attributes(workspace) == {
        "1": {"plan": "pro"},
        "2": {"plan": "enterprise", "seats": "1"},
        "3": {"plan": "pro"},
    }
    assert len(workspace.people()) == 3


def test_last_sync_time_renders_0_first_then_the_start_of_the_last_successful_run(
    mysql_db, workspace, sync_dag
) -> None:
    fill_users(mysql_db)
    sql = "SELECT id, {{last_sync_time}} AS seen_last_sync_time FROM users WHERE updated_at >= {{ last_sync_time }}"
    dag = sync_dag(sql=sql)

    first = dag.run()
    assert first.state == "success"
    assert first.report["last_sync_time"] == 0
    assert person_attributes(workspace)["1"] == {"seen_last_sync_time": "0"}, "rendered as 0 on the first run"

    first_start = int(first.start_date.timestamp())
    mysql_db.execute(f"UPDATE users SET updated_at = {first_start + 10} WHERE id = 2")
    second = dag.run()
    assert second.state == "success"
    assert second.report["last_sync_time"] == first_start
    assert second.report["rows_read"] == 1, "only the row changed since the first run"
    assert person_attributes(workspace)["2"] == {"seen_last_sync_time": str(first_start)}
    assert person_attributes(workspace)["1"] == {"seen_last_sync_time": "0"}


def test_a_failed_run_does_not_advance_last_sync_time(mysql_db, workspace, sync_dag) -> None:
    fill_users(mysql_db)
    dag = sync_dag(sql="SELECT id, email FROM users WHERE updated_at >= {{ last_sync_time }} ORDER BY id")
    first = dag.run()
    assert first.state == "success"
    mysql_db.execute("UPDATE users SET email = 'not an email', updated_at = UNIX_TIMESTAMP() WHERE id = 3")
    failed = dag.run()
    assert failed.state == "failed"
    assert failed.report["last_sync_time"] == int(first.start_date.timestamp())
    third = dag.run()
    assert third.report["last_sync_time"] == int(first.start_date.timestamp()), "the failed run is not counted"


def test_sql_from_a_file_is_rendered_with_last_sync_time(mysql_db, workspace, sync_dag) -> None:
    fill_users(mysql_db)
    run = sync_dag(sql="people_since_last_sync.sql", template_searchpath=[str(SQL_DIR)]).run()

    assert run.state == "success"
    assert person_attributes(workspace) == {
        "1": {"first_name": "Ada", "synced_since": "0"},
        "2": {"first_name": "Grace", "synced_since": "0"},
        "3": {"first_name": "Linus", "synced_since": "0"},
    }


def test_the_sql_is_a_templated_field_with_the_sql_file_extension() -> None:
    assert "sql" in MySQLReverseETLOperator.template_fields
    assert "error_report_path" in MySQLReverseETLOperator.template_fields
    assert ".sql" in MySQLReverseETLOperator.template_ext


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"import_type": "users"}, "import_type must be one of 'people', 'objects'"),
        ({"identify_by": "cio_id"}, "identify_by must be one of 'id', 'email'"),
        ({"empty_values": "drop"}, "empty_values must be one of 'ignore', 'delete'"),
        ({"on_suppressed": "skip"}, "on_suppressed must be one of 'succeed', 'fail'"),
        ({"object_type_id": "0"}, "object_type_id must be a positive integer"),
        ({"segment_id": 1, "segment_name": "x"}, "segment_id or segment_name, not both"),
        ({"import_type": "objects", "segment_id": 1}, "segments hold people"),
        ({"max_rows": 10_000_001}, "max_rows must be between 1 and 10,000,000"),
    ],
)
def test_parameters_outside_their_choices_fail_when_the_dag_is_parsed(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        MySQLReverseETLOperator(task_id="sync", sql="SELECT 1 AS id", **kwargs)


def test_the_operator_does_no_io_when_constructed() -> None:
    operator = MySQLReverseETLOperator(
        task_id="sync", sql="SELECT id FROM users", mysql_conn_id="nowhere", customerio_conn_id="nowhere"
    )
    assert operator.import_type == "people" and operator.identify_by == "id"
    assert operator.empty_values == "ignore" and operator.on_suppressed == "succeed"
    assert operator.object_type_id == "1" and operator.segment_id is None and operator.segment_name is None
    assert operator.max_rows == 10_000_000
