"""Reading an error CSV for download: only the file the requested task instance wrote, read through
``ObjectStoragePath``.

The URI comes from a sync report, never from the request. A report is an XCom, and XComs can be written
by other code too (anyone who may edit the DAG's XComs, through Airflow's API), so the URI is served only
when it is where this task instance writes its report: the location derived from its DAG, task, run and
map index under ``[customerio] storage_base`` (``storage.error_report_uri``), or the
``error_report_path`` the task instance itself rendered. An XCom pointing at another run's, another
task's or another DAG's report is refused. The file must also look like an error report: its name ends
in ``.csv`` and it starts with the header the sync writes. So the download can never serve an arbitrary
file of the API server, nor a report of a DAG the user may not read.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import IO

from airflow_provider_cio.sync.account.failed_rows import CSV_COLUMNS

HEADER = (",".join(CSV_COLUMNS) + "\n").encode()
CHUNK_BYTES = 64 * 1024


class ErrorReportUnavailable(Exception):
    """The error report cannot be served; the message says why (and holds no file content)."""


def open_error_report(uri: str, expected: Collection[str]) -> IO[bytes]:
    """Open a sync's error CSV for reading, after checking that it is the task instance's own and one.

    :param uri: the ``error_report`` of a sync report (``file://``, ``s3://conn@bucket/key.csv``, ...).
    :param expected: the URIs the task instance writes its report to (see the module's docstring).
    :raises ErrorReportUnavailable: the URI is not one of ``expected``, or the file is missing,
        unreadable, or not an error report.
    """
    from airflow.sdk import ObjectStoragePath

    if uri not in expected:
        raise ErrorReportUnavailable("the report's error_report is not where this task instance writes its report")
    if not uri.lower().endswith(".csv"):
        raise ErrorReportUnavailable("the report's error_report is not a CSV file")
    try:
        path = ObjectStoragePath(uri)
        handle = path.open("rb")
    except FileNotFoundError:
        raise ErrorReportUnavailable(
            "the error report is not where the sync wrote it (deleted, or on storage this API server cannot "
            "read: give the sync an error_report_path on shared storage such as s3://)"
        ) from None
    except Exception as error:
        raise ErrorReportUnavailable(f"the error report cannot be read ({type(error).__name__})") from None
    if handle.read(len(HEADER)) != HEADER:
        handle.close()
        raise ErrorReportUnavailable("the file named by the report is not an error report of a sync")
    handle.seek(0)
    return handle


def chunks(handle: IO[bytes]) -> Iterator[bytes]:
    """The file's content in blocks, then close it."""
    try:
        while block := handle.read(CHUNK_BYTES):
            yield block
    finally:
        handle.close()
