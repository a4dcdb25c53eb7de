"""The README's and docs' code blocks are the marked blocks of the tested example DAGs, word for word."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def load_checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("doc_snippets", ROOT / "scripts" / "doc_snippets.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def checker() -> ModuleType:
    return load_checker()


@pytest.fixture
def copy(checker: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The docs and the examples copied to a scratch tree the checker reads instead."""
    shutil.copy(ROOT / "README.md", tmp_path / "README.md")
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    shutil.copytree(ROOT / "dags_examples", tmp_path / "dags_examples")
    monkeypatch.setattr(checker, "ROOT", tmp_path)
    return tmp_path


def test_every_doc_snippet_is_its_source_block(checker: ModuleType) -> None:
    assert checker.problems() == []
    shown = {(s.source, s.name) for doc in checker.documents() for s in checker.snippets(doc)}
    assert {
        ("dags_examples/people_hourly.py", "people_hourly"),
        ("dags_examples/people_hourly.py", "sync_people"),
        ("dags_examples/companies_daily.py", "sync_memberships"),
        ("dags_examples/after_people_synced.py", "after_people_synced"),
    } <= shown


def test_a_changed_example_fails_the_check_until_the_docs_are_rewritten(checker: ModuleType, copy: Path) -> None:
    example = copy / "dags_examples" / "people_hourly.py"
    example.write_text(example.read_text().replace("lookback_seconds=60", "lookback_seconds=120"))

    found = checker.problems()
    assert found and all("people_hourly.py" in line and "differs from its source" in line for line in found)
    assert any(line.startswith("README.md:") for line in found)

    assert checker.main(["--write"]) == 0
    assert checker.problems() == []
    assert "lookback_seconds=120" in (copy / "README.md").read_text()


def test_a_doc_edited_by_hand_fails_the_check(checker: ModuleType, copy: Path) -> None:
    doc = copy / "docs" / "scheduling.md"
    doc.write_text(doc.read_text().replace('dag_id="cio_people_hourly"', 'dag_id="renamed"', 1))

    assert checker.main([]) == 1
    assert [line.split(" ", 1)[0] for line in checker.problems()] == ["docs/scheduling.md:15"]


def test_broken_markers_and_unknown_blocks_are_named(checker: ModuleType, copy: Path) -> None:
    example = copy / "dags_examples" / "companies_daily.py"
    example.write_text(example.read_text().replace("# [END sync_memberships]\n", ""))
    doc = copy / "docs" / "values.md"
    doc.write_text(doc.read_text() + "\n<!-- snippet: dags_examples/people_hourly.py nowhere -->\n```python\nx\n```\n")

    found = "\n".join(checker.problems())
    assert "[START sync_memberships] without its [END sync_memberships]" in found
    assert "has no block [START nowhere]" in found
