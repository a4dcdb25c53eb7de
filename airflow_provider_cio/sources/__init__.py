"""Where rows come from: one read-only stream of row blocks per source, cancel, and error advice."""

from __future__ import annotations
