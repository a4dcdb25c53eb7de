"""Processes for the lifeline tests: a stand-in for the supervisor, and a task process with a watchdog only.

::

    python tests/lifeline/processes.py parent <command ...>   # a supervisor stand-in
    python tests/lifeline/processes.py watchdog <marker path>  # a task process guarded by the watchdog alone

``parent`` starts ``<command>`` in a process group of its own (as Airflow's supervisor forks the task
process), prints the child's pid, then waits for it (at most ten minutes): the test SIGKILLs it.
``watchdog`` arms :class:`~airflow_provider_cio.operators.lifeline.Lifeline` without the kernel's parent-death
signal; its ``on_lost`` writes the marker file. It then idles (at most ten minutes) until the watchdog ends it.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

LIFETIME_SECONDS = 600


def parent(command: list[str]) -> None:
    """Start ``command`` in its own process group, print its pid, wait for it."""
    child = subprocess.Popen(command, start_new_session=True)
    print(child.pid, flush=True)
    child.wait(LIFETIME_SECONDS)


def watchdog(marker: str) -> None:
    """Idle under a watchdog-only lifeline whose ``on_lost`` writes ``marker``."""
    from airflow_provider_cio.operators.lifeline import Lifeline

    Lifeline(lambda: Path(marker).write_text("lost"), interval=0.2, parent_death_signal=False).start()
    print("armed", flush=True)
    deadline = time.monotonic() + LIFETIME_SECONDS
    while time.monotonic() < deadline:
        time.sleep(0.1)


if __name__ == "__main__":
    mode, *arguments = sys.argv[1:]
    if mode == "parent":
        parent(arguments)
    else:
        watchdog(*arguments)
