"""The fast unit layer: tests on in-memory inputs, with no server, no Airflow metadata database and no HTTP.

``make unit`` runs this folder alone, for the edit-test loop; ``make test`` runs it with everything else.
"""

from __future__ import annotations
