"""Opening SQLite the way every part of the studio needs it: WAL, a busy timeout, tuned pragmas."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lumos_studio import span_compression

# sqlite3 binds str, int and float as they are, but looks every None and bytes parameter up in
# its adapter registry first: a tuple, a dict miss and two attribute lookups each, under the GIL.
# A span row binds ~5 Nones and its ~3 KB of bytes; registering the identity for both (C
# callables: an empty dict's ``get`` answers None) cut binding a row from ~7.7 to ~5.6 µs.
_IDENTITY_ADAPTERS: tuple[tuple[type[Any], Callable[[Any], Any]], ...] = (
    (type(None), {}.get),
    (bytes, bytes),
)


def _bind_without_adapting() -> None:
    """Register the identity adapters, leaving any the process registered itself."""
    for kind, identity in _IDENTITY_ADAPTERS:
        if (kind, sqlite3.PrepareProtocol) not in sqlite3.adapters:
            sqlite3.register_adapter(kind, identity)


_bind_without_adapting()


# How long the writer waits for the write lock: only the checkpointer's log restart (or another
# studio writing the same file) holds it, and a transaction that gives up loses its records.
WRITER_BUSY_TIMEOUT_MS = 30_000


class StoreError(Exception):
    """The store cannot be opened or used; the message says which file and why."""


class StoreUnusable(StoreError):
    """The file is not a store this studio can use: not SQLite, damaged, another application's
    database, or a store of another schema version. Another file is needed, not a retry."""


def open_writer_connection(path: Path) -> sqlite3.Connection:
    """The single read-write connection, used only by the writer thread after set-up."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute(f"PRAGMA busy_timeout={WRITER_BUSY_TIMEOUT_MS}")
        know_dictionaries(path)
        return connection
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(f"cannot open the store {path}: {exc}") from exc


def reader_uri(path: Path) -> str:
    """A read-only URI for ``path`` (quoted: a name may hold ``?`` or ``#``)."""
    return f"{path.resolve().as_uri()}?mode=ro"


def open_reader_connection(path: Path, *, plain_rows: bool = False) -> sqlite3.Connection:
    """A read-only connection; readers never block the writer under WAL. Its rows are
    ``sqlite3.Row``s, or plain tuples with ``plain_rows`` (cheaper, for readers that unpack
    many rows by position)."""
    try:
        connection = sqlite3.connect(reader_uri(path), uri=True, check_same_thread=False)
        connection.execute("PRAGMA busy_timeout=5000")
        connection.row_factory = None if plain_rows else sqlite3.Row
        know_dictionaries(path)
        return connection
    except sqlite3.Error as exc:
        raise StoreError(f"cannot read the store {path}: {exc}") from exc


def know_dictionaries(path: Path) -> None:
    """Let ``span_compression`` read this store's dictionaries when a span needs one."""
    key = str(path.resolve())

    def read() -> list[tuple[int, bytes]]:
        connection = sqlite3.connect(reader_uri(path), uri=True)
        try:
            rows: list[tuple[int, bytes]] = connection.execute(
                "SELECT id, dict FROM span_dicts").fetchall()
            return rows
        finally:
            connection.close()

    span_compression.add_source(key, read)


# A span row is ~3 KB: with SQLite's default 4 KiB pages each takes a page of its own and costs
# ~40 µs to write; 64 KiB pages hold ~20 rows, and bulk ingest costs about half the CPU in 25 %
# less file (bench/ingest.py). A small live commit writes a few 64 KiB pages (~1 ms), which the
# writer's batching keeps rare.
PAGE_SIZE = 65_536


def use_large_pages(connection: sqlite3.Connection) -> None:
    """Give a new, empty store ``PAGE_SIZE`` pages, and incremental auto-vacuum (the pages
    compression frees go back to the disk: ``compaction``); a store with tables keeps its own."""
    if connection.execute("PRAGMA page_size").fetchone()[0] == PAGE_SIZE:
        return
    if connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
        return
    # WAL mode fixes the page size once the header is written; leave it for a moment.
    connection.execute("PRAGMA journal_mode=DELETE")
    connection.execute(f"PRAGMA page_size={PAGE_SIZE}")
    connection.execute("PRAGMA auto_vacuum=INCREMENTAL")
    connection.execute("VACUUM")
    connection.execute("PRAGMA journal_mode=WAL")
