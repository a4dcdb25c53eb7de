"""A real Airflow deployment for the system tests: ``airflow api-server``, ``scheduler``, ``dag-processor``
(and ``celery worker`` processes) on a PostgreSQL metadata database, each a process of its own.

Every process gets its configuration from the environment (``AIRFLOW__SECTION__KEY``), its output in a
log file of the test's work directory, and is stopped by pid (its process group: the scheduler's and the
workers' children too) when the deployment stops. The REST API (simple auth manager, one admin user)
drives it: pools, unpausing, triggering, reading XComs; ``sql`` reads the metadata database directly.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import psutil
import requests

from cio_devservers import PostgresServer, free_port

REPO = Path(__file__).resolve().parents[2]
DAGS = Path(__file__).with_name("dags")
AIRFLOW = str(Path(sys.executable).with_name("airflow"))
USERNAME = "admin"
HEARTBEAT_TIMEOUT_SECONDS = 20
"""``[scheduler] task_instance_heartbeat_timeout``, 300 s by default: shortened so a dead worker's task is
retried within the suite's time."""
START_SECONDS = 240
"""How long a process may take to come up on a loaded machine."""
STOP_SECONDS = 30
T = TypeVar("T")


class DeploymentError(AssertionError):
    """Something in the deployment did not happen in time; the message ends with the logs' tails."""


def wait_for(condition: Callable[[], T], seconds: float, what: str, logs: Callable[[], str] = str) -> T:
    """Poll ``condition`` (every 0.25 s, at most ``seconds``) until it returns something true; return it."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise DeploymentError(f"{what}: not within {seconds:.0f} s\n{logs()}")
        time.sleep(0.25)


@dataclass
class Process:
    """One Airflow process (the leader of its own process group) and its log."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    killed: bool = False
    """Killed on purpose by a test: its exit is no failure of the deployment."""

    def kill(self) -> None:
        """SIGKILL the process itself (not its group), as the OOM killer or a lost node would."""
        self.killed = True
        os.kill(self.popen.pid, signal.SIGKILL)

    def tail(self, lines: int = 30) -> str:
        """The end of its log."""
        text = self.log.read_text(errors="replace").splitlines()[-lines:] if self.log.exists() else []
        return f"--- {self.name} (exit {self.popen.poll()}) ---\n" + "\n".join(text)

    def stop(self) -> None:
        """SIGTERM to its process group, SIGKILL after :data:`STOP_SECONDS`; then any straggler of the group."""
        group = self.popen.pid
        if self.popen.poll() is None:
            try:
                os.killpg(group, signal.SIGTERM)
                self.popen.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(group, signal.SIGKILL)
                self.popen.wait(STOP_SECONDS)
            except ProcessLookupError:
                pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)  # children left behind (task processes have groups of their own)


