"""``cio-workspace-emulator``: run the workspace emulator from a shell, for demos and other languages.

::

    $ cio-workspace-emulator --port 8089
    listening on http://127.0.0.1:8089

It serves until it gets SIGTERM or SIGINT (Ctrl-C). With ``--tls`` and no ``--certificate``, it makes
a self-signed certificate in a temporary directory and says on stderr where the PEM is (the CA
bundle to give clients); the directory is removed at exit.
"""

from __future__ import annotations

import argparse
import gc
import logging
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Sequence
from types import FrameType

from airflow_provider_cio.testing.server import Credentials, EmulatorServer, write_self_signed_certificate


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``cio-workspace-emulator``."""
    parser = argparse.ArgumentParser(
        prog="cio-workspace-emulator",
        description="Serve an emulated Customer.io workspace (Track API, App API, /_emulator admin API).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to listen on; 0 picks a free one (default)")
    parser.add_argument("--tls", action="store_true", help="serve HTTPS with a self-signed certificate")
    parser.add_argument("--certificate", help="with --tls: PEM certificate to serve instead of a generated one")
    parser.add_argument("--private-key", help="with --certificate: its PEM private key")
    parser.add_argument("--site-id", default="emulator-site", help="Track API site id (default: emulator-site)")
    parser.add_argument("--api-key", default="emulator-track-key", help="Track API key (default: emulator-track-key)")
    parser.add_argument("--app-api-key", default="emulator-app-key", help="App API key (default: emulator-app-key)")
    parser.add_argument("--verbose", action="store_true", help="log every request on stderr")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the emulator until SIGTERM or SIGINT; prints ``listening on <url>`` once it accepts requests."""
    parser = build_parser()
    options = parser.parse_args(argv)
    if bool(options.certificate) != bool(options.private_key) or (options.certificate and not options.tls):
        parser.error("--certificate and --private-key go together, with --tls")
    logging.basicConfig(level=logging.DEBUG if options.verbose else logging.WARNING, stream=sys.stderr)
    directory = None
    certificate = None
    if options.certificate:
        certificate = (options.certificate, options.private_key)
    elif options.tls:
        directory = tempfile.mkdtemp(prefix="cio-emulator-")
        certificate = write_self_signed_certificate(directory)
        sys.stderr.write(f"CA bundle (self-signed certificate): {certificate[0]}\n")
    try:
        credentials = Credentials(options.site_id, options.api_key, options.app_api_key)
        server = EmulatorServer(options.host, options.port, credentials, certificate=certificate)
        _serve_until_signalled(server)
    finally:
        if directory is not None:
            shutil.rmtree(directory, ignore_errors=True)
    return 0


def _serve_until_signalled(server: EmulatorServer) -> None:
    _tune_garbage_collector()
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    thread = threading.Thread(target=server.serve_forever, name="cio-workspace-emulator", daemon=True)
    thread.start()
    print(f"listening on {server.url}", flush=True)
    stop.wait()
    server.stop()
    thread.join()


def _tune_garbage_collector() -> None:
    """Collect less often: this process owns its interpreter, and each batch it parses creates
    thousands of short-lived containers that reference counting frees anyway. Measured on the
    throughput script, this saves a quarter of the emulator's CPU time."""
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
