"""The rules of the house, read from the source: what imports what, and how large a class may grow.

A newcomer finds a row's way from the folder names (``sources/`` -> ``sync/convert`` -> ``sync/records`` ->
``sync/send`` -> ``hooks/`` -> ``sync/account`` -> ``operators/``); these tests keep the arrows pointing that way.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "airflow_provider_cio"
MAX_CLASS_LINES = 250


def modules() -> dict[str, Path]:
    """Every module of the package by its dotted name (a package by its ``__init__``)."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imported(path: Path, known: dict[str, Path]) -> Iterator[str]:
    """The names a module imports, anywhere in it (under ``TYPE_CHECKING`` and inside functions too)."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            for alias in node.names:
                if f"{node.module}.{alias.name}" in known:
                    yield f"{node.module}.{alias.name}"


def graph() -> dict[str, set[str]]:
    known = modules()
    return {
        name: {target for target in imported(path, known) if target in known and target != name}
        for name, path in known.items()
    }


def test_no_import_cycle_inside_the_package() -> None:
    edges = graph()
    # a package's __init__ re-exporting its own modules is not a cycle of jobs; any other back edge is
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for target in sorted(edges[node]):
            if node.startswith(target + ".") or target.startswith(node + "."):
                continue
            if state.get(target) == 1:
                cycles.append([*trail[trail.index(target) :], target])
            elif target not in state:
                visit(target, [*trail, target])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert cycles == [], f"import cycles: {cycles}"


def third_party(path: Path) -> set[str]:
    return {name.split(".")[0] for name in imported(path, {}) if not name.startswith("airflow_provider_cio")}


@pytest.mark.parametrize("forbidden", ["airflow", "MySQLdb", "pymysql", "psycopg2", "psycopg", "snowflake", "duckdb"])
def test_the_engine_imports_neither_airflow_nor_a_driver(forbidden: str) -> None:
    offenders = sorted(
        name
        for name, path in modules().items()
        if name.startswith("airflow_provider_cio.sync") and forbidden in third_party(path)
    )
    assert offenders == [], f"{forbidden} imported by the engine: {offenders}"


def test_operators_and_hooks_do_not_import_the_ui() -> None:
    edges = graph()
    offenders = sorted(
        f"{name} -> {target}"
        for name, targets in edges.items()
        if name.startswith(
            ("airflow_provider_cio.operators", "airflow_provider_cio.hooks", "airflow_provider_cio.sync")
        )
        for target in targets
        if target.startswith("airflow_provider_cio.plugins")
    )
    assert offenders == []


def test_the_lower_steps_do_not_import_the_operators() -> None:
    """A source, the engine and the hook serve the operators; none of them reaches back up into one."""
    edges = graph()
    lower = ("airflow_provider_cio.sources", "airflow_provider_cio.sync", "airflow_provider_cio.hooks")
    offenders = sorted(
        f"{name} -> {target}"
        for name, targets in edges.items()
        if name.startswith(lower)
        for target in targets
        if target.startswith("airflow_provider_cio.operators")
    )
    assert offenders == []


def test_no_class_outside_the_emulator_is_over_250_lines() -> None:
    large = sorted(
        f"{name}.{node.name}: {node.end_lineno - node.lineno + 1} lines"
        for name, path in modules().items()
        if not name.startswith("airflow_provider_cio.testing")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ClassDef) and node.end_lineno and node.end_lineno - node.lineno + 1 > MAX_CLASS_LINES
    )
    assert large == []


def names_in(path: Path) -> Iterator[str]:
    """Every name a module defines or uses: variables, attributes, imports, functions, classes, arguments."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Name):
            yield node.id
        elif isinstance(node, ast.Attribute):
            yield node.attr
        elif isinstance(node, ast.alias):
            yield node.asname or node.name.split(".")[-1]
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            yield node.name
        elif isinstance(node, ast.arg):
            yield node.arg


