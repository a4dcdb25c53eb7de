"""Send: ops into size-bounded batches, sent on several lanes at once, at a concurrency that adapts."""

from __future__ import annotations