@dataclass
class Deployment:
    """Airflow on PostgreSQL with one executor; :meth:`start` it, :meth:`stop` it in a ``finally``.

    :param executor: ``LocalExecutor`` or ``CeleryExecutor``.
    :param postgres: the PostgreSQL server; ``database`` is the (migrated) metadata database on it.
    :param workdir: the homes, logs and password file live here.
    :param env: more environment for every process (connections, ``[celery]`` settings).
    :param dags_folder: the DAGs the DAG processor parses.
    """

    executor: str
    postgres: PostgresServer
    database: str
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)
    dags_folder: Path = DAGS
    processes: list[Process] = field(default_factory=list)
    port: int = field(default_factory=free_port)
    password: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    _token: str | None = None

    @property
    def url(self) -> str:
        """The API server's base URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def home(self) -> Path:
        """The ``AIRFLOW_HOME`` of the API server, scheduler and DAG processor."""
        return self.workdir / "home"

    def environment(self, home: Path | None = None, **more: str) -> dict[str, str]:
        """The environment of an Airflow process of this deployment."""
        passwords = self.workdir / "passwords.json"
        if not passwords.exists():
            passwords.write_text(json.dumps({USERNAME: self.password}))
        home = home or self.home
        home.mkdir(parents=True, exist_ok=True)
        return {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__EXECUTOR": self.executor,
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.postgres.url_for(self.database, driver="psycopg2"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            "AIRFLOW__CORE__AUTH_MANAGER": (
                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
            ),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USERNAME}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
            "AIRFLOW__API_AUTH__JWT_SECRET": self._secret("jwt"),
            "AIRFLOW__CORE__FERNET_KEY": "",
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(HEARTBEAT_TIMEOUT_SECONDS),
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "2",
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(self._worker_log_port()),
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            **self.env,
            **more,
        }

    def _secret(self, name: str) -> str:
        path = self.workdir / f"{name}.secret"
        if not path.exists():
            path.write_text(secrets.token_hex(32))
        return path.read_text()

    def _worker_log_port(self) -> int:
        path = self.workdir / "log-port"
        if not path.exists():
            path.write_text(str(free_port()))
        return int(path.read_text())

    # --- processes -----------------------------------------------------------------------------------

    def spawn(self, name: str, *arguments: str, env: dict[str, str] | None = None) -> Process:
        """Start ``airflow <arguments>`` as a process group of its own, its output in ``<name>.log``."""
        log = self.workdir / f"{name}.log"
        with log.open("ab") as out:
            popen = subprocess.Popen(
                [AIRFLOW, *arguments],
                env=env or self.environment(),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                cwd=self.workdir,
            )
        process = Process(name, popen, log)
        self.processes.append(process)
        return process

    def start(self, dag_ids: list[str]) -> Deployment:
        """Start the API server, the scheduler and the DAG processor; wait until ``dag_ids`` are parsed."""
        self.spawn("api-server", "api-server", "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1")
        self.spawn("scheduler", "scheduler", "--skip-serve-logs")
        self.spawn("dag-processor", "dag-processor")
        wait_for(self._healthy, START_SECONDS, "the API server and the scheduler answering healthy", self.logs)
        wait_for(lambda: set(dag_ids) <= self.parsed_dag_ids(), START_SECONDS, f"DAGs {dag_ids} parsed", self.logs)
        plugins = {plugin["name"] for plugin in self.api("GET", "/api/v2/plugins").json()["plugins"]}
        if "customerio_syncs" not in plugins:
            raise DeploymentError(
                "airflow api-server did not load the customerio_syncs plugin: install the package (pip install -e .) "
                "so that its airflow.plugins entry point is registered"
            )
        return self

    def stop(self) -> None:
        """Stop every process, newest first (workers and scheduler before the API server)."""
        for process in reversed(self.processes):
            process.stop()

    def logs(self) -> str:
        """The tails of every process's log, for a failure message."""
        return "\n".join(process.tail() for process in self.processes)

    def check_running(self) -> None:
        """Fail with the logs when a process has exited."""
        for process in self.processes:
            if process.popen.poll() is not None and not process.killed:
                raise DeploymentError(f"{process.name} exited\n{self.logs()}")

    def _healthy(self) -> bool:
        self.check_running()
        try:
            health = requests.get(f"{self.url}/api/v2/monitor/health", timeout=5).json()
        except (requests.RequestException, ValueError):
            return False
        return health.get("scheduler", {}).get("status") == "healthy"

    # --- REST API ------------------------------------------------------------------------------------

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """A request to the API server as the admin user (``path`` from the root, e.g. ``/api/v2/pools``)."""
        if self._token is None:
            answer = requests.post(
                f"{self.url}/auth/token", json={"username": USERNAME, "password": self.password}, timeout=30
            )
            answer.raise_for_status()
            self._token = answer.json()["access_token"]
        headers = {"Authorization": f"Bearer {self._token}"}
        return requests.request(method, f"{self.url}{path}", headers=headers, timeout=60, **kwargs)

    def parsed_dag_ids(self) -> set[str]:
        """The DAGs the DAG processor has serialized so far."""
        self.check_running()
        try:
            answer = self.api("GET", "/api/v2/dags", params={"limit": 100})
        except requests.RequestException:
            return set()
        return {dag["dag_id"] for dag in answer.json().get("dags", [])} if answer.ok else set()

    def create_pool(self, name: str, slots: int = 1) -> None:
        """Create a pool (as ``cio-retl create-pool`` would)."""
        answer = self.api("POST", "/api/v2/pools", json={"name": name, "slots": slots})
        assert answer.ok, answer.text

    def set_paused(self, dag_id: str, paused: bool) -> None:
        """Pause or unpause a DAG."""
        answer = self.api("PATCH", f"/api/v2/dags/{dag_id}", json={"is_paused": paused})
        assert answer.ok, answer.text

    def trigger(self, dag_id: str) -> str:
        """Trigger a manual run (no logical date, as the UI's trigger button does); return its run id."""
        answer = self.api("POST", f"/api/v2/dags/{dag_id}/dagRuns", json={"logical_date": None})
        assert answer.ok, answer.text
        return answer.json()["dag_run_id"]

    def run_state(self, dag_id: str, run_id: str) -> str:
        """The state of a DagRun."""
        answer = self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")
        assert answer.ok, answer.text
        return answer.json()["state"]

    def wait_for_run(self, dag_id: str, run_id: str, seconds: float = 300) -> str:
        """Wait until a DagRun ends (success or failed); return its state."""

        def ended() -> str | None:
            self.check_running()
            state = self.run_state(dag_id, run_id)
            return state if state in ("success", "failed") else None

        return wait_for(ended, seconds, f"run {run_id} of {dag_id} ending", self.logs)

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
        """An XCom's value, or None."""
        path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}"
        answer = self.api("GET", path, params={"deserialize": True, "stringify": False})
        return answer.json()["value"] if answer.ok else None

    # --- metadata database ---------------------------------------------------------------------------

    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        """Rows of a query on the metadata database."""
        return self.postgres.query(query, self.database, params or None)

    def task_instances(self, dag_ids: list[str]) -> list[dict[str, Any]]:
        """The task instances of some DAGs: run_id, state, try_number, start_date, end_date, pid, hostname."""
        columns = ("dag_id", "run_id", "task_id", "state", "try_number", "start_date", "end_date", "pid", "hostname")
        rows = self.sql(
            f"SELECT {', '.join(columns)} FROM task_instance WHERE dag_id = ANY(%s) ORDER BY start_date", dag_ids
        )
        return [dict(zip(columns, row, strict=True)) for row in rows]

    def dag_runs(self, dag_id: str) -> list[dict[str, Any]]:
        """The DagRuns of a DAG, oldest first: run_id, state, logical_date, start_date, end_date, run_type."""
        columns = ("run_id", "state", "logical_date", "start_date", "end_date", "run_type")
        rows = self.sql(f"SELECT {', '.join(columns)} FROM dag_run WHERE dag_id = %s ORDER BY id", dag_id)
        return [dict(zip(columns, row, strict=True)) for row in rows]


def unix(moment: datetime) -> int:
    """Unix seconds, rounded down (as ``last_sync_time`` holds a run's start)."""
    return int(moment.timestamp())


def descendants(pid: int) -> list[psutil.Process]:
    """Every process below ``pid``."""
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
