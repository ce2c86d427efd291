"""Making a project the way a person does: the installed ``lumos-studio`` in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

STUDIO = Path(sys.executable).parent / "lumos-studio"


def clean_env() -> dict[str, str]:
    """This environment without what the outer pytest set for itself."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}


def lumos_studio(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(STUDIO), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=60, env=clean_env())


def new_project(cwd: Path, name: str, template: str, *extra: str) -> str:
    """Runs ``lumos-studio new NAME --template T --yes``; the command it printed last."""
    made = lumos_studio("new", name, "--template", template, "--yes", *extra, cwd=cwd)
    assert made.returncode == 0, made.stderr
    return made.stdout.strip().splitlines()[-1]
