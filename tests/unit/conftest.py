"""The fast unit layer: tests on in-memory inputs, with no server, no Airflow metadata database and no HTTP.

``make unit`` runs this folder alone, for the edit-test loop; ``make test`` runs it with everything else.

Property-based tests (Hypothesis) keep no example database (nothing written into the tree) and no per-example
deadline (the machine may be busy); each test sets its own modest ``max_examples``.
"""

from __future__ import annotations

from hypothesis import settings

settings.register_profile("unit", database=None, deadline=None)
settings.load_profile("unit")
