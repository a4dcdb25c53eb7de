"""The code blocks of the README and docs/ that come from the example DAGs: check them, or rewrite them.

A block of ``dags_examples/*.py`` is marked as Airflow's system tests mark theirs (marker lines are left
out of the block, so blocks may nest)::

    # [START sync_people]
    MySQLReverseETLOperator(...)
    # [END sync_people]

and a Markdown file shows it, dedented, in the code fence right after a comment naming it (a comment
naming only a file, such as a query in ``dags_examples/sql/``, shows the whole file)::

    <!-- snippet: dags_examples/people_hourly.py sync_people -->
    ```python
    MySQLReverseETLOperator(...)
    ```

``python scripts/doc_snippets.py`` exits 1 and names each block that differs from its source (``make
test`` runs it); ``--write`` copies the sources into the docs.
"""

from __future__ import annotations

import argparse
import re
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MARKER = re.compile(r"^\s*# \[(START|END) ([\w-]+)\]\s*$")
SNIPPET = re.compile(r"^<!-- snippet: (\S+) ?([\w-]*) -->\n```\w*\n(.*?)^```$", re.MULTILINE | re.DOTALL)


@dataclass
class Snippet:
    """A code fence of a Markdown file that shows a marked block."""

    doc: Path
    source: str
    name: str
    text: str
    start: int
    end: int

    @property
    def where(self) -> str:
        line = self.doc.read_text()[: self.start].count("\n") + 1
        return f"{self.doc.relative_to(ROOT)}:{line} ({self.source} {self.name})"


def source_blocks(path: Path) -> dict[str, str]:
    """The marked blocks of a Python file, dedented, without marker lines.

    :raises ValueError: a START without its END, an END without its START, or a name used twice.
    """
    blocks: dict[str, list[str]] = {}
    open_blocks: list[str] = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        marker = MARKER.match(line)
        if marker is None:
            for name in open_blocks:
                blocks[name].append(line)
            continue
        kind, name = marker.groups()
        if kind == "START":
            if name in blocks:
                raise ValueError(f"{path}:{number}: block {name!r} is started twice")
            blocks[name] = []
            open_blocks.append(name)
        elif name not in open_blocks:
            raise ValueError(f"{path}:{number}: [END {name}] without its [START {name}]")
        else:
            open_blocks.remove(name)
    if open_blocks:
        raise ValueError(f"{path}: [START {open_blocks[0]}] without its [END {open_blocks[0]}]")
    return {name: textwrap.dedent("\n".join(lines)).strip("\n") + "\n" for name, lines in blocks.items()}


def documents() -> list[Path]:
    """The Markdown files that may show snippets."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def snippets(doc: Path) -> list[Snippet]:
    """The snippet fences of a Markdown file."""
    return [
        Snippet(doc, match.group(1), match.group(2), match.group(3), match.start(3), match.end(3))
        for match in SNIPPET.finditer(doc.read_text())
    ]


def expected(snippet: Snippet) -> str:
    """The block a snippet should show.

    :raises ValueError: the source file or its block does not exist.
    """
    path = ROOT / snippet.source
    if not path.is_file():
        raise ValueError(f"{snippet.where}: no file {snippet.source}")
    if not snippet.name:
        return path.read_text()
    blocks = source_blocks(path)
    if snippet.name not in blocks:
        raise ValueError(f"{snippet.where}: {snippet.source} has no block [START {snippet.name}]")
    return blocks[snippet.name]


def problems() -> list[str]:
    """One line per snippet that differs from its source (or names none)."""
    found = []
    for doc in documents():
        for snippet in snippets(doc):
            try:
                if snippet.text != expected(snippet):
                    found.append(
                        f"{snippet.where}: differs from its source; run python scripts/doc_snippets.py --write"
                    )
            except ValueError as error:
                found.append(str(error))
    return found


def write() -> list[Path]:
    """Copy every source block into the docs that show it; return the files changed."""
    changed = []
    for doc in documents():
        text = doc.read_text()
        for snippet in reversed(snippets(doc)):
            text = text[: snippet.start] + expected(snippet) + text[snippet.end :]
        if text != doc.read_text():
            doc.write_text(text)
            changed.append(doc)
    return changed


def main(argv: list[str] | None = None) -> int:
    """Check (exit 1 on a difference) or, with ``--write``, update the docs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="copy the source blocks into the docs")
    args = parser.parse_args(argv)
    if args.write:
        for doc in write():
            print(f"updated {doc.relative_to(ROOT)}")
        return 0
    found = problems()
    for line in found:
        print(line, file=sys.stderr)
    count = sum(len(snippets(doc)) for doc in documents())
    print(f"doc snippets: {count} checked, {len(found)} differ" if found else f"doc snippets: {count} match")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
