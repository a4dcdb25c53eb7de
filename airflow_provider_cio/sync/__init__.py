"""The sync engine, free of Airflow and of any MySQL driver.

Data flows one way: cursor rows -> validated ops -> size-bounded batches -> workspace -> per-row
outcomes -> report. The engine takes any DB-API cursor (``description`` and ``fetchmany``) and a
workspace object with ``send_batch(ops) -> list[OpError]`` (``CustomerIOHook`` is one).
"""
