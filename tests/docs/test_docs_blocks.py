"""Every runnable code block of docs/ runs as written: shell blocks (with the venv's
``lumos-studio`` and ``python`` first on PATH) and Python blocks, in page order, in a fresh
folder per page, each block starting where the one before left off (a ``cd`` carries over). A
Python block whose first line names a test file (``# tests/test_weather.py``) is written there
and run with pytest.

A block is left out only when the line before it says why: ``<!-- not run: opens the studio -->``
(the studio needs a terminal; tests/new drives it through a Pilot instead).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
SHELLS = {"sh", "bash", "shell", "console"}
FENCE = re.compile(r"^```(\w*)\s*$")
NOT_RUN = re.compile(r"^<!-- not run: (.+) -->$")
TEST_FILE = re.compile(r"# (tests/test_\w+\.py)\n")


@dataclass(frozen=True, slots=True)
class Block:
    page: str
    line: int
    language: str
    code: str
    skip_reason: str | None


def blocks(page: Path) -> list[Block]:
    """The page's shell and Python blocks, in order, each with the reason it is not run."""
    found: list[Block] = []
    lines = page.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        opened = FENCE.match(lines[i])
        if not opened or not opened.group(1):
            i += 1
            continue
        start, language = i, opened.group(1)
        i += 1
        body: list[str] = []
        while i < len(lines) and lines[i].strip() != "```":
            body.append(lines[i])
            i += 1
        i += 1
        if language not in SHELLS | {"python"}:
            continue
        before = next((line for line in reversed(lines[:start]) if line.strip()), "")
        reason = NOT_RUN.match(before.strip())
        name = str(page.relative_to(DOCS))
        skip = reason.group(1) if reason else None
        found.append(Block(name, start + 1, language, "\n".join(body) + "\n", skip))
    return found


PAGES = [p for p in sorted(DOCS.rglob("*.md")) if blocks(p)]


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "LUMOS_DB"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(Path(sys.executable).parent.parent)
    return env


def run_block(block: Block, cwd: Path, scratch: Path) -> Path:
    """Runs one block in ``cwd``; the folder it ended in (a shell block may ``cd``)."""
    where = f"docs/{block.page}:{block.line}"
    named = TEST_FILE.match(block.code)
    if block.language == "python" and named:  # a test file: written where it says, then run
        (cwd / named.group(1)).parent.mkdir(parents=True, exist_ok=True)
        (cwd / named.group(1)).write_text(block.code, encoding="utf-8")
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                               named.group(1)], cwd=cwd, text=True, capture_output=True,
                              timeout=120, env=environment())
        assert done.returncode == 0, f"{where} failed:\n{done.stdout}\n{done.stderr}"
        assert " passed" in done.stdout, f"{where} ran no test:\n{done.stdout}"
        return cwd
    if block.language == "python":
        done = subprocess.run([sys.executable, "-"], input=block.code, cwd=cwd, text=True,
                              capture_output=True, timeout=120, env=environment())
        assert done.returncode == 0, f"{where} failed:\n{done.stdout}\n{done.stderr}"
        return cwd
    ended = scratch / "cwd"
    script = f"set -euo pipefail\n{block.code}\npwd > {ended}\n"
    done = subprocess.run(["bash", "-c", script], cwd=cwd, text=True, capture_output=True,
                          timeout=180, env=environment())
    assert done.returncode == 0, f"{where} failed:\n{done.stdout}\n{done.stderr}"
    return Path(ended.read_text().strip())


def test_the_pages_have_blocks_to_run() -> None:
    names = {p.name for p in PAGES}
    assert {"quickstart.md", "chatbot.md", "rag.md", "workflow.md", "evaluated.md"} <= names


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_every_runnable_block_of_the_page_runs(page: Path, tmp_path: Path) -> None:
    work, scratch = tmp_path / "work", tmp_path / "scratch"
    work.mkdir()
    scratch.mkdir()
    cwd = work
    ran = 0
    for block in blocks(page):
        if block.skip_reason is None:
            cwd = run_block(block, cwd, scratch)
            ran += 1
    assert ran or page.name == "dialects.md", f"{page.name}: every block is left out"


def test_the_quickstart_shows_what_new_prints(tmp_path: Path) -> None:
    page = (DOCS / "quickstart.md").read_text(encoding="utf-8")
    shown = page.split("```text\n", 1)[1].split("```", 1)[0]
    done = subprocess.run(["bash", "-c", "lumos-studio new demo --template chatbot --yes 2>&1"],
                          cwd=tmp_path, text=True, capture_output=True, timeout=60,
                          env=environment())
    assert done.returncode == 0, done.stdout
    assert done.stdout == shown
