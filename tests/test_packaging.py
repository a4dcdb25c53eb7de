"""The package as users get it: built with ``python -m build``, installed from the wheel into a fresh venv.

To stay fast and work without a network except PyPI (for the build backend), the fresh venv installs the
wheel alone (``--no-deps``) and borrows every dependency from the project's environment through a
``.pth`` file: the package itself comes from the wheel, never from this source tree.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tomllib
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
VERSION = PROJECT["version"]


def run(*command: str | Path, env: dict[str, str] | None = None, timeout: float = 300) -> str:
    """Run a command outside the source tree (so that ``python -c`` cannot import the package from it)."""
    cwd = (env or {}).get("AIRFLOW_HOME")
    done = subprocess.run(
        [str(part) for part in command], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"{command} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def source_files() -> list[str]:
    """The files git tracks (what a clean clone builds from), plus new ones not ignored."""
    out = run("git", "-C", ROOT, "ls-files", "--cached", "--others", "--exclude-standard")
    return [line for line in out.splitlines() if line and (ROOT / line).is_file()]


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``dist/`` with the sdist and the wheel, built from a copy of the tree (the tree stays clean)."""
    tree = tmp_path_factory.mktemp("tree")
    for name in source_files():
        target = tree / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    out = tree / "dist"
    run(sys.executable, "-m", "build", "--sdist", "--wheel", "--outdir", out, tree)  # the wheel from the tree
    return out


@pytest.fixture(scope="module")
def installed(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    """A fresh venv with the wheel installed; the dependencies come from this environment."""
    home = tmp_path_factory.mktemp("venv")
    venv.create(home, with_pip=False)
    bin_dir = home / "bin"
    site = Path(
        sysconfig.get_path("purelib", vars={"base": str(home), "platbase": str(home)})
    )  # the fresh venv's site-packages
    dependencies = sysconfig.get_path("purelib")
    (site / "_project_dependencies.pth").write_text(dependencies + "\n")
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        AIRFLOW_HOME=str(tmp_path_factory.mktemp("airflow-home")),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        PYTHONNOUSERSITE="1",
    )
    env.pop("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", None)
    env.pop("AIRFLOW__CORE__DAGS_FOLDER", None)
    [wheel] = dist.glob("*.whl")
    # pip itself comes through the .pth too; run by the fresh venv's python, it installs there (scripts too).
    # Without PYTHONPATH, so that a source tree on it does not pass for the package already installed.
    run(bin_dir / "python", "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", wheel, env=env)
    yield bin_dir, env


def test_the_sdist_and_the_wheel_carry_the_license_and_the_type_marker(dist: Path) -> None:
    [wheel] = dist.glob(f"airflow_provider_cio-{VERSION}-*.whl")
    [sdist] = dist.glob(f"airflow_provider_cio-{VERSION}.tar.gz")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(f"airflow_provider_cio-{VERSION}.dist-info/METADATA").decode()
        license_text = archive.read(f"airflow_provider_cio-{VERSION}.dist-info/licenses/LICENSE").decode()
    assert "Apache License" in license_text and "Version 2.0, January 2004" in license_text
    assert "License-Expression: Apache-2.0" in metadata
    assert "airflow_provider_cio/py.typed" in names
    assert not [name for name in names if name.startswith("tests/")]
    with tarfile.open(sdist) as archive:
        sdist_names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {"LICENSE", "CHANGELOG.md", "README.md", "pyproject.toml", "airflow_provider_cio/py.typed"} <= sdist_names


EMULATOR_MODULES = {
    "airflow_provider_cio/testing/__init__.py",
    "airflow_provider_cio/testing/__main__.py",
    "airflow_provider_cio/testing/cli.py",
    "airflow_provider_cio/testing/emulator.py",
    "airflow_provider_cio/testing/server.py",
    "airflow_provider_cio/testing/workspace/__init__.py",
    "airflow_provider_cio/testing/dagruns.py",
}
"""What users' DAG tests import: the workspace emulator (and its command), and the DagRun helpers."""


def is_test_only(module: str) -> bool:
    """A module only this project's own tests, demo or benchmarks use: a throwaway database or Redis server,
    the support package that holds them, or test code."""
    path = PurePosixPath(module)
    return (
        path.name.endswith("_server.py")
        or path.name == "conftest.py"
        or path.parts[0] in {"cio_devservers", "tests", "benchmarks", "scripts"}
        or (path.parts[:2] == ("airflow_provider_cio", "testing") and bool(re.search(r"mysql|postgres|redis", module)))
    )


def test_the_wheel_ships_the_workspace_emulator_and_no_test_only_code(dist: Path) -> None:
    [wheel] = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        modules = [name for name in archive.namelist() if name.endswith(".py")]
    assert [module for module in modules if is_test_only(module)] == []
    assert {PurePosixPath(module).parts[0] for module in modules} == {"airflow_provider_cio"}
    assert set(modules) >= EMULATOR_MODULES


def test_the_installed_testing_package_is_the_emulator_without_the_test_servers(
    installed: tuple[Path, dict[str, str]],
) -> None:
    bin_dir, env = installed
    script = (
        "import importlib.util, airflow_provider_cio.testing as testing\n"
        "from airflow_provider_cio.testing.dagruns import check_counts, run_dag\n"
        "with testing.WorkspaceEmulator() as workspace: print(workspace.people())\n"
        "print(testing.__all__, importlib.util.find_spec('cio_devservers'))\n"
    )
    assert run(bin_dir / "python", "-c", script, env=env).splitlines() == ["[]", "['WorkspaceEmulator'] None"]


def test_the_installed_wheel_is_a_provider_airflow_lists_with_its_plugin(
    installed: tuple[Path, dict[str, str]],
) -> None:
    bin_dir, env = installed
    python = bin_dir / "python"

    where = run(python, "-c", "import airflow_provider_cio as p; print(p.__file__, p.__version__)", env=env)
    assert where.startswith(str(bin_dir.parent)) and where.split()[1] == VERSION

    providers = json.loads(run(python, "-m", "airflow", "providers", "list", "--output", "json", env=env))
    assert {"package_name": "airflow-provider-cio", "version": VERSION} in [
        {key: row.get(key) for key in ("package_name", "version")} for row in providers
    ]

    plugins = json.loads(run(python, "-m", "airflow", "plugins", "--output", "json", env=env))
    [plugin] = [row for row in plugins if row["name"] == "customerio_syncs"]
    assert str(bin_dir.parent) in plugin["source"] or "airflow-provider-cio" in plugin["source"]


def test_the_installed_commands_run(installed: tuple[Path, dict[str, str]]) -> None:
    bin_dir, env = installed

    assert "create-pool" in run(bin_dir / "cio-retl", "--help", env=env)
    emulator = subprocess.Popen(
        [str(bin_dir / "cio-workspace-emulator"), "--port", "0"],
        env=env,
        cwd=env["AIRFLOW_HOME"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert emulator.stdout is not None
        line = emulator.stdout.readline()
        assert "listening on http://127.0.0.1:" in line
        url = line.split("listening on ", 1)[1].strip()
        people = run(
            sys.executable,
            "-c",
            f"import urllib.request; print(urllib.request.urlopen('{url}/_emulator/people').read().decode())",
        )
        assert json.loads(people) == []
    finally:
        emulator.terminate()
        emulator.wait(timeout=30)
