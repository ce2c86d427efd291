"""Persistence: one writer thread into SQLite, read-only queries for everyone else.

The reader and the writer are imported when first asked for (module ``__getattr__``): a command
that only names ``DEFAULT_DB`` or ``StoreError`` (``lumos-studio --help``) does not load the
queries, the codecs and the schema.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from lumos_core._lazy import load_export
from lumos_studio.store.connection import StoreError, StoreUnusable
from lumos_studio.store.postgres.connect import PostgresUrl, is_postgres_url, parse_url

if TYPE_CHECKING:
    from lumos_studio.store.queries import StoreReader
    from lumos_studio.store.trace_page import TracePage, TraceQuery, TraceSummary
    from lumos_studio.store.writer import StoreWriter
    from lumos_studio.store.writer_transactions import StoreChange

_EXPORTS: dict[str, str] = {
    "StoreReader": "lumos_studio.store.queries",
    "TracePage": "lumos_studio.store.trace_page",
    "TraceQuery": "lumos_studio.store.trace_page",
    "TraceSummary": "lumos_studio.store.trace_page",
    "StoreChange": "lumos_studio.store.writer_transactions",
    "StoreWriter": "lumos_studio.store.writer",
}

__all__ = [
    "DEFAULT_DB",
    "PostgresUrl",
    "Store",
    "StoreChange",
    "StoreError",
    "StoreReader",
    "StoreTarget",
    "StoreUnusable",
    "StoreWriter",
    "TracePage",
    "TraceQuery",
    "TraceSummary",
    "is_postgres_url",
    "local_path",
    "parse_target",
]

DEFAULT_DB = Path(".lumos") / "studio.db"

# Where a store is: a SQLite file, or a PostgreSQL database (``store.postgres``).
StoreTarget = Path | PostgresUrl


# A URL's scheme (RFC 3986) before "://"; two letters at least, so that a Windows drive
# ("C://data/studio.db") is still read as a path.
_URL_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]+)://")
_TARGETS = "give a SQLite file path or a postgresql:// URL"


def parse_target(text: str | Path) -> StoreTarget:
    """``--db`` read: a ``postgresql://`` URL or a file; ``StoreError`` for an empty value, a
    URL of another scheme (``mysql://x`` is not a file name) or a PostgreSQL URL it cannot read."""
    if isinstance(text, Path):
        return text
    if not text:
        raise StoreError(f"--db is empty: {_TARGETS}")
    if is_postgres_url(text):
        return parse_url(text)
    if scheme := _URL_SCHEME.match(text):
        raise StoreError(f"unsupported --db URL scheme {scheme[1]!r}: {_TARGETS}")
    return Path(text)


def local_path(target: StoreTarget) -> Path:
    """The file the studio keeps its own things beside (layout, workflow runs, forwarding
    queues): the SQLite store itself, or a name under ``.lumos/`` for a PostgreSQL one."""
    return target.local_path if isinstance(target, PostgresUrl) else target


class Store:
    """A store file with its writer (started) and a reader: what the CLI and the app hold."""

    def __init__(self, path: Path) -> None:
        """Raises ``StoreError`` (one sentence) if ``path`` is not a store this studio can use."""
        from lumos_studio.store.queries import StoreReader
        from lumos_studio.store.schema import check_store
        from lumos_studio.store.storage_error import storage_problem
        from lumos_studio.store.writer import StoreWriter

        self.path = path
        self.target: StoreTarget = path
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

    @classmethod
    def open(cls, target: StoreTarget) -> Store:
        """The store at ``target``, SQLite or PostgreSQL; ``StoreError`` (one sentence) if it
        cannot be opened: a bad URL, a server that does not answer, a database not ours."""
        if not isinstance(target, PostgresUrl):
            return cls(target)
        from lumos_studio.store.postgres.reader import PostgresReader
        from lumos_studio.store.postgres.writer import PostgresWriter

        store = cls.__new__(cls)
        store.target, store.path = target, target.local_path
        store.writer = PostgresWriter(target).start()
        try:
            store.reader = PostgresReader(target)
        except BaseException:
            store.writer.close()
            raise
        return store

    @property
    def label(self) -> str:
        """The store as a person names it: the file, or the database's URL (no password)."""
        return str(self.target)

    def close(self) -> None:
        self.writer.close()
        self.reader.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def __getattr__(name: str) -> object:
    return load_export(globals(), _EXPORTS, name)
