"""Every Python block in README.md runs as written, offline (``tests/docs`` runs docs/'s pages).

Each block runs in a fresh interpreter in an empty directory (what it writes, such as
``.lumos/``, stays there). A block marked in the Markdown just before its fence runs otherwise,
with the markers docs/'s pages use too:

- ``<!-- not run: REASON -->`` is not run (a sketch, or one needing a studio or network);
  the reason is printed.
- ``<!-- run in: repository root -->`` runs from the repository's root (it uses files there).

A block whose first line names a test file (``# tests/test_x.py``) is run by pytest.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md"]
_BLOCK = re.compile(
    r"(?:<!--\s*(?P<marker>not run:.*?|run in:.*?)\s*-->\s*\n)?^```python\n(?P<code>.*?)^```",
    re.S | re.M,
)


@dataclass(frozen=True)
class DocBlock:
    """One Python block: where it is, its code and its marker (if any)."""

    path: Path
    line: int
    code: str
    marker: str

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    @property
    def test_file(self) -> str | None:
        first = self.code.split("\n", 1)[0]
        match = re.fullmatch(r"# (?:\S+/)?(test_\w+\.py)", first.strip())
        return match.group(1) if match else None


def doc_blocks() -> list[DocBlock]:
    blocks = []
    for path in DOCUMENTS:
        text = path.read_text()
        for match in _BLOCK.finditer(text):
            line = text.count("\n", 0, match.start("code"))  # the fence's line, 1-based
            blocks.append(DocBlock(path, line, match.group("code"), match.group("marker") or ""))
    return blocks


BLOCKS = doc_blocks()


def test_the_documents_hold_python_blocks() -> None:
    """The pattern finds the blocks a plain count of fences finds (none slips through)."""
    fences = sum(path.read_text().count("```python\n") for path in DOCUMENTS)
    assert len(BLOCKS) == fences >= 6


@pytest.mark.timeout(120)
@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_the_block_runs_as_written(
    block: DocBlock, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if block.marker.startswith("not run:"):
        reason = block.marker.removeprefix("not run:").strip()
        assert reason, f"{block.id}: a block left out must say why (not run: REASON)"
        with capsys.disabled():  # shown whatever the -r options
            print(f"\n{block.id} not run: {reason}")
        pytest.skip(reason)
    assert block.marker in ("", "run in: repository root"), f"{block.id}: {block.marker!r}?"
    cwd = ROOT if block.marker == "run in: repository root" else tmp_path
    if block.test_file is not None:
        script = tmp_path / block.test_file
        script.write_text(block.code)
        command = [sys.executable, "-m", "pytest", str(script), "-q", "-p", "no:cacheprovider",
                   f"--rootdir={tmp_path}"]
    else:
        command = [sys.executable, "-c", block.code]
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=100,
                          check=False)
    assert done.returncode == 0, f"{block.id} failed:\n{done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stderr, f"{block.id} printed a traceback:\n{done.stderr}"
    if block.test_file is not None:
        assert " passed" in done.stdout and "failed" not in done.stdout, done.stdout
