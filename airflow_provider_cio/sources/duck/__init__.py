"""The DuckDB source: a ``duckdb`` connection read through ``DuckDBHook`` in Arrow batches. (Not named
``duckdb``, the driver's own name.)"""
