"""The bad-input matrix: broken queries and broken rows, each run as a real DagRun against real MySQL and the
workspace emulator over HTTP, each ending with a message that says what to fix.

- A query-level error (syntax, a statement that is not a SELECT, a write hidden in a query, a column rule)
  fails the task before anything is sent: no request reaches the workspace, the database is unchanged,
  the XCom report and the task log carry the message.
- A row-level error fails its row only: one DagRun per group of rows (one row per case), the error CSV
  holds exactly the failing rows with their message, and every good row is in the workspace.
- Limits are tried at their edge (accepted) and just over it (refused).

docs/bad-input.md is this matrix as a table.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import orjson
import pytest

from airflow_provider_cio.hooks.customerio import CustomerIOHook
from airflow_provider_cio.operators.relationships import RelationshipOperator
from airflow_provider_cio.operators.reverse_etl import MySQLReverseETLOperator
from airflow_provider_cio.testing import WorkspaceEmulator
from airflow_provider_cio.testing.dagruns import run_dag

pytestmark = pytest.mark.usefixtures("airflow_db")

MYSQL_CONN = "mysql_matrix"
CIO_CONN = "cio_matrix"
LOGICAL_DATE = dt.datetime(2025, 6, 1, tzinfo=dt.timezone.utc)
CSV_HEADER = "row_number,identifier,error_type,message"
_dag_numbers = itertools.count(1)

BASE_TABLES = (
    "CREATE TABLE users (id INT PRIMARY KEY, email VARCHAR(100), plan VARCHAR(20))",
    "INSERT INTO users VALUES (1, 'ada@example.com', 'pro'), (2, 'grace@example.com', 'free'), "
    "(3, 'linus@example.com', 'pro'), (4, 'joan@example.com', 'free')",
    "CREATE TABLE memberships (person_id INT, company VARCHAR(20), removed_at DATETIME)",
    "INSERT INTO memberships VALUES (1, 'acme', NULL), (1, 'globex', '2024-05-01 00:00:00')",
    "CREATE TABLE tickets (n INT)",
    "INSERT INTO tickets VALUES (0)",
    "CREATE FUNCTION next_ticket() RETURNS INT MODIFIES SQL DATA "
    "BEGIN UPDATE tickets SET n = n + 1; RETURN (SELECT n FROM tickets); END",
)


# --- running a sync ----------------------------------------------------------------------------------------


@dataclass
class Run:
    """One DagRun of a one-task sync DAG: what the user sees."""

    state: str
    report: dict[str, Any]
    log: str
    csv: list[dict[str, str]] = field(default_factory=list)
    people: list[dict[str, Any]] = field(default_factory=list)
    objects: list[dict[str, Any]] = field(default_factory=list)
    relationships: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)

    def csv_line(self, row_number: int) -> dict[str, str] | None:
        """The error CSV line of a row, or None."""
        return next((line for line in self.csv if line["row_number"] == str(row_number)), None)


def read_csv(uri: str | None) -> list[dict[str, str]]:
    """The lines of an error CSV (checking its header), or none when the report names no CSV."""
    if not uri:
        return []
    with open(urlparse(uri).path, newline="", encoding="utf-8") as file:
        text = file.read()
    assert text.splitlines()[0] == CSV_HEADER
    return list(csv.DictReader(io.StringIO(text)))


def run_sync(workspace: WorkspaceEmulator, capfd: pytest.CaptureFixture[str], **kwargs: Any) -> Run:
    """Run one sync task (``operator=`` RelationshipOperator or the default MySQLReverseETLOperator) in a DagRun."""
    from airflow.sdk import DAG

    operator = kwargs.pop("operator", MySQLReverseETLOperator)
    if operator is MySQLReverseETLOperator:
        kwargs.setdefault("activity_settle_seconds", 0)
    with DAG(f"bad_input_{next(_dag_numbers)}", schedule=None, start_date=LOGICAL_DATE, catchup=False) as dag:
        operator(task_id="sync", mysql_conn_id=MYSQL_CONN, customerio_conn_id=CIO_CONN, **kwargs)
    capfd.readouterr()
    outcome = run_dag(dag, LOGICAL_DATE)
    captured = capfd.readouterr()
    report = outcome.xcom("sync")
    assert report is not None, "every sync pushes its report, failed or not"
    return Run(
        state=outcome.task_states["sync"],
        report=report,
        log=captured.out + captured.err,
        csv=read_csv(report.get("error_report")),
        people=workspace.people(),
        objects=workspace.objects(),
        relationships=workspace.relationships(),
        requests=workspace.requests_log(),
        stats=workspace.stats(),
    )


@dataclass
class Matrix:
    """The module's database (on the session's MySQL server) and workspace."""

    server: Any
    database: str
    workspace: WorkspaceEmulator

    def execute(self, *statements: str) -> None:
        self.server.execute(*statements, database=self.database)

    def query(self, sql: str) -> list[tuple]:
        return self.server.query(sql, self.database)

    def fill(self, table: str, columns: str, rows: list[dict[str, Any]]) -> None:
        """Create ``table`` and insert one row per dict, numbered ``n`` from 1, in a session whose sql_mode
        lets MySQL store zero dates."""
        names = [name.split()[0] for name in columns.split(", ")]
        conn = self.server.connect(self.database)
        try:
            with conn.cursor() as cursor:
                cursor.execute("SET SESSION sql_mode = ''")
                cursor.execute(f"CREATE TABLE {table} (n INT PRIMARY KEY, {columns})")
                cursor.executemany(
                    f"INSERT INTO {table} (n, {', '.join(names)}) VALUES (%s{', %s' * len(names)})",
                    [(n, *(row.get(name) for name in names)) for n, row in enumerate(rows, 1)],
                )
        finally:
            conn.close()

    def fingerprint(self) -> list[tuple]:
        """Every table and its checksum, and the ticket counter: what a write would change."""
        tables = [row[0] for row in self.query("SHOW TABLES")]
        checksums = self.query(f"CHECKSUM TABLE {', '.join(tables)}")
        return [*checksums, *self.query("SELECT n FROM tickets")]


@pytest.fixture(scope="module")
def matrix(mysql_server, emulator_server: WorkspaceEmulator) -> Iterator[Matrix]:
    """A database with the module's tables; connections ``mysql_matrix`` and ``cio_matrix`` point at it and
    at the session's emulator."""
    database = mysql_server.create_database("bad_input_matrix")
    with pytest.MonkeyPatch.context() as patch:
        for key, value in mysql_server.connection_env(MYSQL_CONN, database=database).items():
            patch.setenv(key, value)
        for key, value in emulator_server.connection_env(CIO_CONN).items():
            patch.setenv(key, value)
        found = Matrix(mysql_server, database, emulator_server)
        found.execute(*BASE_TABLES)
        yield found
    mysql_server.execute(f"DROP DATABASE IF EXISTS `{database}`")


