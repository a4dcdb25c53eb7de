"""The failed rows of a sync: kept on disk (a sync may fail every row), written out in row order."""

from __future__ import annotations

import contextlib
import csv
import os
import sqlite3
import tempfile
import threading
from collections.abc import Iterable, Iterator
from typing import IO

from airflow_provider_cio.sync.account.outcomes import RowError
from airflow_provider_cio.sync.account.report import spreadsheet_safe

CSV_COLUMNS = ("row_number", "identifier", "error_type", "message")


class ErrorLog:
    """Row errors of one sync, one per row (the first reported wins). Safe to use from several threads.

    :param directory: where the temporary database goes (removed by :meth:`close`).
    """

    def __init__(self, directory: str | None = None) -> None:
        fd, self.path = tempfile.mkstemp(prefix="cio-errors-", suffix=".sqlite", dir=directory)
        os.close(fd)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute(
            "CREATE TABLE errors (row_number INTEGER PRIMARY KEY, identifier TEXT, error_type TEXT, message TEXT)"
        )
        self._lock = threading.Lock()
        self._failed = bytearray()
        self.count = 0

    def add(self, errors: Iterable[RowError]) -> int:
        """Record row errors; return how many rows had no error before."""
        added = 0
        with self._lock:
            for error in errors:
                if self._mark(error.row_number):
                    self._db.execute(
                        "INSERT INTO errors VALUES (?, ?, ?, ?)",
                        (error.row_number, error.identifier, error.error_type, error.message),
                    )
                    added += 1
            self.count += added
        return added

    def has(self, row_number: int) -> bool:
        """Whether the row has an error."""
        byte = row_number >> 3
        return byte < len(self._failed) and bool(self._failed[byte] & (1 << (row_number & 7)))

    def __iter__(self) -> Iterator[RowError]:
        """Every row error, in row order (read once the sync has stopped adding errors)."""
        for row in self._db.execute("SELECT * FROM errors ORDER BY row_number"):
            yield RowError(*row)

    def counts_by_type(self) -> dict[str, int]:
        """How many rows failed for each error type."""
        with self._lock:
            return dict(self._db.execute("SELECT error_type, COUNT(*) FROM errors GROUP BY error_type").fetchall())

    def write_csv(self, out: IO[str]) -> None:
        """Write the error report: ``row_number, identifier, error_type, message``, in row order, each text
        cell safe to open in a spreadsheet (``report.spreadsheet_safe``)."""
        writer = csv.writer(out, lineterminator="\n")
        # csv quotes a cell holding a LF, not one holding a lone CR, which a spreadsheet reads as a line
        # break: the rest of the cell would be a row of its own (and could start a formula)
        quoted = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
        writer.writerow(CSV_COLUMNS)
        for error in self:
            cells = [spreadsheet_safe(cell) for cell in (error.identifier, error.error_type, error.message)]
            (quoted if any(cell and "\r" in cell for cell in cells) else writer).writerow((error.row_number, *cells))

    def close(self) -> None:
        """Delete the temporary database."""
        self._db.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)

    def _mark(self, row_number: int) -> bool:
        byte, bit = row_number >> 3, 1 << (row_number & 7)
        if byte >= len(self._failed):
            self._failed.extend(bytes(byte + 1 - len(self._failed) + 4096))
        if self._failed[byte] & bit:
            return False
        self._failed[byte] |= bit
        return True
