"""The README's shell commands run as written after ``make studio``: nothing it shows relies on
the venv being activated (issue 19: ``lumos-studio`` was not on PATH)."""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

README = Path(__file__).parents[2] / "README.md"
VENV_BIN = ".venv/bin/"


def shell_commands() -> list[str]:
    """Each command line of the README's ``sh`` blocks (comments and blank lines left out)."""
    blocks = re.findall(r"^```sh\n(.*?)^```", README.read_text(), flags=re.S | re.M)
    joined = [block.replace("\\\n", " ") for block in blocks]  # a line ending in \ goes on
    lines = [line.split("  #")[0].strip() for block in joined for line in block.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def program(command: str) -> str:
    words = shlex.split(command)
    while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):  # VAR=value before the program
        words.pop(0)
    return words[0]


def test_every_readme_command_names_a_program_that_exists_after_make_studio() -> None:
    commands = shell_commands()
    assert len(commands) > 15
    for command in commands:
        name = program(command)
        if name == "make":
            continue
        assert name.startswith(VENV_BIN), f"not on PATH after make studio: {command}"
        installed = Path(sys.prefix) / "bin" / name.removeprefix(VENV_BIN)
        assert installed.exists(), f"{command}: no {installed}"
