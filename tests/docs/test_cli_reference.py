"""docs/cli.md is what scripts/gen_cli_docs.py makes of the commands' --help today."""

from __future__ import annotations

import subprocess
import sys
from types import ModuleType

from tests.scripts import SCRIPTS, load_script

ROOT = SCRIPTS.parent
SCRIPT = SCRIPTS / "gen_cli_docs.py"


def generator() -> ModuleType:
    return load_script("gen_cli_docs")


def test_the_committed_reference_is_the_generated_one() -> None:
    committed = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert committed == generator().render(), (
        "docs/cli.md is stale: run .venv/bin/python scripts/gen_cli_docs.py")


def test_it_covers_every_command_with_its_options() -> None:
    from lumos_studio.cli import cli

    page = generator().render()
    for name in cli.commands:
        assert f"\n## lumos-studio {name}\n" in page
        assert f"Usage: lumos-studio {name} [OPTIONS]" in page
    assert "--template TEXT" in page and "-h, --help" in page


def test_check_mode_says_whether_the_page_is_current() -> None:
    checked = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True,
                             text=True, cwd=ROOT, timeout=60)
    assert checked.returncode == 0, checked.stderr
