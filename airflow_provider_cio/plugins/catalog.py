"""Which tasks are syncs: read from the serialized DAGs once per DAG version, not on every page load.

A sync task is any task whose operator carries the "Error report" link (``MySQLReverseETLOperator``,
``RelationshipOperator`` and any subclass of ``BaseSyncOperator``) or comes from this provider's operator
modules. Finding them needs the serialized DAG, the biggest value in the metadata database. The catalog
asks the database only for each DAG's latest ``dag_hash`` (a small indexed query), and reads and parses
the serialized DAG again only when its hash changed since the last load. With 1,000 DAGs a page load reads
1,000 short rows instead of 1,000 serialized DAGs.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

LINK_NAME = "Error report"
"""The name of ``ErrorReportLink``: every sync operator carries it, subclasses included."""

OPERATORS_MODULE = "airflow_provider_cio.operators."
SETTING_FIELDS = (
    "customerio_conn_id",
    "mysql_conn_id",
    "postgres_conn_id",
    "import_type",
    "event_name",
    "identify_by",
    "empty_values",
    "sync_mode",
    "on_removed",
    "segment_name",
    "object_type_id",
    "dry_run",
)
"""Operator settings the page shows when the serialized task carries them (template fields and any field
the operator adds to its serialized fields)."""


@dataclass(frozen=True)
class SyncTask:
    """A task of a DAG that runs a sync, as its latest serialized DAG describes it.

    :param pool: the pool the task names (``default_pool`` when it names none).
    :param settings: the operator settings found in the serialized task (see ``SETTING_FIELDS``).
    """

    dag_id: str
    task_id: str
    operator: str
    pool: str = "default_pool"
    settings: tuple[tuple[str, Any], ...] = ()

    def setting(self, name: str) -> Any:
        """One serialized setting, or None."""
        return dict(self.settings).get(name)


def sync_tasks_of(dag_id: str, serialized: dict[str, Any]) -> list[SyncTask]:
    """The sync tasks in a serialized DAG (the ``data`` of ``SerializedDagModel``)."""
    tasks = []
    for item in serialized.get("dag", {}).get("tasks", []):
        task = item.get("__var", item) if isinstance(item, dict) else {}
        links = task.get("_operator_extra_links") or {}
        module = str(task.get("_task_module") or "")
        if LINK_NAME in links or module.startswith(OPERATORS_MODULE):
            settings = tuple((name, task[name]) for name in SETTING_FIELDS if isinstance(task.get(name), str | int))
            tasks.append(
                SyncTask(
                    dag_id,
                    str(task.get("task_id")),
                    str(task.get("task_type") or ""),
                    str(task.get("pool") or "default_pool"),
                    settings,
                )
            )
    return sorted(tasks, key=lambda t: t.task_id)


class SyncCatalog:
    """The sync tasks of every DAG, cached per DAG and refreshed when the DAG's ``dag_hash`` changes.

    Safe to share between the API server's request threads.
    """

    def __init__(self) -> None:
        self._by_dag: dict[str, tuple[str, list[SyncTask]]] = {}
        self._lock = threading.Lock()
        self.parsed = 0
        """How many serialized DAGs this catalog has read (for tests and the benchmark)."""

    def sync_tasks(self, session: Session, dag_ids: Iterable[str]) -> list[SyncTask]:
        """The sync tasks of the given DAGs, sorted by DAG and task."""
        wanted = set(dag_ids)
        if not wanted:
            return []
        hashes = latest_hashes(session)
        with self._lock:
            stale = [d for d, h in hashes.items() if d in wanted and self._by_dag.get(d, ("",))[0] != h]
        if stale:
            fresh = parse_latest(session, stale)
            with self._lock:
                for dag_id in stale:
                    self._by_dag[dag_id] = (hashes[dag_id], fresh.get(dag_id, []))
                for dag_id in set(self._by_dag) - set(hashes):
                    del self._by_dag[dag_id]
                self.parsed += len(stale)
        with self._lock:
            found = [task for dag_id in sorted(wanted & set(hashes)) for task in self._by_dag[dag_id][1]]
        return found

    def clear(self) -> None:
        """Forget everything (the next load reads every serialized DAG again)."""
        with self._lock:
            self._by_dag.clear()


def latest_hashes(session: Session) -> dict[str, str]:
    """Each DAG's latest serialized version's ``dag_hash`` (no serialized data is read)."""
    from airflow.models.dag_version import DagVersion
    from airflow.models.serialized_dag import SerializedDagModel

    latest = (
        select(DagVersion.dag_id, func.max(DagVersion.version_number).label("version"))
        .group_by(DagVersion.dag_id)
        .subquery()
    )
    rows = session.execute(
        select(DagVersion.dag_id, SerializedDagModel.dag_hash)
        .join(SerializedDagModel, SerializedDagModel.dag_version_id == DagVersion.id)
        .join(latest, (latest.c.dag_id == DagVersion.dag_id) & (latest.c.version == DagVersion.version_number))
    ).all()
    return {dag_id: dag_hash for dag_id, dag_hash in rows}


def parse_latest(session: Session, dag_ids: list[str]) -> dict[str, list[SyncTask]]:
    """The sync tasks of these DAGs, read from their latest serialized versions."""
    from airflow.models.serialized_dag import SerializedDagModel

    found: dict[str, list[SyncTask]] = {}
    for start in range(0, len(dag_ids), 500):
        rows = SerializedDagModel.get_latest_serialized_dags(dag_ids=dag_ids[start : start + 500], session=session)
        for row in rows:
            found[row.dag_id] = sync_tasks_of(row.dag_id, row.data or {})
    return found


catalog = SyncCatalog()
"""The API server's catalog (one per process)."""