# --- query-level errors: nothing is sent ---------------------------------------------------------------------


@dataclass(frozen=True)
class QueryCase:
    """A query the sync refuses as a whole. ``message`` is the exact error (a regex where MySQL words part of it)."""

    name: str
    sql: str
    message: str | re.Pattern[str]
    kwargs: dict[str, Any] = field(default_factory=dict)


def mysql_says(code: int, kind: str, server_text: str, hint: str) -> re.Pattern[str]:
    """Our message around a MySQL error: the server's words (``server_text``, a regex) vary by server version."""
    prefix = re.escape(f"MySQL connection {MYSQL_CONN!r} failed ({kind} {code}): ")
    return re.compile(f"{prefix}{server_text}{re.escape('. ' + hint)}")


def columns_query(count: int) -> str:
    return "SELECT id, " + ", ".join(f"{n} AS c{n:03d}" for n in range(1, count + 1)) + " FROM users"


LONG_NAME = "a" * 151
REFUSED_ON = f" (MySQL connection {MYSQL_CONN!r})"
"""What the statement check adds to its refusal: the connection it refused to run the statement on."""
NOT_A_READ = (
    "the sync only runs queries that read (SELECT or WITH ... SELECT); this statement starts with {}" + REFUSED_ON
)
READ_ONLY = (
    f"the query tried to write (MySQL connection {MYSQL_CONN!r}, error 1792: Cannot execute statement in a READ ONLY "
    "transaction); the sync runs queries in a read-only transaction and changed nothing. Use a plain SELECT: no "
    "FOR UPDATE, no function that writes (NEXTVAL, a stored function that modifies data)"
)

