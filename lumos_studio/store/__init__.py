"""Persistence: one writer thread into SQLite, read-only queries for everyone else.

The reader and the writer are imported when first asked for (module ``__getattr__``): a command
that only names ``DEFAULT_DB`` or ``StoreError`` (``lumos-studio --help``) does not load the
queries, the codecs and the schema.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from lumos_core._lazy import load_export
from lumos_studio.store.connection import StoreError, StoreUnusable

if TYPE_CHECKING:
    from lumos_studio.store.queries import StoreReader, TracePage, TraceQuery, TraceSummary
    from lumos_studio.store.writer import StoreChange, StoreWriter

_EXPORTS: dict[str, str] = {
    "StoreReader": "lumos_studio.store.queries",
    "TracePage": "lumos_studio.store.queries",
    "TraceQuery": "lumos_studio.store.queries",
    "TraceSummary": "lumos_studio.store.queries",
    "StoreChange": "lumos_studio.store.writer",
    "StoreWriter": "lumos_studio.store.writer",
}

__all__ = [
    "DEFAULT_DB",
    "Store",
    "StoreChange",
    "StoreError",
    "StoreReader",
    "StoreUnusable",
    "StoreWriter",
    "TracePage",
    "TraceQuery",
    "TraceSummary",
]

DEFAULT_DB = Path(".lumos") / "studio.db"


class Store:
    """A store file with its writer (started) and a reader: what the CLI and the app hold."""

    def __init__(self, path: Path) -> None:
        """Raises ``StoreError`` (one sentence) if ``path`` is not a store this studio can use."""
        from lumos_studio.store.queries import StoreReader
        from lumos_studio.store.schema import check_store
        from lumos_studio.store.storage_error import storage_problem
        from lumos_studio.store.writer import StoreWriter

        self.path = path
        if path.exists():
            check_store(path)  # before the writer's connection changes anything in the file
        try:
            self.writer = StoreWriter(path).start()
        except sqlite3.Error as exc:
            problem = storage_problem(exc, path)
            if problem is not None:  # the disk or the file's permissions, not its content
                raise StoreError(f"cannot open the store: {problem.message}") from exc
            # Damage deeper in the file than ``check_store`` looks.
            raise StoreUnusable(f"{path} is not a usable Lumos Studio store ({exc})") from exc
        self.reader = StoreReader(path)

    def close(self) -> None:
        self.writer.close()
        self.reader.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def __getattr__(name: str) -> object:
    return load_export(globals(), _EXPORTS, name)
