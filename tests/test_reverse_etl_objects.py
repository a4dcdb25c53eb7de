"""MySQLReverseETLOperator, objects: default type, a per-row object_type_id column, an unknown type."""

from __future__ import annotations

from sync_helpers import sync_dag_fixture  # noqa: F401

COMPANIES = """CREATE TABLE companies (
    object_id VARCHAR(50) PRIMARY KEY, kind INT, name VARCHAR(100), seats INT, plan VARCHAR(20))"""


def fill_companies(mysql_db) -> None:
    mysql_db.execute(COMPANIES)
    mysql_db.insert(
        "companies",
        [
            {"object_id": "acme", "kind": 1, "name": "Acme", "seats": 50, "plan": "pro"},
            {"object_id": "globex", "kind": 2, "name": "Globex", "seats": 7, "plan": None},
            {"object_id": "initech", "kind": 1, "name": "Initech", "seats": 120, "plan": "free"},
        ],
    )


def objects_by_key(workspace) -> dict[tuple[str, str], dict]:
    return {(o["object_type_id"], o["object_id"]): o["attributes"] for o in workspace.objects()}


def test_objects_without_a_type_column_get_the_default_type_1(mysql_db, workspace, sync_dag) -> None:
    fill_companies(mysql_db)
    run = sync_dag(sql="SELECT * FROM companies WHERE kind = 1", import_type="objects").run()

    assert run.state == "success"
    assert objects_by_key(workspace) == {
        ("1", "acme"): {"kind": "1", "name": "Acme", "seats": "50", "plan": "pro"},
        ("1", "initech"): {"kind": "1", "name": "Initech", "seats": "120", "plan": "free"},
    }
    assert workspace.people() == [], "an objects sync creates no person"
    assert run.report["import_type"] == "objects" and run.report["rows_sent"] == 2


def test_objects_get_the_object_type_id_parameter_when_the_query_has_no_type(mysql_db, workspace, sync_dag) -> None:
    fill_companies(mysql_db)
    workspace.settings(object_types=["1", "2"])
    run = sync_dag(
        sql="SELECT object_id, name FROM companies ORDER BY object_id", import_type="objects", object_type_id="2"
    ).run()

    assert run.state == "success"
    assert set(objects_by_key(workspace)) == {("2", "acme"), ("2", "globex"), ("2", "initech")}


def test_an_object_type_id_column_gives_each_row_its_type_and_is_not_an_attribute(
    mysql_db, workspace, sync_dag
) -> None:
    fill_companies(mysql_db)
    workspace.settings(object_types=["1", "2"])
    run = sync_dag(
        sql="SELECT object_id, IF(kind = 2, '2', NULL) AS object_type_id, name FROM companies",
        import_type="objects",
        object_type_id="1",
    ).run()

    assert run.state == "success"
    assert objects_by_key(workspace) == {
        ("1", "acme"): {"name": "Acme"},
        ("2", "globex"): {"name": "Globex"},
        ("1", "initech"): {"name": "Initech"},
    }, "a NULL object_type_id falls back to the object_type_id parameter"


def test_an_unknown_object_type_fails_only_its_rows(mysql_db, workspace, sync_dag) -> None:
    fill_companies(mysql_db)
    run = sync_dag(
        sql="SELECT object_id, kind AS object_type_id, name FROM companies ORDER BY object_id",
        import_type="objects",
    ).run()

    assert run.state == "failed"
    assert set(objects_by_key(workspace)) == {("1", "acme"), ("1", "initech")}
    assert run.report["rows_read"] == 3 and run.report["rows_sent"] == 2 and run.report["rows_failed"] == 1
    [line] = run.csv_rows
    assert line["row_number"] == "2" and line["identifier"] == "2:globex"
    assert line["error_type"] == "invalid"
    assert "object_type_id" in line["message"] and "object type 2 does not exist" in line["message"]


def test_an_object_type_id_that_is_not_a_positive_integer_is_a_row_error(mysql_db, workspace, sync_dag) -> None:
    fill_companies(mysql_db)
    run = sync_dag(
        sql="SELECT object_id, IF(object_id = 'globex', 'company', '1') AS object_type_id FROM companies "
        "ORDER BY object_id",
        import_type="objects",
    ).run()

    assert run.state == "failed"
    assert set(objects_by_key(workspace)) == {("1", "acme"), ("1", "initech")}
    [line] = run.csv_rows
    assert (line["row_number"], line["identifier"], line["error_type"]) == ("2", "company:globex", "invalid_identifier")
    assert "object_type_id must be a positive integer" in line["message"]


def test_a_second_objects_run_merges_attributes(mysql_db, workspace, sync_dag) -> None:
    fill_companies(mysql_db)
    dag = sync_dag(sql="SELECT object_id, name, plan FROM companies WHERE kind = 1", import_type="objects")
    assert dag.run().state == "success"
    mysql_db.execute("UPDATE companies SET plan = NULL, seats = 51 WHERE object_id = 'acme'")
    dag.operator.sql = "SELECT object_id, seats, plan FROM companies WHERE object_id = 'acme'"
    dag.operator.empty_values = "delete"
    assert dag.run().state == "success"
    assert objects_by_key(workspace)[("1", "acme")] == {"name": "Acme", "seats": "51"}, "NULL deleted plan"
