"""MySQL (and MariaDB) as a source: the query streamed through the MySQL connection's hook."""

from __future__ import annotations
