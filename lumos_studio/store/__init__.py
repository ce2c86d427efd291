"""Persistence: one writer thread into SQLite, read-only queries for everyone else."""

from __future__ import annotations

from pathlib import Path

from lumos_studio.store.connection import StoreError
from lumos_studio.store.queries import StoreReader, TracePage, TraceQuery, TraceSummary
from lumos_studio.store.writer import StoreChange, StoreWriter

__all__ = [
    "DEFAULT_DB",
    "Store",
    "StoreChange",
    "StoreError",
    "StoreReader",
    "StoreWriter",
    "TracePage",
    "TraceQuery",
    "TraceSummary",
]

DEFAULT_DB = Path(".lumos") / "studio.db"


class Store:
    """A store file with its writer (started) and a reader: what the CLI and the app hold."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.writer = StoreWriter(path).start()
        self.reader = StoreReader(path)

    def close(self) -> None:
        self.writer.close()
        self.reader.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
