"""What every ``lumos-studio`` command shares: its consoles, a clean failure, opening the store."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

from rich.console import Console

from lumos_studio.store import Store, StoreError, StoreReader

# Piped output (scripts, CI logs) is not squeezed to 80 columns.
out = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(message: str, hint: str | None = None, code: int = 1) -> NoReturn:
    """Print a one-line error (and what to do) instead of a traceback, then exit."""
    err.print(f"[bold red]error:[/] {message}")
    if hint:
        err.print(f"[dim]{hint}[/]")
    sys.exit(code)


def open_store(db: Path) -> Store:
    try:
        return Store(db)
    except (StoreError, RuntimeError) as exc:
        fail(str(exc), "pass another file with --db PATH")


def open_reader(db: Path) -> StoreReader:
    try:
        return StoreReader(db)
    except StoreError as exc:
        fail(str(exc))
