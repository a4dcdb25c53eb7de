"""Compare the emulator's HTTP layer (``http.server``) with Starlette on uvicorn (not a test: run it by hand).

    python -m benchmarks.emulator_asgi_probe [--repetitions 3] [--batches 30] [--small 3000]

Issue 14 asked whether the emulator should move to Starlette/uvicorn, as long as that loses no ops
per CPU-second. This probe answers it with a measurement. Each repetition starts, in turn, three
servers, each in a child process (so its CPU time is its own):

- ``emulator``: the emulator as it is (``WorkspaceEmulator(in_subprocess=True)``: ``http.server``,
  one thread a connection, the full request path with its request log, faults and rate limit checks);
- ``asgi``: Starlette on uvicorn (uvloop and httptools when installed), one route,
  ``POST /api/v2/batch``, on a fresh :class:`Workspace`, with the same Basic authentication check and
  the same answers (200 ``{}`` or 207 with the item errors), and nothing else: no request log, no
  faults, no rate limits;
- ``bare``: the same one route and the same work on ``http.server`` (``ThreadingHTTPServer``,
  HTTP/1.1 keep-alive), so that ``asgi / bare`` is the framework's cost alone and ``bare / emulator``
  the cost of the emulator's own request path.

Both get the same request bodies from the same keep-alive client threads, in two shapes: large
batches (~500 kB, ~1,500 person ``identify`` ops each: the workspace rules dominate) and one-op
batches (the HTTP layer dominates). The figure compared is accepted ops per CPU-second of the
server process (``/proc``), which stays meaningful on a busy machine; each server starts fresh, so
the large batches create people, as in the first pass of ``benchmarks.emulator_throughput``.
"""

from __future__ import annotations

import argparse
import base64
import gc
import os
import socket
import statistics
import subprocess
import sys
import time
from typing import Any

import orjson
import requests

from benchmarks.emulator_throughput import build_batches, cpu_seconds, person_op

SITE_ID, API_KEY = "probe-site", "probe-key"
SERVERS = ("emulator", "asgi", "bare")


