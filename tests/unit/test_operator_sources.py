"""The source is a part a sync operator holds, never one of its base classes.

Read from the operator classes themselves: no class in ``operators/`` inherits a source (a class of
``sources/``, or any class with a source's methods), and no operator bound to one source subclasses an operator
bound to another. Which source an operator class reads is what its connection parameter says (``conn_id``: the
connection's type picks; ``mysql_conn_id``: MySQL; ``postgres_conn_id``: PostgreSQL), its own or its nearest
ancestor's. Then, on objects: the operator builds its source when asked, never when constructed, from the
connection's type or from the source it is bound to.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import sys
from collections.abc import Iterator

import pytest

import airflow_provider_cio.operators as operators_package
from airflow_provider_cio.operators.base import BaseSyncOperator
from airflow_provider_cio.operators.postgres import PostgresRelationshipOperator, PostgresReverseETLOperator
from airflow_provider_cio.operators.relationships import RelationshipOperator
from airflow_provider_cio.operators.reverse_etl import MySQLReverseETLOperator
from airflow_provider_cio.operators.sql import SQLRelationshipOperator, SQLReverseETLOperator

SOURCE_METHODS = ("open_stream", "is_source_error", "source_message", "source_retry_may_help")
"""What makes a class a source (the ``Source`` protocol of ``sources/registry.py``, and the mixins it replaced)."""

CONN_PARAMETERS = {"conn_id": None, "mysql_conn_id": "mysql", "postgres_conn_id": "postgres"}
"""An operator's connection parameter, and the source it reads (None: the connection's type picks)."""


def operator_classes() -> Iterator[type]:
    """Every class defined in a module of ``airflow_provider_cio/operators/``."""
    for info in pkgutil.iter_modules(operators_package.__path__, f"{operators_package.__name__}."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if inspect.isclass(value) and value.__module__ == module.__name__:
                yield value


def sync_operators() -> list[type]:
    return [cls for cls in operator_classes() if issubclass(cls, BaseSyncOperator)]


def is_source(cls: type) -> bool:
    return cls.__module__.startswith("airflow_provider_cio.sources") or any(
        name in vars(cls) for name in SOURCE_METHODS
    )


def reads(cls: type) -> str | None:
    """The source an operator class reads, by the connection parameter of its own ``__init__`` or its nearest
    ancestor's."""
    for klass in cls.__mro__:
        init = vars(klass).get("__init__")
        if init is None:
            continue
        parameters = inspect.signature(init).parameters
        for name, source in CONN_PARAMETERS.items():
            if name in parameters:
                return source
    raise AssertionError(f"{cls.__name__} takes no connection parameter")


def test_no_operator_class_has_a_source_among_its_bases() -> None:
    offenders = sorted(
        f"{cls.__name__} inherits {base.__name__}"
        for cls in operator_classes()
        for base in cls.__mro__[1:]
        if is_source(base)
    )
    assert offenders == []


def test_no_operator_subclasses_an_operator_bound_to_another_source() -> None:
    operators = sync_operators()
    offenders = sorted(
        f"{cls.__name__} ({reads(cls)}) subclasses {parent.__name__} ({reads(parent)})"
        for cls in operators
        for parent in cls.__mro__[1:]
        if parent in operators and reads(parent) not in (None, reads(cls))
    )
    assert offenders == []


def test_each_operator_is_bound_to_the_source_its_connection_parameter_names() -> None:
    assert {cls.__name__: cls.source_kind for cls in sync_operators()} == {
        cls.__name__: reads(cls) for cls in sync_operators()
    }


@pytest.fixture
def warehouse(monkeypatch: pytest.MonkeyPatch, tmp_path) -> str:
    """A SQLite connection from the environment (no metadata database)."""
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "w.db")}))
    return "warehouse"


def test_the_source_is_built_when_asked_never_when_the_operator_is_made() -> None:
    operator = SQLReverseETLOperator(task_id="sync", sql="SELECT 1 AS id", conn_id="no_such_connection")

    assert "source" not in vars(operator)


def test_the_connection_type_picks_the_source_of_a_sql_operator(warehouse) -> None:
    from airflow_provider_cio.sources.dbapi.source import DbApiSource

    for operator_class in (SQLReverseETLOperator, SQLRelationshipOperator):
        source = operator_class(task_id="sync", sql="SELECT 1 AS id", conn_id=warehouse).source

        assert isinstance(source, DbApiSource) and source.name == "SQLite connection 'warehouse'"


def test_a_bound_operator_reads_its_source_whatever_the_connection_type(warehouse) -> None:
    from airflow_provider_cio.sources.mysql.source import MySQLSource

    for operator_class in (MySQLReverseETLOperator, RelationshipOperator):
        operator = operator_class(task_id="sync", sql="SELECT 1 AS id", mysql_conn_id=warehouse)

        assert operator.source == MySQLSource(warehouse) and operator.mysql_conn_id == warehouse


def test_the_postgres_operators_give_their_source_the_statement_timeout() -> None:
    pytest.importorskip("psycopg")
    from airflow_provider_cio.sources.postgres.source import PostgresSource

    for operator_class in (PostgresReverseETLOperator, PostgresRelationshipOperator):
        operator = operator_class(task_id="sync", sql="SELECT 1 AS id", statement_timeout=5, timezone="Europe/Oslo")

        assert operator.postgres_conn_id == "postgres_default"
        assert operator.source == PostgresSource("postgres_default", timezone="Europe/Oslo", statement_timeout=5)


@pytest.mark.parametrize(
    ("operator_class", "other"),
    [
        (MySQLReverseETLOperator, "conn_id"),
        (RelationshipOperator, "postgres_conn_id"),
        (PostgresReverseETLOperator, "conn_id"),
        (PostgresRelationshipOperator, "mysql_conn_id"),
    ],
)
def test_a_bound_operator_refuses_another_connection_parameter(operator_class: type, other: str) -> None:
    with pytest.raises(TypeError, match=f"this operator reads .*; {other} does not apply"):
        operator_class(task_id="sync", sql="SELECT 1 AS id", **{other: "x"})


def test_a_missing_postgres_provider_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without ``apache-airflow-providers-postgres`` (hidden from imports here) the source says which extra to
    install, also when the PostgreSQL source was imported before."""
    pytest.importorskip("psycopg")
    from airflow_provider_cio.sources.postgres.source import PostgresSource
    from airflow_provider_cio.sources.registry import SOURCES, SourceOptions

    monkeypatch.setitem(sys.modules, "airflow.providers.postgres.hooks.postgres", None)

    for make in (lambda: PostgresSource("pg"), lambda: SOURCES["postgres"]("pg", "postgres", SourceOptions())):
        with pytest.raises(
            ValueError,
            match=r"connection 'pg' is a PostgreSQL connection.*pip install 'airflow-provider-cio\[postgres\]'",
        ):
            make()
