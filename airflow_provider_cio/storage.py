"""Where the provider writes files: the one place that reads ``[customerio] storage_base``.

Error reports and mirror snapshots go under one ``ObjectStoragePath`` base, so that a deployment with
several workers changes one setting (``s3://conn@bucket/cio``, ``gs://...``) instead of every task::

    [customerio]
    storage_base = s3://aws_default@my-bucket/customerio

or ``AIRFLOW__CUSTOMERIO__STORAGE_BASE``. The default, ``file://$AIRFLOW_HOME``, works on one machine
only. Below the base:

- ``cio_error_reports/<dag_id>/<task_id>/<run_id>.csv``: the failed rows of a sync
  (``<run_id>/<map_index>.csv`` for each instance of a mapped sync);
- ``cio_snapshots/<dag_id>/<task_id>[/<map_index>]/``: the snapshots and checkpoints of a mirror sync.
"""

from __future__ import annotations

import os
import shutil

from airflow.sdk import ObjectStoragePath

SECTION = "customerio"
OPTION = "storage_base"


def default_storage_base() -> str:
    """``file://$AIRFLOW_HOME`` (``~/airflow`` when ``AIRFLOW_HOME`` is not set)."""
    home = os.path.expanduser(os.environ.get("AIRFLOW_HOME") or "~/airflow")
    return f"file://{os.path.abspath(home)}"


def storage_base() -> str:
    """The configured base URI, without a trailing slash."""
    from airflow.configuration import conf

    base = conf.get(SECTION, OPTION, fallback=None) or default_storage_base()
    return base.rstrip("/")


def safe_name(text: str) -> str:
    """A DAG, task or run id as one path segment (characters outside ``[A-Za-z0-9-_.+]`` become ``_``,
    and so do the dots of a name made of dots only, such as ``..``)."""
    name = "".join(c if c.isalnum() or c in "-_.+" else "_" for c in text)
    return name if name.strip(".") else "_" * len(name)


def error_report_uri(dag_id: str, task_id: str, run_id: str, map_index: int | None = None) -> str:
    """Where a sync task instance writes its error report by default, one file per task instance:
    ``<storage_base>/cio_error_reports/<dag_id>/<task_id>/<run_id>.csv``, or
    ``.../<run_id>/<map_index>.csv`` for an instance of a mapped task (each id made one path segment
    by :func:`safe_name`).

    The download of the syncs page serves a report only from this location (or the task instance's own
    rendered ``error_report_path``), so that no XCom value can point it at another run's report.

    :param map_index: the task instance's map index; None or -1 for a task that is not mapped.
    """
    run = f"{storage_base()}/cio_error_reports/{safe_name(dag_id)}/{safe_name(task_id)}/{safe_name(run_id)}"
    return f"{run}.csv" if map_index is None or map_index < 0 else f"{run}/{map_index}.csv"


def snapshot_folder(dag_id: str, task_id: str, map_index: int | None, base: str | None = None) -> str:
    """Where a mirror sync keeps its snapshots: ``<base>/cio_snapshots/<dag_id>/<task_id>[/<map_index>]``.

    :param base: the operator's ``snapshot_base`` override, else ``storage_base``.
    """
    root = (base or storage_base()).rstrip("/")
    folder = f"{root}/cio_snapshots/{safe_name(dag_id)}/{safe_name(task_id)}"
    return folder if map_index is None or map_index < 0 else f"{folder}/{map_index}"


def is_local(path: ObjectStoragePath) -> bool:
    """Whether a path is on this machine's file system (``file://``)."""
    return path.protocol in ("file", "local", "")


class ObjectStore:
    """The mirror snapshots' files under one ``ObjectStoragePath`` folder (``file://``, ``s3://``, ...).

    An upload is atomic: on object stores a PUT creates the object whole or not at all; on ``file://``
    the file is written under a temporary name, flushed to disk and renamed.

    :param folder: the folder URI (see :func:`snapshot_folder`).
    """

    def __init__(self, folder: str) -> None:
        self.folder = folder.rstrip("/")

    def uri(self, name: str) -> str:
        """The URI of a file of the folder."""
        return f"{self.folder}/{name}"

    def download(self, name: str, local: str) -> bool:
        """Copy a file of the folder to the local path; False when it does not exist."""
        path = ObjectStoragePath(self.uri(name))
        if not path.exists():
            return False
        if is_local(path):
            shutil.copyfile(path.path, local)
            return True
        with path.open("rb") as source, open(local, "wb") as target:
            while chunk := source.read(1 << 20):
                target.write(chunk)
        return True

    def upload(self, local: str, name: str) -> None:
        """Copy a local file into the folder under ``name``, atomically."""
        path = ObjectStoragePath(self.uri(name))
        path.parent.mkdir(parents=True, exist_ok=True)
        if is_local(path):
            temporary = f"{path.parent.path}/.{path.name}.tmp"
            shutil.copyfile(local, temporary)
            with open(temporary, "rb") as written:
                os.fsync(written.fileno())  # on disk before it has its name (a machine crash, not only a kill)
            os.replace(temporary, path.path)
            return
        with open(local, "rb") as source, path.open("wb") as out:
            while chunk := source.read(1 << 20):
                out.write(chunk)

    def names(self, prefix: str) -> list[str]:
        """The names of the files in the sub-folder ``prefix`` (relative to the folder), sorted."""
        path = ObjectStoragePath(self.uri(prefix))
        if not path.exists():
            return []
        return sorted(f"{prefix}/{child.name}" for child in path.iterdir() if not child.name.startswith("."))

    def remove(self, name: str) -> None:
        """Delete a file or a sub-folder of the folder (nothing when it does not exist)."""
        path = ObjectStoragePath(self.uri(name))
        if path.exists():
            if path.is_dir():
                path.rmdir(recursive=True)
            else:
                path.unlink()
