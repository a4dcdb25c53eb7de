"""The duplicate check: an identifier sent twice in one sync is caught before the second send."""

from __future__ import annotations