QUERY_CASES = [
    QueryCase(
        "syntax error",
        "SELECT id, plan, FROM users",
        mysql_says(
            1064,
            "ProgrammingError",
            r"You have an error in your SQL syntax;.* near 'FROM users' at line 1",
            "Fix the SQL syntax where MySQL points ('near ...'); `cio-retl preview` runs a query without syncing it",
        ),
    ),
    QueryCase("misspelled SELECT", "SELEC id FROM users", NOT_A_READ.format("SELEC")),
    QueryCase(
        "unknown table",
        "SELECT id FROM user_list",
        mysql_says(
            1146,
            "ProgrammingError",
            r"Table '\w+\.user_list' doesn't exist",
            "Fix the query: it names a table the connection's database does not have",
        ),
    ),
    QueryCase(
        "unknown column",
        "SELECT id, planz FROM users",
        mysql_says(
            1054,
            "OperationalError",
            r"Unknown column 'planz' in '[\w ]+'",
            "Fix the query: it names a column the table does not have",
        ),
    ),
    QueryCase("UPDATE", "UPDATE users SET plan = 'hacked'", NOT_A_READ.format("UPDATE")),
    QueryCase(
        "INSERT ... SELECT", "INSERT INTO users SELECT id + 10, email, plan FROM users", NOT_A_READ.format("INSERT")
    ),
    QueryCase("CREATE TABLE ... AS SELECT", "CREATE TABLE copied AS SELECT * FROM users", NOT_A_READ.format("CREATE")),
    QueryCase("CALL a procedure", "CALL refresh_users()", NOT_A_READ.format("CALL")),
    QueryCase("SHOW", "SHOW TABLES", NOT_A_READ.format("SHOW")),
    QueryCase("SET a variable", "SET @plan = 'pro'", NOT_A_READ.format("SET")),
    QueryCase(
        "second statement after a comment",
        "SELECT id, plan FROM users -- every user\n; DELETE FROM users",
        "the sql holds more than one statement (a ';' on line 2); a sync runs exactly one SELECT. Remove the other "
        "statements (for a ';' inside a string literal, write CHAR(59))" + REFUSED_ON,
    ),
    QueryCase(
        "DDL in a MariaDB executable comment",
        "/*M!100000 DROP TABLE users */ SELECT id, plan FROM users",
        NOT_A_READ.format("DROP"),
    ),
    QueryCase("a function that writes", "SELECT id, next_ticket() AS ticket FROM users", READ_ONLY),
    QueryCase(
        "SELECT ... INTO a variable",
        "SELECT id INTO @last_id FROM users ORDER BY id DESC LIMIT 1",
        "SELECT ... INTO @variable stores the result in a variable and returns no rows; remove the INTO clause "
        "(the sync sends the rows the query returns)" + REFUSED_ON,
    ),
    QueryCase(
        "SELECT ... INTO OUTFILE",
        "SELECT id, plan FROM users INTO OUTFILE '/tmp/cio-bad-input.txt'",
        "SELECT ... INTO OUTFILE/DUMPFILE writes a file on the server; remove the INTO clause" + REFUSED_ON,
    ),
    QueryCase("empty sql", "   ", "the sql is empty; give a SELECT query" + REFUSED_ON),
    QueryCase("only a comment", "-- TODO: write the query", "the sql is empty; give a SELECT query" + REFUSED_ON),
    QueryCase(
        "no id column (people by id)",
        "SELECT email, plan FROM users",
        "a query for people identified by id needs a column named 'id'; select a column named id, or rename one "
        "with AS id (SELECT * only works when the table has it). Columns selected: email, plan",
    ),
    QueryCase(
        "no email column (people by email)",
        "SELECT id, plan FROM users",
        "a query for people identified by email needs a column named 'email'; select a column named email, or "
        "rename one with AS email (SELECT * only works when the table has it). Columns selected: id, plan",
        {"identify_by": "email"},
    ),
    QueryCase(
        "object_id in another case (objects)",
        "SELECT id AS OBJECT_ID, plan FROM users",
        "a query for objects needs a column named 'object_id'; the query has 'OBJECT_ID': column names are kept "
        'exactly as written, so rename it with AS object_id (quoted, AS "object_id", where the database folds '
        "names to upper case, as Snowflake does). Columns selected: OBJECT_ID, plan",
        {"import_type": "objects"},
    ),
    QueryCase(
        "no object_id column (relationships)",
        "SELECT person_id AS id, company FROM memberships",
        "a query for relationships needs a column named 'object_id'; select a column named object_id, or rename one "
        "with AS object_id (SELECT * only works when the table has it). Columns selected: id, company",
        {"operator": RelationshipOperator},
    ),
    QueryCase(
        "deleted is a DATETIME (relationships)",
        "SELECT person_id AS id, company AS object_id, removed_at AS deleted FROM memberships",
        "the deleted column is a DATETIME, and deleted must be a boolean (true removes the relationship); select "
        "whether it is set instead, e.g. (removed_at IS NOT NULL) AS deleted",
        {"operator": RelationshipOperator},
    ),
    QueryCase(
        "the identifier column twice",
        "SELECT id, email AS id FROM users",
        "the query selects more than one column named 'id'; each column becomes an attribute, so give every column "
        "its own name with AS (SELECT a.id, b.id AS other_id ...)",
    ),
    QueryCase(
        "a column without a name",
        "SELECT id, plan AS `` FROM users",
        "column 2 of the query has no name, and the column name is the attribute name; name it with AS "
        "(SELECT id, <expression> AS plan ...)",
    ),
    QueryCase(
        "301 attribute columns (limit 300)",
        columns_query(301),
        "the query selects 301 attribute columns; the limit is 300. Select fewer columns; the ones over the limit "
        "are: c301",
    ),
    QueryCase(
        "attribute name of 151 bytes (limit 150)",
        f"SELECT id, plan AS {LONG_NAME} FROM users",
        f"attribute names are limited to 150 bytes; rename with AS: {LONG_NAME[:40]}...",
    ),
    QueryCase(
        "json_columns naming a column the query lacks",
        "SELECT id, plan FROM users",
        "json_columns names columns the query does not select: settings",
        {"json_columns": ["settings"]},
    ),
]


