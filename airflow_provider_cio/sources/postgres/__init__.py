"""PostgreSQL as a source: the query streamed through the Postgres connection's hook."""

from __future__ import annotations
