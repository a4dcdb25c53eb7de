"""One dry run of ``SQLReverseETLOperator`` in a process of its own: ``python -m benchmarks.dry_run_child``.

Reads the settings as JSON on stdin (``env``: the Airflow connections; ``conn_id``; ``query``), builds the
operator a DAG would build, ``SQLReverseETLOperator(conn_id=..., dry_run=True)``, and calls its ``execute``
as the task runner does: the connection's type picks the reader (the source registry), the operator's
stream feeds the sync, the report is what the task would return. The Airflow task runner itself (its
supervisor and metadata database) is not part of the measurement; connecting to the database is, as in
line (d) of ``make bench``.

Prints one JSON line: wall seconds and the process's own CPU seconds (user + system) of ``execute``, the
report's row counts and error, the process's peak RSS and its RSS after the imports.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import sys
import time


def main() -> None:
    settings = json.load(sys.stdin)
    os.environ.update(settings["env"])
    from airflow.sdk import BaseHook

    from airflow_provider_cio.operators.sql import SQLReverseETLOperator

    # Before the clock starts, one connection through the connection's hook, opened and closed: its provider and
    # driver are imported, as in a worker that has run a task before (the bare reads import their drivers before
    # the clock starts too). The dry run opens its own connection, on the clock, as line (d) of make bench does.
    BaseHook.get_connection(settings["conn_id"]).get_hook().get_conn().close()
    operator = SQLReverseETLOperator(
        task_id="bench_dry_run",
        conn_id=settings["conn_id"],
        sql=settings["query"],
        dry_run=True,
        activity_settle_seconds=0,
    )
    # execute() outside the task runner logs a warning (ExecutorSafeguard); the progress lines go too.
    logging.disable(logging.WARNING)
    baseline_mb = peak_rss_mb()
    cpu_before = cpu_seconds()
    started = time.perf_counter()
    report = operator.execute({"last_sync_time": 0})  # type: ignore[arg-type]
    seconds = time.perf_counter() - started
    cpu = cpu_seconds() - cpu_before
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu_seconds": cpu,
                "rows_read": report["rows_read"],
                "rows_failed": report["rows_failed"],
                "error": report["error"],
                "peak_rss_mb": peak_rss_mb(),
                "baseline_rss_mb": baseline_mb,
            }
        )
    )


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB: ``VmHWM``, the high-water mark of this program's own
    memory. (``ru_maxrss`` would not do: Linux carries it over from the parent through fork and exec, so a child
    of a large benchmark process reports at least the parent's size.)"""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def cpu_seconds() -> float:
    """User + system CPU seconds of this process so far (every thread)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    main()