@pytest.mark.parametrize("case", QUERY_CASES, ids=[case.name for case in QUERY_CASES])
def test_a_bad_query_fails_before_anything_is_sent(matrix: Matrix, capfd, case: QueryCase) -> None:
    matrix.workspace.reset()
    before = matrix.fingerprint()
    run = run_sync(matrix.workspace, capfd, sql=case.sql, **case.kwargs)

    assert run.state == "failed"
    error = run.report["error"]
    if isinstance(case.message, str):
        assert error == case.message
    else:
        assert case.message.fullmatch(error), error
    assert f"{error}. Nothing was sent." in run.log, "the task's exception says it too"
    assert run.report["status"] == "failed"
    assert (run.report["rows_read"], run.report["rows_sent"], run.report["error_report"]) == (0, 0, None)
    assert run.requests == [] and run.stats == {}, "not one request reached the workspace"
    assert run.people == [] and run.objects == [] and run.relationships == []
    assert matrix.fingerprint() == before, "the database is unchanged"


# --- limits at their edge, 0 rows ----------------------------------------------------------------------------


def test_300_attribute_columns_are_fine(matrix: Matrix, capfd) -> None:
    matrix.workspace.reset()
    run = run_sync(matrix.workspace, capfd, sql=columns_query(300) + " WHERE id = 1")
    assert run.state == "success" and run.report["rows_sent"] == 1
    [person] = run.people
    assert len(person["attributes"]) == 300 and person["attributes"]["c300"] == "300"


def test_an_attribute_name_of_150_bytes_is_fine(matrix: Matrix, capfd) -> None:
    matrix.workspace.reset()
    name = "é" * 75  # 150 bytes
    run = run_sync(matrix.workspace, capfd, sql=f"SELECT id, plan AS `{name}` FROM users WHERE id = 1")
    assert run.state == "success"
    assert [p["attributes"] for p in run.people] == [{name: "pro"}]


def test_a_query_returning_0_rows_succeeds_and_sends_no_batch(matrix: Matrix, capfd) -> None:
    matrix.workspace.reset()
    run = run_sync(matrix.workspace, capfd, sql="SELECT id, plan FROM users WHERE id > 1000")
    assert run.state == "success"
    assert (run.report["rows_read"], run.report["rows_sent"], run.report["error_report"]) == (0, 0, None)
    assert "POST /api/v2/batch" not in run.stats and run.people == []


def test_exactly_max_rows_rows_is_fine(matrix: Matrix, capfd) -> None:
    matrix.workspace.reset()
    run = run_sync(matrix.workspace, capfd, sql="SELECT id, plan FROM users ORDER BY id", max_rows=4)
    assert run.state == "success" and run.report["row_limit_reached"] is False
    assert sorted(p["id"] for p in run.people) == ["1", "2", "3", "4"]


def test_one_row_over_max_rows_sends_the_limit_then_fails(matrix: Matrix, capfd) -> None:
    matrix.workspace.reset()
    run = run_sync(matrix.workspace, capfd, sql="SELECT id, plan FROM users ORDER BY id", max_rows=3)
    assert run.state == "failed"
    assert run.report["row_limit_reached"] is True and run.report["rows_sent"] == 3
    assert sorted(p["id"] for p in run.people) == ["1", "2", "3"], "nothing past the limit"
    assert (
        "the query returned more than 3 rows, the limit of one sync; the rows over the limit were not sent. Add "
        "ORDER BY and LIMIT, or a WHERE clause on {{ last_sync_time }}. last_sync_time is not advanced: the next run "
        "sends these rows again."
    ) in run.log


