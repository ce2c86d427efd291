"""Opening SQLite the way every part of the studio needs it: WAL, a busy timeout, tuned pragmas."""

from __future__ import annotations

import os
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


def reader_uri(path: Path, *, immutable: bool = False) -> str:
    """A read-only URI for ``path`` (quoted: a name may hold ``?`` or ``#``); ``immutable``
    reads it without the WAL's index file and locks (``connect_read_only`` says when)."""
    uri = f"{path.resolve().as_uri()}?mode=ro"
    return f"{uri}&immutable=1" if immutable else uri


# What SQLite answers a reader of a WAL store whose index file (``-shm``) it cannot make beside
# it: in a directory this user cannot write, or on a read-only filesystem.
_NO_INDEX = frozenset({sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY_DIRECTORY})


def connect_read_only(path: Path, *, check_same_thread: bool = True) -> sqlite3.Connection:
    """A read-only connection to the store at ``path``, also where no file can be made beside it.

    A WAL store is read through its ``-shm`` index, which the first reader creates: in a
    read-only directory it cannot, and every read fails. Such a store is opened ``immutable``
    instead (no index, no locks). That is safe: a connection using the WAL keeps the ``-shm``
    while open, so none has this store open now, and none of this user's can start writing it
    there (another user's writer could: the read may then fail, it never changes the file).
    Pages still waiting in the ``-wal`` (a store copied while written) would be skipped: that
    store is refused, with what to do.
    """
    connection = sqlite3.connect(reader_uri(path), uri=True, check_same_thread=check_same_thread)
    try:
        connection.execute("PRAGMA schema_version").fetchall()
        return connection
    except sqlite3.Error as exc:  # not a database, damaged, locked: for the caller to say
        if exc.sqlite_errorcode not in _NO_INDEX or os.access(path.parent, os.W_OK):
            return connection  # its first read meets the same error
    connection.close()
    if wal_holds_pages(path):
        raise StoreError(
            f"cannot read the store {path}: its directory is read-only, and SQLite reads the "
            f"pages waiting in {path.name}-wal only through a {path.name}-shm made beside it; "
            "copy both files to a writable directory and pass the copy with --db"
        )
    return sqlite3.connect(reader_uri(path, immutable=True), uri=True,
                           check_same_thread=check_same_thread)


def wal_holds_pages(path: Path) -> bool:
    """Whether committed pages may wait in the store's WAL, past the database file's end."""
    try:
        return os.stat(f"{path}-wal").st_size > 0
    except OSError:
        return False


def open_reader_connection(path: Path, *, plain_rows: bool = False) -> sqlite3.Connection:
    """A read-only connection; readers never block the writer under WAL. Its rows are
    ``sqlite3.Row``s, or plain tuples with ``plain_rows`` (cheaper, for readers that unpack
    many rows by position)."""
    try:
        connection = connect_read_only(path, check_same_thread=False)
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
        connection = connect_read_only(path)
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