def asgi_app() -> Any:
    """The Starlette app: ``POST /api/v2/batch`` on a fresh :class:`Workspace`, as the emulator answers it."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from airflow_provider_cio.testing.workspace import Workspace

    workspace = Workspace()
    expected = "Basic " + base64.b64encode(f"{SITE_ID}:{API_KEY}".encode()).decode()

    async def batch(request: Request) -> Response:
        if request.headers.get("authorization") != expected:
            return Response(b'{"meta":{"error":"unauthorized"}}', 401, media_type="application/json")
        try:
            document = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return Response(b'{"errors":[{"reason":"invalid"}]}', 400, media_type="application/json")
        errors = workspace.apply_batch(document["batch"])  # inline: one event loop, like the emulator's lock
        if errors:
            return Response(orjson.dumps({"errors": errors}), 207, media_type="application/json")
        return Response(b"{}", 200, media_type="application/json")

    return Starlette(routes=[Route("/api/v2/batch", batch, methods=["POST"])])


def serve_bare(port: int) -> None:
    """Serve the same route with the same work on ``http.server``, until killed."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from airflow_provider_cio.testing.workspace import Workspace

    workspace = Workspace()
    expected = "Basic " + base64.b64encode(f"{SITE_ID}:{API_KEY}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # as the emulator's handler

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if self.path != "/api/v2/batch" or self.headers.get("Authorization") != expected:
                self._answer(401, b'{"meta":{"error":"unauthorized"}}')
                return
            errors = workspace.apply_batch(orjson.loads(body)["batch"])
            if errors:
                self._answer(207, orjson.dumps({"errors": errors}))
            else:
                self._answer(200, b"{}")

        def _answer(self, status: int, payload: bytes) -> None:
            """Head and body in one write, as the emulator writes them."""
            head = f"HTTP/1.1 {status} OK\r\nContent-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
            self.wfile.write(head.encode() + payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


def serve(kind: str, port: int) -> None:
    """Run the ``asgi`` or ``bare`` server on ``127.0.0.1:port`` until killed (a :class:`ProbeServer` child)."""
    gc.freeze()  # the garbage collector tuned as the emulator's own process tunes it (testing/cli.py)
    gc.set_threshold(100_000, 50, 100)
    if kind == "bare":
        serve_bare(port)
        return
    import uvicorn

    uvicorn.run(asgi_app(), host="127.0.0.1", port=port, log_level="warning", access_log=False)


class ProbeServer:
    """The ``asgi`` or ``bare`` server in a child process (so its CPU time is its own), as a context manager."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __enter__(self) -> ProbeServer:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        command = [sys.executable, "-m", "benchmarks.emulator_asgi_probe", "--serve", self.kind, str(self.port)]
        self.process = subprocess.Popen(command)
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.process.kill()
                    raise RuntimeError(f"the {self.kind} probe server did not start") from None
                time.sleep(0.05)
        self.url, self.pid = f"http://127.0.0.1:{self.port}", self.process.pid
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def send_all(url: str, auth: tuple[str, str], bodies: list[bytes], threads: int) -> int:
    """Send every body from ``threads`` keep-alive threads; returns the ops accepted."""
    import queue
    import threading

    work: queue.Queue[bytes] = queue.Queue()
    for body in bodies:
        work.put(body)
    accepted = [0] * threads

    def sender(index: int) -> None:
        with requests.Session() as session:
            session.auth = auth
            session.headers["Content-Type"] = "application/json"
            while True:
                try:
                    body = work.get_nowait()
                except queue.Empty:
                    return
                response = session.post(f"{url}/api/v2/batch", data=body, timeout=120)
                response.raise_for_status()
                accepted[index] += body.count(b'"type":"person"') - len(response.json().get("errors", []))

    workers = [threading.Thread(target=sender, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(accepted)


def ops_per_cpu_second(server: str, bodies: list[bytes], threads: int) -> float:
    """Start ``server`` (``emulator``, ``asgi`` or ``bare``), send ``bodies``, return its ops per CPU-second."""
    if server != "emulator":
        with ProbeServer(server) as probe:
            before = cpu_seconds(probe.pid)
            accepted = send_all(probe.url, (SITE_ID, API_KEY), bodies, threads)
            return accepted / (cpu_seconds(probe.pid) - before)
    from airflow_provider_cio.testing.emulator import WorkspaceEmulator

    with WorkspaceEmulator(in_subprocess=True) as emulator:
        pid = emulator._process.pid  # the emulator's child process
        before = cpu_seconds(pid)
        accepted = send_all(emulator.url, (emulator.site_id, emulator.api_key), bodies, threads)
        return accepted / (cpu_seconds(pid) - before)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=3, help="runs of each server per shape (default 3)")
    parser.add_argument("--batches", type=int, default=30, help="large batches a run (default 30)")
    parser.add_argument("--small", type=int, default=3000, help="one-op batches a run (default 3000)")
    parser.add_argument("--threads", type=int, default=3, help="sending threads (default 3)")
    parser.add_argument("--serve", nargs=2, help=argparse.SUPPRESS)  # a child process: KIND PORT
    options = parser.parse_args()
    if options.serve is not None:
        serve(options.serve[0], int(options.serve[1]))
        return
    large, large_ops = build_batches(options.batches)
    small = [b'{"batch":[' + orjson.dumps(person_op(number)) + b"]}" for number in range(options.small)]
    shapes = {f"large ({large_ops // len(large)} ops/batch)": large, "one op/batch": small}
    print(f"{os.cpu_count()} CPUs; {options.repetitions} repetitions, servers alternating; ops per CPU-second")
    for shape, bodies in shapes.items():
        results: dict[str, list[float]] = {server: [] for server in SERVERS}
        for repetition in range(options.repetitions):
            order = SERVERS[repetition % len(SERVERS) :] + SERVERS[: repetition % len(SERVERS)]
            for server in order:
                results[server].append(ops_per_cpu_second(server, bodies, options.threads))
        median = {server: statistics.median(values) for server, values in results.items()}
        print(f"{shape}:")
        for server, values in results.items():
            runs = ", ".join(f"{value:,.0f}" for value in values)
            print(f"  {server:9} median {median[server]:>9,.0f}  [{runs}]")
        print(
            f"  asgi/bare = {median['asgi'] / median['bare']:.2f}; asgi/emulator = "
            f"{median['asgi'] / median['emulator']:.2f}; bare/emulator = {median['bare'] / median['emulator']:.2f}"
        )


if __name__ == "__main__":
    main()
