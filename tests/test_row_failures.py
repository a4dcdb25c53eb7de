"""Rows that fail, alone: caught before sending (identifiers, emails, sizes, duplicates), refused by the workspace,
or refused after the fact (failed attribute changes, suppressed people) and traced through the activity log."""

from __future__ import annotations

import functools
import json
import threading
import time

import pytest
from sync_helpers import person, person_attributes, run_job, seed, sync_dag_fixture  # noqa: F401

from airflow_provider_cio.sync import after_sync
from airflow_provider_cio.sync.account.reconcile import settled_activities

NO_APP_KEY_NOTE = "failed attribute changes and suppressed people cannot be seen"


def users_table(mysql_db, rows: list[tuple]) -> None:
    mysql_db.execute("CREATE TABLE users (n INT PRIMARY KEY, id VARCHAR(300), email VARCHAR(1200), plan TEXT)")
    mysql_db.insert("users", [{"n": n, "id": i, "email": e, "plan": p} for n, (i, e, p) in enumerate(rows, 1)])


# --- caught before sending -----------------------------------------------------------------------------------


def test_invalid_emails_fail_only_their_rows(mysql_db, workspace, sync_dag) -> None:
    users_table(
        mysql_db,
        [
            ("1", "ada@example.com", "pro"),
            ("2", "not an email", "pro"),
            ("3", "grace@@example.com", "pro"),
            ("4", "jürgen@bücher.example", "pro"),
            ("5", '"john doe"@example.com', "pro"),
            ("6", "trailing.dot.@example.com", "pro"),
        ],
    )
    run = sync_dag(sql="SELECT id, email, plan FROM users ORDER BY n").run()

    assert run.state == "failed"
    assert run.errors() == [(2, "2", "invalid_email"), (3, "3", "invalid_email"), (6, "6", "invalid_email")]
    assert all("not a valid email address (RFC 5322)" in line["message"] for line in run.csv_rows)
    assert sorted(person_attributes(workspace)) == ["1", "4", "5"]
    assert workspace.person(id="4")["email"] == "jürgen@bücher.example", "internationalised addresses are valid"


def test_invalid_email_identifiers_are_reported_under_the_value_given(mysql_db, workspace) -> None:
    users_table(mysql_db, [(None, "ada@example.com", "pro"), (None, "ada.example.com", "pro"), (None, None, "x")])
    job = run_job("SELECT email, plan FROM users ORDER BY n", identify_by="email")

    assert job.error_rows() == [(2, "ada.example.com", "invalid_email"), (3, "", "missing_identifier")]
    assert [p["email"] for p in workspace.people()] == ["ada@example.com"]


def test_an_email_identifier_over_1000_bytes_is_too_large(mysql_db, workspace) -> None:
    long_email = "a" * 64 + "@" + ".".join(["d" * 60] * 16) + ".example"
    users_table(mysql_db, [(None, long_email, "pro"), (None, "ada@example.com", "pro")])
    job = run_job("SELECT email, plan FROM users ORDER BY n", identify_by="email")

    assert [(e.row_number, e.error_type, e.message) for e in job.errors] == [
        (1, "too_large", "the email column is over 1000 bytes")
    ]
    assert [p["email"] for p in workspace.people()] == ["ada@example.com"]


def test_missing_and_blank_identifiers_fail_only_their_rows(mysql_db, workspace) -> None:
    users_table(mysql_db, [("1", None, "a"), (None, None, "b"), ("", None, "c"), ("4", None, "d"), ("5\n", None, "e")])
    job = run_job("SELECT id, plan FROM users ORDER BY n")

    assert job.error_rows() == [
        (2, "", "missing_identifier"),
        (3, "", "missing_identifier"),
        (5, "5\n", "invalid_identifier"),
    ]
    assert job.errors[0].message == "the id column is empty"
    assert sorted(person_attributes(workspace)) == ["1", "4"]
    assert job.report.rows_read == 5 and job.report.rows_sent == 2 and job.report.rows_failed == 3