# --- row-level errors: only their rows fail -------------------------------------------------------------------


@dataclass(frozen=True)
class RowCase:
    """One row of a group's table. ``error_type``/``message`` None: the row is accepted and ``stored`` (a
    subset of what the workspace holds for it) is checked instead."""

    name: str
    group: str
    values: dict[str, Any]
    identifier: str
    error_type: str | None = None
    message: str | None = None
    stored: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Group:
    """A table with one row per case, synced in one DagRun."""

    columns: str
    sql: str
    kwargs: dict[str, Any] = field(default_factory=dict)


def json_of_size(size: int) -> str:
    """A JSON object whose compact form is exactly ``size`` bytes."""
    return '{"k":"' + "x" * (size - 8) + '"}'


HUGE_JSON = "[" + ",".join(['"' + "x" * 100 + '"'] * 10_000) + "]"
DEEP_JSON = "[" * 300 + "]" * 300
EMAIL_1000 = "a" * 60 + "@" + ".".join(["d" * 60] * 15) + "." + "e" * 24
EMPTY_ID = "the id column is empty"
ZERO_DATE = "holds a zero or invalid date; turn it into NULL in the query, e.g. NULLIF(col, '0000-00-00')"
DUPLICATE = "row 1 of this sync already has this identifier; each one may appear once"
INVALID_EMAIL = "the email column is not a valid email address (RFC 5322)"
BAD_TYPE = "object_type_id must be a positive integer (object types start at 1)"
CONTROL = (
    "the id contains control characters (a tab, a line break, ...); remove them in the query, e.g. "
    "REGEXP_REPLACE(id, '[[:cntrl:]]', '')"
)
BINARY = "holds binary data; convert it in the query, e.g. HEX(col), TO_BASE64(col) or ST_AsText(col)"


def not_a_boolean(shape: str) -> str:
    return (
        f"the deleted column holds {shape}; it must be a boolean: TRUE/FALSE (TINYINT 1/0), BIT(1), 'true'/'false' "
        "or NULL (which adds the relationship). Convert it in the query, e.g. (removed_at IS NOT NULL) AS deleted"
    )


def wide_row(identifier: str, op_bytes: int) -> dict[str, Any]:
    """A row of 32 text columns whose identify op is exactly ``op_bytes`` long."""
    values = {f"c{n:02d}": "v" * 990 for n in range(1, 32)} | {"c32": ""}
    op = {"type": "person", "identifiers": {"id": identifier}, "action": "identify", "attributes": values}
    values["c32"] = "v" * (op_bytes - len(orjson.dumps(op)))
    return {"id": identifier, **values}


GROUPS = {
    "people": Group(
        "id VARCHAR(300), email VARCHAR(1200), note TEXT, born DATE, seen DATETIME, prefs LONGTEXT, photo BLOB",
        "SELECT id, email, note, born, seen, prefs, photo FROM people_rows ORDER BY n",
        {"json_columns": ["prefs"]},
    ),
    "email": Group(
        "email VARCHAR(1200), plan VARCHAR(20)",
        "SELECT email, plan FROM email_rows ORDER BY n",
        {"identify_by": "email"},
    ),
    "objects": Group(
        "object_id VARCHAR(300), object_type_id VARCHAR(10), name VARCHAR(20)",
        "SELECT object_id, object_type_id, name FROM objects_rows ORDER BY n",
        {"import_type": "objects"},
    ),
    "relationships": Group(
        "person_id VARCHAR(20), company VARCHAR(20), removed VARCHAR(20)",
        "SELECT person_id AS id, company AS object_id, removed AS deleted FROM relationships_rows ORDER BY n",
        {"operator": RelationshipOperator},
    ),
    "wide": Group(
        "id VARCHAR(10), " + ", ".join(f"c{n:02d} TEXT" for n in range(1, 33)),
        "SELECT id, " + ", ".join(f"c{n:02d}" for n in range(1, 33)) + " FROM wide_rows ORDER BY n",
    ),
}

