"""``python -m airflow_provider_cio.testing``: the same as the ``cio-workspace-emulator`` command."""

from __future__ import annotations

import sys

from airflow_provider_cio.testing.cli import main

sys.exit(main())