def test_oversize_values_fail_only_their_rows(mysql_db, workspace) -> None:
    users_table(
        mysql_db,
        [
            ("1", None, "x" * 1000),
            ("2", None, "x" * 1001),
            ("3", None, "é" * 500),
            ("4", None, "é" * 501),
        ],
    )
    job = run_job("SELECT id, plan FROM users ORDER BY n")

    assert job.error_rows() == [(2, "2", "too_large"), (4, "4", "too_large")], "1000 UTF-8 bytes, not characters"
    assert "column 'plan' is over 1000 bytes" in job.errors[0].message
    assert "xxx" not in job.errors[0].message
    assert sorted(person_attributes(workspace)) == ["1", "3"]


def test_oversize_identifiers_fail_only_their_rows(mysql_db, workspace) -> None:
    users_table(mysql_db, [("a" * 150, None, "ok"), ("b" * 151, None, "ok"), ("é" * 76, None, "ok")])
    job = run_job("SELECT id, plan FROM users ORDER BY n")

    assert [(e.row_number, e.error_type) for e in job.errors] == [(2, "too_large"), (3, "too_large")]
    assert job.errors[0].message == "the id is over 150 bytes"
    assert [p["id"] for p in workspace.people()] == ["a" * 150]

    workspace.reset()
    job = run_job("SELECT id AS object_id, plan FROM users ORDER BY n", import_type="objects")
    assert [(e.row_number, e.error_type) for e in job.errors] == [(2, "too_large"), (3, "too_large")]
    assert job.errors[0].identifier.startswith("1:bbbb")
    assert [o["object_id"] for o in workspace.objects()] == ["a" * 150]


def test_a_row_whose_op_is_over_32000_bytes_fails_alone(mysql_db, workspace) -> None:
    columns = ", ".join(f"c{n} TEXT" for n in range(40))
    mysql_db.execute(f"CREATE TABLE wide (id INT, {columns})")
    values = ", ".join(["REPEAT('v', 900)"] * 40)
    half = ", ".join(["REPEAT('v', 900)"] * 20 + ["NULL"] * 20)
    mysql_db.execute(f"INSERT INTO wide VALUES (1, {half}), (2, {values}), (3, {half})")
    job = run_job("SELECT * FROM wide ORDER BY id")

    assert job.error_rows() == [(2, "2", "too_large")]
    assert "an op of" in job.errors[0].message and "the limit is 32000" in job.errors[0].message
    assert sorted(person_attributes(workspace)) == ["1", "3"]


# --- duplicates ----------------------------------------------------------------------------------------------


def test_duplicate_ids_in_one_sync_fail_only_the_later_rows(mysql_db, workspace, sync_dag) -> None:
    users_table(mysql_db, [("1", None, "a"), ("2", None, "b"), ("1", None, "c"), ("3", None, "d"), ("2", None, "e")])
    run = sync_dag(sql="SELECT id, plan FROM users ORDER BY n").run()

    assert run.state == "failed"
    assert run.errors() == [(3, "1", "duplicate_identifier"), (5, "2", "duplicate_identifier")]
    assert run.csv_rows[0]["message"] == "row 1 of this sync already has this identifier; each one may appear once"
    assert run.csv_rows[1]["message"].startswith("row 2 of this sync")
    assert person_attributes(workspace) == {"1": {"plan": "a"}, "2": {"plan": "b"}, "3": {"plan": "d"}}
    assert run.report["rows_sent"] == 3 and run.report["rows_failed"] == 2


def test_duplicate_emails_differ_only_in_case(mysql_db, workspace) -> None:
    users_table(
        mysql_db, [(None, "Ada@Example.com", "a"), (None, "bob@example.com", "b"), (None, "ada@example.com", "c")]
    )
    job = run_job("SELECT email, plan FROM users ORDER BY n", identify_by="email")

    assert job.error_rows() == [(3, "ada@example.com", "duplicate_identifier")]
    assert workspace.person(email="ada@example.com")["attributes"] == {"plan": "a"}


def test_duplicate_objects_are_per_type(mysql_db, workspace) -> None:
    workspace.settings(object_types=["1", "2"])
    mysql_db.execute(
        "CREATE TABLE companies (n INT, object_id VARCHAR(10), object_type_id INT, name VARCHAR(10))",
        "INSERT INTO companies VALUES (1, 'acme', 1, 'a'), (2, 'acme', 2, 'b'), (3, 'acme', 1, 'c')",
    )
    job = run_job("SELECT object_id, object_type_id, name FROM companies ORDER BY n", import_type="objects")

    assert job.error_rows() == [(3, "1:acme", "duplicate_identifier")]
    assert sorted((o["object_type_id"], o["attributes"]["name"]) for o in workspace.objects()) == [
        ("1", "a"),
        ("2", "b"),
    ]


