"""Mirror mode: snapshots of what was delivered, the changes since, and the removals."""

from __future__ import annotations
