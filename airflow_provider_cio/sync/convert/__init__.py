"""Plan and convert: which column is what, and how a database value becomes an attribute value."""

from __future__ import annotations