def test_the_engine_knows_no_mysql_type_code() -> None:
    """The engine works in neutral column types; MySQL's type codes live in ``sources/mysql/``."""
    offenders = sorted(
        f"{name}: {used}"
        for name, path in modules().items()
        if name.startswith("airflow_provider_cio.sync")
        for used in set(names_in(path))
        if used.startswith("MYSQL_")
    )
    assert offenders == []


def test_the_engine_imports_no_source() -> None:
    edges = graph()
    offenders = sorted(
        f"{name} -> {target}"
        for name, targets in edges.items()
        if name.startswith("airflow_provider_cio.sync")
        for target in targets
        if target.startswith("airflow_provider_cio.sources")
    )
    assert offenders == []


KINDS_PACKAGE = "airflow_provider_cio.sync.records.kinds"


def names_import_type(node: ast.expr) -> bool:
    """``import_type`` or ``<anything>.import_type``."""
    return (isinstance(node, ast.Name) and node.id == "import_type") or (
        isinstance(node, ast.Attribute) and node.attr == "import_type"
    )


def holds_a_name(node: ast.expr) -> bool:
    """A string literal, or a tuple, list or set of them (``in ("objects", "relationships")``)."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    return isinstance(node, (ast.Tuple, ast.List, ast.Set)) and any(holds_a_name(item) for item in node.elts)


def kind_comparisons(path: Path) -> Iterator[int]:
    """The lines comparing ``import_type`` with a kind's name (``==``, ``!=``, ``in``, ``not in``, either side, or
    a ``case`` of ``match import_type``)."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            if any(names_import_type(operand) for operand in operands) and any(map(holds_a_name, operands)):
                yield node.lineno
        elif isinstance(node, ast.Match) and names_import_type(node.subject):
            yield from (case.pattern.lineno for case in node.cases if isinstance(case.pattern, ast.MatchValue))


def test_only_the_kinds_compare_import_type_with_a_name() -> None:
    """What differs between kinds of record lives in each kind's object (``KINDS[import_type]``): a new kind
    is one module of ``sync/records/kinds/``, not a branch added wherever ``import_type`` is compared."""
    offenders = sorted(
        f"{name}:{line}"
        for name, path in modules().items()
        if not name.startswith(KINDS_PACKAGE)
        for line in kind_comparisons(path)
    )
    assert offenders == []


PUBLIC_EXPORTS = {
    "airflow_provider_cio.hooks.customerio",
    "airflow_provider_cio.operators.sql",
    "airflow_provider_cio.testing",
    KINDS_PACKAGE,
}
"""The modules that gather names defined elsewhere, because DAG authors (or the kinds' users) import from them."""


def defined_in(path: Path) -> set[str]:
    """The names a module defines at its top level (also under ``if``/``try``): functions, classes, variables."""
    found: set[str] = set()
    statements = list(ast.parse(path.read_text()).body)
    while statements:
        node = statements.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            found.update(name.id for target in targets for name in ast.walk(target) if isinstance(name, ast.Name))
        elif isinstance(node, (ast.If, ast.Try)):
            statements.extend([*node.body, *node.orelse, *getattr(node, "finalbody", [])])
    return found


def test_names_are_imported_from_the_module_that_defines_them() -> None:
    """A reader finds a name where its import says: no module re-exports another's names (no ``__all__``, no
    import kept for importers), except the public ones of ``PUBLIC_EXPORTS``."""
    known = modules()
    defined = {name: defined_in(path) for name, path in known.items()}
    offenders = sorted(
        f"{name}:{node.lineno} takes {alias.name} from {node.module}"
        for name, path in known.items()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module in known
        if node.module not in PUBLIC_EXPORTS
        for alias in node.names
        if alias.name not in defined[node.module] and f"{node.module}.{alias.name}" not in known
    )
    with_all = sorted(name for name in known if name not in PUBLIC_EXPORTS and "__all__" in defined[name])
    assert offenders == [], f"imported from a module that does not define them: {offenders}"
    assert with_all == [], f"__all__ outside the public modules: {with_all}"
