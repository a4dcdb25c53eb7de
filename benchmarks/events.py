"""The events line of ``make bench``: an events dry run against the bare read of its own table.

An ``orders`` table of N rows (id, person id, amount, created_at: :func:`~benchmarks.data.create_orders`)
is synced as ``purchase`` events (``import_type="events"``, ``event_id`` the order id, ``timestamp`` its
``created_at``), dry run, in a process of its own; the floor is the same query streamed by MySQLdb with no
conversion at all (``conv={}``). Goal (issue 24): the dry run takes at most 5 x the floor's time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from benchmarks.data import ORDERS_QUERY, create_orders
from cio_devservers import MySQLServer

DATABASE = "bench_orders"
EVENT_NAME = "purchase"
Read = Callable[..., tuple[int, float, float]]
Sync = Callable[..., dict[str, Any]]


@dataclass
class EventsRun:
    """The medians of the events measurements.

    :param rows: rows of the ``orders`` query.
    :param raw_seconds: the bare read (``conv={}``), wall seconds.
    :param raw_cpu: its CPU seconds.
    :param dry: the events dry run's results (``seconds``, ``cpu_seconds``, ``rows_read``, ...).
    """

    rows: int
    raw_seconds: float
    raw_cpu: float
    dry: dict[str, Any]

    @property
    def ratio(self) -> float:
        """The dry run's wall time over the bare read's."""
        return self.dry["seconds"] / self.raw_seconds


def measure_events(server: MySQLServer, rows: int, repeat: int, read: Read, sync: Sync) -> EventsRun:
    """Create the orders, then take turns at the bare read and the events dry run, ``repeat`` times each.

    :param read: reads the query (``benchmarks.__main__.read_rows``).
    :param sync: runs a dry sync in a child process (``benchmarks.__main__.our_sync``).
    """
    create_orders(server, DATABASE, rows)
    read(server, DATABASE, ORDERS_QUERY, conv={})  # warms the buffer pool
    reads, drys = [], []
    for _ in range(repeat):
        reads.append(read(server, DATABASE, ORDERS_QUERY, conv={}))
        drys.append(sync(server, DATABASE, ORDERS_QUERY, import_type="events", event_name=EVENT_NAME))
        result = drys[-1]
        if result["error"] or result["rows_read"] != rows or result["rows_failed"]:
            raise SystemExit(f"the events dry run did not take every row: {result}")
    server.execute(f"DROP DATABASE {DATABASE}")
    _, raw_seconds, raw_cpu = sorted(reads, key=lambda run: run[1])[len(reads) // 2]
    dry = sorted(drys, key=lambda run: run["seconds"])[len(drys) // 2]
    return EventsRun(rows, raw_seconds, raw_cpu, dry)