# --- failed attribute changes and suppressed people (after the fact) ------------------------------------


def conflict_and_suppression_setup(mysql_db) -> None:
    """Person 10 owns taken@example.com; person 20 is suppressed. Rows 2 and 3 run into them."""
    seed(person({"id": "10"}, email="taken@example.com"), person({"id": "20"}, email="gone@example.com"))
    users_table(
        mysql_db,
        [
            ("1", "one@example.com", "pro"),
            ("2", "taken@example.com", "pro"),
            ("20", "gone@example.com", "pro"),
            ("4", "four@example.com", "pro"),
        ],
    )


def test_an_identifier_conflict_is_reported_with_its_row_number(mysql_db, workspace, sync_dag) -> None:
    conflict_and_suppression_setup(mysql_db)
    run = sync_dag(sql="SELECT id, email, plan FROM users WHERE id <> '20' ORDER BY n").run()

    assert run.state == "failed"
    [line] = run.csv_rows
    assert (line["row_number"], line["identifier"], line["error_type"]) == ("2", "2", "failed_attribute_change")
    assert line["message"] == (
        "failed attribute change: the workspace did not set 'email': "
        "The identifier is already associated with a different profile."
    )
    assert run.report["rows_failed"] == 1 and run.report["rows_sent"] == 2
    assert run.report["errors_by_type"] == {"failed_attribute_change": 1}
    assert run.report["failed_changes_checked"] is True
    assert workspace.person(id="2")["email"] is None, "the workspace kept the email with person 10"
    assert workspace.person(id="10")["email"] == "taken@example.com"


def test_an_identifier_conflict_by_email_names_the_email(mysql_db, workspace) -> None:
    seed(person({"id": "10"}, email="taken@example.com"))
    users_table(mysql_db, [("11", "taken@example.com", "pro"), ("12", "new@example.com", "pro")])
    job = run_job("SELECT email, id, plan FROM users ORDER BY n", identify_by="email")

    assert job.error_rows() == [(1, "taken@example.com", "failed_attribute_change")]
    assert "did not set 'id'" in job.errors[0].message
    assert job.report.rows_failed == 1 and job.report.rows_sent == 1


@pytest.mark.parametrize("on_suppressed", ["succeed", "fail"])
def test_suppressed_people_are_counted_or_failed_as_on_suppressed_says(
    mysql_db, workspace, sync_dag, on_suppressed
) -> None:
    conflict_and_suppression_setup(mysql_db)
    workspace.suppress(id="20")
    run = sync_dag(
        sql="SELECT id, email, plan FROM users WHERE id <> '2' ORDER BY n", on_suppressed=on_suppressed
    ).run()

    assert run.report["rows_read"] == 3 and run.report["rows_sent"] == 2 and run.report["rows_suppressed"] == 1
    assert run.report["rows_failed"] == 0
    assert workspace.person(id="20") is None and sorted(person_attributes(workspace)) == ["1", "10", "4"]
    if on_suppressed == "succeed":
        assert run.state == "success" and run.report["status"] == "success"
        assert run.report["error_report"] is None
    else:
        assert run.state == "failed" and run.report["status"] == "failed"
        assert run.csv_rows == [
            {"row_number": "2", "identifier": "20", "error_type": "suppressed", "message": "person is suppressed"}
        ]
        assert "1 rows are about suppressed people (on_suppressed='fail')" in run.log


@pytest.mark.parametrize("on_suppressed", ["succeed", "fail"])
def test_conflicts_and_suppressed_people_together(mysql_db, workspace, sync_dag, on_suppressed) -> None:
    conflict_and_suppression_setup(mysql_db)
    workspace.suppress(email="gone@example.com")
    run = sync_dag(sql="SELECT id, email, plan FROM users ORDER BY n", on_suppressed=on_suppressed).run()

    assert run.state == "failed", "the identifier conflict fails the sync either way"
    conflict = (2, "2", "failed_attribute_change")
    assert run.errors() == ([conflict] if on_suppressed == "succeed" else [conflict, (3, "20", "suppressed")])
    assert run.report["rows_read"] == 4 and run.report["rows_sent"] == 2
    assert run.report["rows_failed"] == 1 and run.report["rows_suppressed"] == 1