ROW_CASES = [
    # people by id: identifiers
    RowCase("a good row", "people", {"id": "ada", "email": "ada@example.com", "note": "hello"}, "ada",
            stored={"note": "hello"}),
    RowCase("NULL id", "people", {"id": None, "note": "x"}, "", "missing_identifier", EMPTY_ID),
    RowCase("empty id", "people", {"id": "", "note": "x"}, "", "missing_identifier", EMPTY_ID),
    RowCase("id of spaces", "people", {"id": "   ", "note": "x"}, "   ", "missing_identifier",
            "the id column holds only spaces; leave such rows out, or trim it"),
    RowCase("id of 150 bytes (limit)", "people", {"id": "i" * 150, "note": "edge"}, "i" * 150, stored={"note": "edge"}),
    RowCase("id of 151 bytes", "people", {"id": "j" * 151, "note": "x"}, "j" * 151, "too_large",
            "the id is over 150 bytes"),
    RowCase("id of 37 emoji (148 bytes)", "people", {"id": "😀" * 37, "note": "emoji id"}, "😀" * 37,
            stored={"note": "emoji id"}),
    RowCase("id of 38 emoji (152 bytes)", "people", {"id": "🙂" * 38, "note": "x"}, "🙂" * 38, "too_large",
            "the id is over 150 bytes"),
    RowCase("id with a tab", "people", {"id": "tab\t1", "note": "x"}, "tab\t1", "invalid_identifier", CONTROL),
    RowCase("the same id twice", "people", {"id": "ada", "note": "second"}, "ada", "duplicate_identifier", DUPLICATE),
    # people by id: emails
    RowCase("invalid email attribute", "people", {"id": "e-invalid", "email": "ada at example.com"}, "e-invalid",
            "invalid_email", INVALID_EMAIL),
    RowCase("email with a line break", "people", {"id": "e-break", "email": "ada\n@example.com"}, "e-break",
            "invalid_email", INVALID_EMAIL),
    RowCase("internationalized email", "people", {"id": "e-idn", "email": "jürgen@bücher.example"}, "e-idn",
            stored={"email": "jürgen@bücher.example"}),
    RowCase("email with an emoji", "people", {"id": "e-emoji", "email": "😀@example.com"}, "e-emoji",
            stored={"email": "😀@example.com"}),
    # people by id: attribute values
    RowCase("value of 1000 bytes (limit)", "people", {"id": "v1000", "note": "é" * 500}, "v1000",
            stored={"note": "é" * 500}),
    RowCase("value of 1001 bytes", "people", {"id": "v1001", "note": "é" * 500 + "x"}, "v1001", "too_large",
            "column 'note' is over 1000 bytes; shorten it in the query"),
    RowCase("value of 250 emoji (1000 bytes)", "people", {"id": "v250", "note": "🎉" * 250}, "v250",
            stored={"note": "🎉" * 250}),
    RowCase("value of 251 emoji", "people", {"id": "v251", "note": "🎉" * 251}, "v251", "too_large",
            "column 'note' is over 1000 bytes; shorten it in the query"),
    RowCase("control characters in a value", "people", {"id": "ctl", "note": "line 1\nline 2\tend\x1b"}, "ctl",
            stored={"note": "line 1\nline 2\tend\x1b"}),
    RowCase("zero DATE", "people", {"id": "d-zero", "born": "0000-00-00"}, "d-zero", "invalid_value",
            f"column 'born' {ZERO_DATE}"),
    RowCase("zero DATETIME", "people", {"id": "dt-zero", "seen": "0000-00-00 00:00:00"}, "dt-zero", "invalid_value",
            f"column 'seen' {ZERO_DATE}"),
    RowCase("DATE with month 0", "people", {"id": "d-month0", "born": "2024-00-15"}, "d-month0", "invalid_value",
            f"column 'born' {ZERO_DATE}"),
    RowCase("JSON of 1000 bytes (limit)", "people", {"id": "j1000", "prefs": json_of_size(1000)}, "j1000",
            stored={"prefs": {"k": "x" * 992}}),
    RowCase("JSON of 1001 bytes", "people", {"id": "j1001", "prefs": json_of_size(1001)}, "j1001", "too_large",
            "column 'prefs' is 1001 bytes of JSON; the limit is 1000"),
    RowCase("huge JSON (1 MB)", "people", {"id": "j-huge", "prefs": HUGE_JSON}, "j-huge", "too_large",
            f"column 'prefs' is {len(HUGE_JSON)} bytes of JSON; the limit is 1000"),
    RowCase("invalid JSON", "people", {"id": "j-invalid", "prefs": '{"plan": pro}'}, "j-invalid", "invalid_value",
            "column 'prefs' is a JSON column but holds invalid JSON; fix the value, or leave the column out of "
            "json_columns to send it as text"),
    RowCase("JSON nested 300 deep", "people", {"id": "j-deep", "prefs": DEEP_JSON}, "j-deep", "invalid_value",
            "column 'prefs' holds JSON nested more than 254 levels deep, which cannot be sent; select a flatter part "
            "of it, e.g. with JSON_EXTRACT"),
    RowCase("binary column", "people", {"id": "bin", "photo": b"\x89PNG\r\n\x1a\n"}, "bin", "binary_value",
            f"column 'photo' {BINARY}"),
    # people by email
    RowCase("a good email", "email", {"email": "ada@example.com", "plan": "pro"}, "ada@example.com",
            stored={"plan": "pro"}),
    RowCase("NULL email", "email", {"email": None, "plan": "x"}, "", "missing_identifier",
            "the email column is empty"),
    RowCase("empty email", "email", {"email": "", "plan": "x"}, "", "missing_identifier", "the email column is empty"),
    RowCase("email without @", "email", {"email": "ada.example.com", "plan": "x"}, "ada.example.com", "invalid_email",
            INVALID_EMAIL),
    RowCase("email with a trailing space", "email", {"email": "joan@example.com ", "plan": "x"}, "joan@example.com ",
            "invalid_email", INVALID_EMAIL),
    RowCase("the same email twice, other case", "email", {"email": "ADA@Example.com", "plan": "x"}, "ADA@Example.com",
            "duplicate_identifier", DUPLICATE),
    RowCase("email of 1000 bytes (limit)", "email", {"email": EMAIL_1000, "plan": "edge"}, EMAIL_1000,
            stored={"plan": "edge"}),
    RowCase("email of 1001 bytes", "email", {"email": "b" + EMAIL_1000, "plan": "x"}, "b" + EMAIL_1000[:156] + "...",
            "too_large", "the email column is over 1000 bytes"),
    RowCase("internationalized email identifier", "email", {"email": "用户@例子.广告", "plan": "idn"}, "用户@例子.广告",
            stored={"plan": "idn"}),
    # objects
    RowCase("a good object", "objects", {"object_id": "acme", "name": "Acme"}, "1:acme", stored={"name": "Acme"}),
    RowCase("NULL object_id", "objects", {"object_id": None, "name": "x"}, "1:", "missing_identifier",
            "the object_id column is empty"),
    RowCase("object_id of spaces", "objects", {"object_id": "  ", "name": "x"}, "1:  ", "missing_identifier",
            "the object_id column holds only spaces; leave such rows out, or trim it"),
    RowCase("object_id of 151 bytes", "objects", {"object_id": "o" * 151, "name": "x"}, "1:" + "o" * 151, "too_large",
            "the object_id is over 150 bytes"),
    RowCase("object_type_id 0", "objects", {"object_id": "zero", "object_type_id": "0"}, "0:zero",
            "invalid_identifier", BAD_TYPE),
    RowCase("object_type_id not a number", "objects", {"object_id": "letters", "object_type_id": "abc"},
            "abc:letters", "invalid_identifier", BAD_TYPE),
    RowCase("the same object twice", "objects", {"object_id": "acme", "object_type_id": "1", "name": "again"},
            "1:acme", "duplicate_identifier", DUPLICATE),
    # relationships: deleted
    RowCase("deleted NULL adds", "relationships", {"person_id": "1", "company": "acme"}, "1 -> 1:acme"),
    RowCase("deleted 'yes'", "relationships", {"person_id": "1", "company": "globex", "removed": "yes"},
            "1 -> 1:globex", "invalid_value", not_a_boolean("text other than 'true', 'false', '1' and '0'")),
    RowCase("deleted ''", "relationships", {"person_id": "1", "company": "initech", "removed": ""},
            "1 -> 1:initech", "invalid_value", not_a_boolean("empty text")),
    RowCase("deleted '2'", "relationships", {"person_id": "2", "company": "hooli", "removed": "2"}, "2 -> 1:hooli",
            "invalid_value", not_a_boolean("text other than 'true', 'false', '1' and '0'")),
    RowCase("deleted ' FALSE ' adds", "relationships", {"person_id": "2", "company": "umbrella", "removed": " FALSE "},
            "2 -> 1:umbrella"),
    RowCase("relationship without a person", "relationships", {"person_id": None, "company": "acme"}, " -> 1:acme",
            "missing_identifier", EMPTY_ID),
    # the op limit
    RowCase("op of 32000 bytes (limit)", "wide", wide_row("op32000", 32_000), "op32000"),
    RowCase("op of 32001 bytes", "wide", wide_row("op32001", 32_001), "op32001", "too_large",
            "the row makes an op of 32001 bytes; the limit is 32000: select fewer columns"),
]  # fmt: skip

