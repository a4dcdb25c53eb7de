"""The Snowflake source tests run on a local Snowflake: fakesnow's server over TLS, reached by the real connector
through ``SnowflakeHook``. The fixtures (``fakesnow_server``, ``snowflake_db``) are in ``tests/snowflake_server.py``,
shared through ``tests/conftest.py``; ``SnowflakeDatabase`` is importable from here as before. No ``__init__.py``
here: a package named ``snowflake`` would hide the connector's."""

from __future__ import annotations

from snowflake_server import CONN_ID, SnowflakeDatabase

__all__ = ["CONN_ID", "SnowflakeDatabase"]
