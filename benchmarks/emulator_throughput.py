"""Measure the emulator's throughput on ``POST /api/v2/batch`` (not a test: run it by hand).

    python -m benchmarks.emulator_throughput [--batches 100] [--threads 3]

The emulator runs in a child process (``in_subprocess=True``), so its CPU is not this process's.
This process sends ~500 kB batches of person ``identify`` ops with 10 attributes each, serialized
beforehand, from a few threads, twice: first every person is new (creates), then the same batches
again (updates). For each pass it prints the accepted ops per second of wall time, and per second
of the emulator process's CPU time (read from ``/proc``), which stays meaningful on a busy machine.
"""

from __future__ import annotations

import argparse
import os
import queue
import threading
import time

import orjson
import requests

from airflow_provider_cio.testing.emulator import WorkspaceEmulator

BATCH_LIMIT = 500_000


def person_op(number: int) -> dict:
    """A person identify op with 10 attributes, about 330 bytes of JSON."""
    return {
        "type": "person",
        "identifiers": {"id": f"user-{number}"},
        "action": "identify",
        "attributes": {
            "email": f"user{number}@example.com",
            "first_name": "Jane",
            "last_name": "Doe",
            "plan": "pro" if number % 3 else "free",
            "seats": number % 50,
            "created_at": 1_700_000_000 + number,
            "active": number % 2 == 0,
            "score": number / 7,
            "city": "Lyon",
            "country": "FR",
        },
    }


def build_batches(count: int) -> tuple[list[bytes], int]:
    """``count`` request bodies, each as close to 500,000 bytes as whole ops allow; and the op count."""
    bodies, number = [], 0
    for _ in range(count):
        ops, size = [], len(b'{"batch":[]}')
        while True:
            op = orjson.dumps(person_op(number))
            if size + len(op) + 1 > BATCH_LIMIT:
                break
            ops.append(op)
            size += len(op) + 1
            number += 1
        bodies.append(b'{"batch":[' + b",".join(ops) + b"]}")
    return bodies, number


def send_all(workspace: WorkspaceEmulator, bodies: list[bytes], threads: int) -> tuple[int, float]:
    """Send every body from ``threads`` threads; returns (accepted ops, seconds)."""
    work: queue.Queue[bytes] = queue.Queue()
    for body in bodies:
        work.put(body)
    accepted = [0] * threads

    def sender(index: int) -> None:
        with requests.Session() as session:
            session.auth = (workspace.site_id, workspace.api_key)
            session.headers["Content-Type"] = "application/json"
            while True:
                try:
                    body = work.get_nowait()
                except queue.Empty:
                    return
                response = session.post(  # verify here: a session's verify gives way to REQUESTS_CA_BUNDLE
                    f"{workspace.url}/api/v2/batch", data=body, timeout=120, verify=workspace.ca_bundle or True
                )
                response.raise_for_status()
                failed = len(response.json().get("errors", []))
                accepted[index] += body.count(b'"type":"person"') - failed

    workers = [threading.Thread(target=sender, args=(i,)) for i in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(accepted), time.perf_counter() - started


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux ``/proc``)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=100, help="batches per pass (default 100)")
    parser.add_argument("--threads", type=int, default=3, help="sending threads (default 3)")
    options = parser.parse_args()
    bodies, ops = build_batches(options.batches)
    print(f"{len(bodies)} batches, {ops} ops, {sum(map(len, bodies)) / len(bodies):,.0f} bytes a batch")
    with WorkspaceEmulator(in_subprocess=True) as workspace:
        pid = workspace._process.pid  # the emulator's child process
        for label in ("create", "update"):
            cpu_before = cpu_seconds(pid)
            accepted, seconds = send_all(workspace, bodies, options.threads)
            cpu = cpu_seconds(pid) - cpu_before
            print(
                f"{label}: {accepted} ops accepted in {seconds:.2f} s = {accepted / seconds:,.0f} ops/s; "
                f"emulator CPU {cpu:.2f} s = {accepted / cpu:,.0f} ops per CPU-second"
            )
        assert len(workspace.people()) == ops


if __name__ == "__main__":
    main()