RELATIONSHIP_PEOPLE = ["1", "2"]
RELATIONSHIP_OBJECTS = ["acme", "globex", "initech", "hooli", "umbrella"]
_group_runs: dict[str, Run] = {}


def seed_relationship_targets() -> None:
    """The people and objects the relationship rows name, created over the Track API."""
    ops = [
        orjson.dumps({"type": "person", "identifiers": {"id": person}, "action": "identify", "attributes": {}})
        for person in RELATIONSHIP_PEOPLE
    ] + [
        orjson.dumps({"type": "object", "identifiers": {"object_type_id": "1", "object_id": o}, "action": "identify"})
        for o in RELATIONSHIP_OBJECTS
    ]
    hook = CustomerIOHook(CIO_CONN)
    try:
        assert hook.send_batch(ops) == []
    finally:
        hook.close()


def group_run(matrix: Matrix, capfd, name: str) -> Run:
    """The DagRun of a group (run once, the first time a case of the group asks)."""
    if name not in _group_runs:
        group = GROUPS[name]
        rows = [case.values for case in ROW_CASES if case.group == name]
        matrix.fill(f"{name}_rows", group.columns, rows)
        matrix.workspace.reset()
        if name.startswith("relationships"):
            seed_relationship_targets()
        _group_runs[name] = run_sync(matrix.workspace, capfd, sql=group.sql, **group.kwargs)
    return _group_runs[name]


