"""The SQLite schema, created and migrated with sqlite-utils, versioned by ``PRAGMA user_version``.

Hot columns (ids, times, status, the GenAI fields panes filter on) are real columns; everything else
about a span is in its stored form (``records_codec``: the span as compressed OTLP protobuf),
written once and decoded only when a span is opened.

Here: the check of a store file before anything opens it for writing, and ``ensure_schema``,
which runs the migrations a store lacks (each version's, ``store.schema_migrations``), or makes
a new store at the current version at once (``store.schema_snapshot``).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from lumos_studio.records_codec import LOG_COLUMNS, SPAN_COLUMNS
from lumos_studio.store.connection import (
    StoreError,
    StoreUnusable,
    connect_read_only,
    wal_holds_pages,
)
from lumos_studio.store.schema_migrations import MIGRATIONS
from lumos_studio.store.schema_snapshot import create_current

SCHEMA_VERSION = 16

__all__ = [
    "LOG_COLUMNS", "SCHEMA_VERSION", "SPAN_COLUMNS", "check_store", "ensure_schema", "migrate",
]


def check_store(path: Path, *, current: bool = False) -> int:
    """The schema version of the store at ``path`` (0: a new, empty file), read without
    changing the file; ``StoreError`` saying why if it is not a store this studio can use.

    Refused before anything writes to it: a file that is not SQLite, a damaged or truncated
    one, another application's database (migrating it would add our tables to it), a store of a
    newer studio; with ``current`` (readers, which cannot migrate) an older store too.
    """
    try:
        size = os.stat(path).st_size
    except OSError as exc:
        raise StoreError(f"cannot open the store {path}: {exc.strerror or exc}") from exc
    if not size:
        if current:  # an empty file is an empty database: a reader finds no tables in it
            raise StoreError(f"{path} holds no runs yet; record a run first")
        return 0
    try:
        connection = connect_read_only(path)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open the store {path}: {exc}") from exc
    try:
        version: int = connection.execute("PRAGMA user_version").fetchone()[0]
        tables = {row[0] for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        pages = connection.execute("PRAGMA page_count").fetchone()[0]
        page_size = connection.execute("PRAGMA page_size").fetchone()[0]
    except sqlite3.OperationalError as exc:  # locked, unreadable: not the file's fault
        raise StoreError(f"cannot read the store {path}: {exc}") from exc
    except sqlite3.Error as exc:  # not a database, or a damaged one
        raise StoreUnusable(f"{path} is not a Lumos Studio store ({exc})") from exc
    finally:
        connection.close()
    if not wal_holds_pages(path) and pages * page_size > size:
        raise StoreUnusable(
            f"{path} is not a Lumos Studio store (the file is truncated: {size:,} of "
            f"{pages * page_size:,} bytes)"
        )
    _check_version(path, version, tables, current)
    return version


def _check_version(path: Path | str, version: int, tables: set[str], current: bool) -> None:
    if version > SCHEMA_VERSION:
        raise StoreUnusable(
            f"{path} was written by a newer Lumos Studio (schema {version} > "
            f"{SCHEMA_VERSION}); upgrade lumos-studio to open it"
        )
    if (version == 0 and tables) or (version > 0 and "spans" not in tables):
        listed = ", ".join(sorted(tables)[:5]) or "none"
        raise StoreUnusable(
            f"{path} is not a Lumos Studio store (an SQLite database of another "
            f"application; its tables: {listed})"
        )
    if current and version < SCHEMA_VERSION:
        if version == 0:
            raise StoreError(f"{path} holds no runs yet; record a run first")
        raise StoreUnusable(
            f"{path} was written by an older Lumos Studio (schema {version} < "
            f"{SCHEMA_VERSION}); open it once with lumos-studio (the studio or import) to "
            "upgrade it"
        )


def ensure_schema(connection: sqlite3.Connection) -> None:
    """Bring the database up to ``SCHEMA_VERSION``; refuse one written by a newer studio or
    another application (``check_store`` tells so before the file is opened for writing)."""
    connection.execute("PRAGMA recursive_triggers = on")  # as sqlite_utils.Database sets it
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    tables = {row[0] for row in connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'")}
    _check_version("this store", version, tables, current=False)
    if version >= len(MIGRATIONS):
        return  # a current store: sqlite_utils (~50 ms to import) is left unloaded
    if version == 0 and not tables:  # a new store: made as the migrations would leave it
        made = create_current(connection, len(MIGRATIONS))
        if made is None:  # by another process, since the look above: look again
            ensure_schema(connection)
        if made is not False:
            return
    migrate(connection, version)


def migrate(connection: sqlite3.Connection, version: int) -> None:
    """Run the migrations after ``version``, each in its transaction with its version."""
    import sqlite_utils

    db = sqlite_utils.Database(connection)
    for target, migration in enumerate(MIGRATIONS[version:], start=version + 1):
        with connection:
            if not connection.in_transaction:
                connection.execute("BEGIN IMMEDIATE")  # a migration and its version land together
            migration(db)
            connection.execute(f"PRAGMA user_version = {target}")
