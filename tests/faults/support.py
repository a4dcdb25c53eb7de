"""What the fault tests share: a people table of any size, its mirror in the workspace, sync DAGs, and a
watcher that does something to MySQL or the workspace once a sync is under way.

The people table is filled by MySQL itself (``INSERT ... SELECT`` over a digits table), so 100,000 rows
take a second. Every column is an attribute; :func:`source_people` reads what the workspace must hold
afterwards (every value as the workspace shows it: a string).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from airflow.sdk import DAG

from airflow_provider_cio.operators.reverse_etl import MySQLReverseETLOperator
from airflow_provider_cio.testing import WorkspaceEmulator

UTC = timezone.utc
START = datetime(2025, 1, 1, tzinfo=UTC)
BATCH = "POST /api/v2/batch"
ATTRIBUTES = ("name", "plan", "city", "country", "company", "title", "score", "visits", "signed_up", "note")
PEOPLE_SQL = (
    f"SELECT id, email, {', '.join(ATTRIBUTES)} FROM people WHERE updated_at >= FROM_UNIXTIME({{{{ last_sync_time }}}})"
)
"""The query of every sync here: people changed since the last successful sync (``>=``, no look-back)."""


def unix(moment: datetime) -> int:
    """Unix seconds, rounded down, as ``last_sync_time`` holds a DagRun's start."""
    return int(moment.timestamp())


def create_people(db: Any, count: int, at: datetime, *, padding: int = 0) -> None:
    """Create the ``people`` table with ``count`` rows (ids 1 to ``count``), each ``updated_at`` ``at``.

    :param padding: characters in the ``note`` attribute (to make rows, and so the stream, larger).
    """
    digits = max(1, len(str(count - 1)))
    number = " + ".join(f"d{i}.d * {10**i}" for i in range(digits))
    tables = ", ".join(f"digits d{i}" for i in range(digits))
    db.execute(
        "CREATE TABLE digits (d INT PRIMARY KEY)",
        "INSERT INTO digits VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)",
        "CREATE TABLE people (id INT PRIMARY KEY, email VARCHAR(254) NOT NULL, name VARCHAR(100) NOT NULL, "
        "plan VARCHAR(20) NOT NULL, city VARCHAR(40) NOT NULL, country CHAR(2) NOT NULL, "
        "company VARCHAR(60) NOT NULL, title VARCHAR(60) NOT NULL, score DECIMAL(8,2) NOT NULL, "
        "visits INT NOT NULL, signed_up BIGINT NOT NULL, note VARCHAR(1000) NOT NULL, "
        "updated_at DATETIME NOT NULL, KEY (updated_at))",
        f"INSERT INTO people SELECT n, CONCAT('person', n, '@example.com'), CONCAT('Person ', n), "
        f"ELT(1 + n % 3, 'free', 'pro', 'team'), ELT(1 + n % 4, 'Lisbon', 'Oslo', 'Lima', 'Kyoto'), "
        f"ELT(1 + n % 4, 'PT', 'NO', 'PE', 'JP'), CONCAT('Company ', n % 977), CONCAT('Title ', n % 13), "
        f"(n % 10000) / 100, n % 1000, 1700000000 + n, RPAD(CONCAT('note ', n, ' '), GREATEST({padding}, 8), 'x'), "
        f"'{mysql_time(at)}' FROM (SELECT {number} + 1 AS n FROM {tables}) AS numbers "
        f"WHERE n <= {int(count)}",
    )


def touch_people(db: Any, at: datetime, *, plan: str) -> None:
    """Change every person's plan, stamping ``updated_at`` with ``at`` (as the application would)."""
    db.execute(f"UPDATE people SET plan = '{plan}', updated_at = '{mysql_time(at)}'")


def mysql_time(moment: datetime) -> str:
    """A DATETIME literal in UTC."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def source_people(db: Any) -> dict[str, dict[str, Any]]:
    """What the workspace must hold: ``id -> {"email", "attributes"}``, values as the workspace shows them."""
    columns = ", ".join(f"CAST({name} AS CHAR)" for name in ATTRIBUTES)
    people = {}
    for row in db.query(f"SELECT CAST(id AS CHAR), email, {columns} FROM people"):
        people[row[0]] = {"email": row[1], "attributes": dict(zip(ATTRIBUTES, row[2:], strict=True))}
    return people


def workspace_people(workspace: WorkspaceEmulator) -> dict[str, dict[str, Any]]:
    """What the workspace holds: ``id -> {"email", "attributes"}``."""
    return {p["id"]: {"email": p["email"], "attributes": p["attributes"]} for p in workspace.people()}


def ops_accepted(workspace: WorkspaceEmulator) -> int:
    """People ops the workspace has accepted so far."""
    return workspace.stats().get(BATCH, {}).get("ops", {}).get("accepted", 0)


def sync_queries(db: Any) -> list[int]:
    """Server ids of the connections running a sync's query (:data:`PEOPLE_SQL`) on this database."""
    rows = db.query(
        f"SELECT ID FROM information_schema.PROCESSLIST WHERE DB = '{db.name}' AND INFO LIKE 'SELECT id, email, name%'"
    )
    return [int(row[0]) for row in rows]


def people_dag(dag_id: str, **operator_kwargs: Any) -> DAG:
    """A DAG with one people sync by id (task ``sync``) running :data:`PEOPLE_SQL`."""
    operator_kwargs.setdefault("sql", PEOPLE_SQL)
    operator_kwargs.setdefault("activity_settle_seconds", 0)
    with DAG(dag_id, schedule="@hourly", start_date=START, catchup=False, max_active_runs=1) as dag:
        MySQLReverseETLOperator(task_id="sync", identify_by="id", **operator_kwargs)
    return dag


class Watcher:
    """Runs ``action`` once, in a thread, as soon as ``condition`` holds (checked every 20 ms).

    Use as a context manager around the sync: on exit it stops watching and re-raises what the condition
    or the action raised. ``fired`` says whether the action ran; ``result`` is what it returned.
    """

    def __init__(self, condition: Callable[[], bool], action: Callable[[], Any]) -> None:
        self.condition = condition
        self.action = action
        self.fired = threading.Event()
        self.result: Any = None
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._watch, name="fault-watcher", daemon=True)

    def __enter__(self) -> Watcher:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
        if self._error is not None:
            raise self._error

    def _watch(self) -> None:
        try:
            while not self._stop.is_set():
                if self.condition():
                    self.result = self.action()
                    self.fired.set()
                    return
                time.sleep(0.02)
        except BaseException as error:  # reported by __exit__ in the test's thread
            self._error = error
