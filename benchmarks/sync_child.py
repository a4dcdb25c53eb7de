"""One sync in a process of its own, so its peak memory is its own: ``python -m benchmarks.sync_child``.

Reads the settings as JSON on stdin, runs the production path without the Airflow task runner
(``MySQLQueryStream`` -> ``SyncJob`` -> ``CustomerIOHook``, or no workspace at all for a dry run) and
prints one JSON line of results: wall seconds, the process's own CPU seconds (user + system) spent in
the sync, its peak RSS.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time


def main() -> None:
    settings = json.load(sys.stdin)
    os.environ.update(settings["env"])
    from airflow_provider_cio.hooks.customerio import CustomerIOHook
    from airflow_provider_cio.sources.mysql.stream import MySQLQueryStream
    from airflow_provider_cio.sync.job import SyncJob
    from airflow_provider_cio.sync.settings import SyncSettings

    baseline_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    concurrency = settings.get("concurrency")
    sync_settings = SyncSettings(
        import_type=settings.get("import_type", "people"),
        event_name=settings.get("event_name"),
        concurrency=concurrency,
        dry_run=settings.get("dry_run", False),
        activity_settle_seconds=0,
    )
    hook = CustomerIOHook(max_connections=(concurrency or sync_settings.max_concurrency) + 1)
    job = SyncJob(sync_settings, hook)
    stream = MySQLQueryStream()
    profiler = None
    if settings.get("profile"):
        from pyinstrument import Profiler

        profiler = Profiler()
        profiler.start()
    cpu_before = cpu_seconds()
    started = time.perf_counter()
    report = job.run(stream.execute(settings["query"], job.text_converters()))
    seconds = time.perf_counter() - started
    cpu = cpu_seconds() - cpu_before
    if profiler is not None:
        profiler.stop()
        with open(settings["profile"], "w") as out:
            out.write(profiler.output_text(unicode=False, color=False, show_all=False))
    stream.close(finished=True)
    job.close()
    result = {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "rows_read": report.rows_read,
        "rows_sent": report.rows_sent,
        "rows_failed": report.rows_failed,
        "batches": report.batches_sent,
        "error": report.error,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "baseline_rss_mb": baseline_mb,
    }
    print(json.dumps(result))


def cpu_seconds() -> float:
    """User + system CPU seconds of this process so far (every thread)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    main()
