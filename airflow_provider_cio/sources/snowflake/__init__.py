"""Snowflake as a source: the query read through the Snowflake connection's hook, in Arrow batches."""

from __future__ import annotations
