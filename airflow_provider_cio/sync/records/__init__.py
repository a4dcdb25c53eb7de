"""Build ops: each kind of record (people, objects, relationships) from rows to encoded ops."""

from __future__ import annotations