def test_without_an_app_api_key_the_log_says_once_that_late_failures_cannot_be_seen(
    mysql_db, workspace, sync_dag, monkeypatch
) -> None:
    conflict_and_suppression_setup(mysql_db)
    workspace.suppress(id="20")
    connection = workspace.connection()
    del connection["extra"]["app_api_key"]
    monkeypatch.setenv("AIRFLOW_CONN_CIO_TRACK_ONLY", json.dumps(connection))
    run = sync_dag(
        sql="SELECT id, email, plan FROM users ORDER BY n", customerio_conn_id="cio_track_only", on_suppressed="fail"
    ).run()

    assert run.log.count(NO_APP_KEY_NOTE) == 1
    assert run.state == "success", "what cannot be seen cannot fail the sync"
    assert run.report["failed_changes_checked"] is False
    assert run.report["rows_sent"] == 4 and run.report["rows_suppressed"] == 0
    assert not [r for r in workspace.requests_log() if r["path"].startswith("/v1/")], "no App API call"


# --- the settle wait -----------------------------------------------------------------------------------------


def late_conflict_after_first_activity_read(
    workspace, stop: threading.Event, applied: threading.Event
) -> threading.Thread:
    """The real workspace applies writes seconds later: once the sync has read the activity log the first time,
    person 2's email change is refused (over real HTTP), as if it had been applied late; then ``applied`` is set."""

    def apply_late() -> None:
        while not stop.is_set():
            if any(r["path"] == "/v1/activities" for r in workspace.requests_log()):
                seed(person({"id": "2"}, email="taken@example.com"))
                applied.set()
                return
            time.sleep(0.02)

    thread = threading.Thread(target=apply_late, daemon=True)
    thread.start()
    return thread


def activity_reads(workspace) -> int:
    return sum(r["path"] == "/v1/activities" for r in workspace.requests_log())


@pytest.mark.parametrize("settle_seconds", [0, 1.0])
def test_activities_appearing_between_reads_are_picked_up_by_the_settle_wait(
    mysql_db, workspace, settle_seconds, monkeypatch
) -> None:
    seed(person({"id": "10"}, email="taken@example.com"))
    users_table(mysql_db, [("1", "one@example.com", "pro"), ("2", None, "pro"), ("3", None, "pro")])
    stop, applied = threading.Event(), threading.Event()

    def settle_wait(seconds: float) -> None:
        """The settle wait, which the late write falls into however long this machine takes to make it."""
        assert applied.wait(60), "the late conflict was applied"
        time.sleep(seconds)

    monkeypatch.setattr(after_sync, "settled_activities", functools.partial(settled_activities, sleep=settle_wait))
    thread = late_conflict_after_first_activity_read(workspace, stop, applied)
    try:
        job = run_job("SELECT id, email, plan FROM users ORDER BY n", activity_settle_seconds=settle_seconds)
    finally:
        stop.set()
        thread.join(10)

    if settle_seconds:
        assert job.error_rows() == [(2, "2", "failed_attribute_change")]
        assert activity_reads(workspace) == 3, "read, news, read again: settled"
    else:
        assert job.error_rows() == [], "one read only: the late failure is missed"
        assert activity_reads(workspace) == 1


def test_the_settle_wait_is_bounded_by_activity_timeout(mysql_db, workspace) -> None:
    users_table(mysql_db, [("1", None, "pro")])
    seed(person({"id": "10"}, email="taken@example.com"))
    stop = threading.Event()

    def keep_failing() -> None:  # a workspace whose activity log never settles
        n = 0
        while not stop.is_set():
            n += 1
            seed(person({"id": f"x{n}"}, email="taken@example.com"))
            time.sleep(0.1)

    thread = threading.Thread(target=keep_failing, daemon=True)
    thread.start()
    try:
        job = run_job("SELECT id, plan FROM users", activity_settle_seconds=0.5, activity_timeout=1.8)
    finally:
        stop.set()
        thread.join(10)
    assert job.report.rows_sent == 1 and not job.errors, "activities about other people are not this sync's"
    assert 2 <= activity_reads(workspace) <= 4, "reads at 0, 0.5, 1.0, 1.5 s at most: the next would end too late"