def row_number(case: RowCase) -> int:
    return [c for c in ROW_CASES if c.group == case.group].index(case) + 1


def in_workspace(run: Run, group: str) -> dict[str, dict[str, Any]]:
    """What the workspace holds after the group's sync, keyed like the error report names rows."""
    if group == "email":
        return {p["email"]: p["attributes"] for p in run.people}
    if group == "objects":
        return {f"{o['object_type_id']}:{o['object_id']}": o["attributes"] for o in run.objects}
    if group.startswith("relationships"):
        return {
            f"{r['person']['id']} -> {r['object_type_id']}:{r['object_id']}": r["attributes"] for r in run.relationships
        }
    return {p["id"]: p["attributes"] | {"email": p["email"]} for p in run.people}


@pytest.mark.parametrize("case", ROW_CASES, ids=[f"{case.group}: {case.name}" for case in ROW_CASES])
def test_a_bad_row_fails_alone_and_good_rows_arrive(matrix: Matrix, capfd, case: RowCase) -> None:
    run = group_run(matrix, capfd, case.group)
    cases = [c for c in ROW_CASES if c.group == case.group]
    good = [c for c in cases if c.error_type is None]
    held = in_workspace(run, case.group)

    assert run.state == "failed", "a sync with failed rows fails its task"
    assert [int(line["row_number"]) for line in run.csv] == [row_number(c) for c in cases if c.error_type]
    assert all(c.identifier in held for c in good), "every good row of the sync is in the workspace"
    line = run.csv_line(row_number(case))
    if case.error_type is None:
        assert line is None
        assert held[case.identifier].items() >= case.stored.items()
    else:
        assert line == {
            "row_number": str(row_number(case)),
            "identifier": case.identifier,
            "error_type": case.error_type,
            "message": case.message,
        }
        if case.error_type != "duplicate_identifier":  # the first row of that identifier is in the workspace
            assert case.identifier not in held, "a failed row sends nothing"


@pytest.mark.parametrize("group", list(GROUPS))
def test_each_group_reports_its_failed_rows_in_xcom_and_in_the_exception(matrix: Matrix, capfd, group: str) -> None:
    run = group_run(matrix, capfd, group)
    cases = [c for c in ROW_CASES if c.group == group]
    failed = [c for c in cases if c.error_type]
    by_type: dict[str, int] = {}
    for case in failed:
        by_type[case.error_type] = by_type.get(case.error_type, 0) + 1  # type: ignore[index]

    report = run.report
    assert (report["rows_read"], report["rows_failed"]) == (len(cases), len(failed))
    assert report["rows_sent"] == len(cases) - len(failed)
    assert report["errors_by_type"] == by_type and report["status"] == "failed"
    kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(by_type.items()))
    assert (
        f"{len(failed)} rows failed ({kinds}); see the error report {report['error_report']}. last_sync_time is not "
        "advanced: the next run sends these rows again."
    ) in run.log, "the task's exception"
