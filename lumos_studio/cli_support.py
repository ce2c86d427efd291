"""What every ``lumos-studio`` command shares: its consoles, a clean failure, opening the store."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

from rich.console import Console
from rich.text import Text

from lumos_studio.store import Store, StoreError, StoreReader, StoreUnusable

# Piped output (scripts, CI logs) is not squeezed to 80 columns.
out = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(message: str, hint: str | None = None, code: int = 1) -> NoReturn:
    """Print a one-line error (and what to do) instead of a traceback, then exit."""
    # Text, not markup: a message names files and ids, and "[/]" in a name is not a tag.
    err.print(Text.assemble(("error:", "bold red"), " ", message))
    if hint:
        err.print(Text(hint, style="dim"))
    sys.exit(code)


# The exit code when the --db file is not a store this studio can use (damaged, foreign, newer).
STORE_UNUSABLE = 2
_OTHER_DB = "pass another file with --db PATH"


def store_failure(exc: StoreError, hint: bool = True) -> NoReturn:
    """One line for a store that cannot be used; exit 2 when the file itself is the problem
    (``StoreUnusable``), 1 when it is missing or unreadable for now."""
    message = str(exc)
    if hint and "--db" not in message:
        message += f"; {_OTHER_DB}"
    fail(message, code=STORE_UNUSABLE if isinstance(exc, StoreUnusable) else 1)


def open_store(db: Path) -> Store:
    try:
        return Store(db)
    except StoreError as exc:
        store_failure(exc)


def open_reader(db: Path) -> StoreReader:
    try:
        return StoreReader(db)
    except StoreError as exc:
        store_failure(exc)
