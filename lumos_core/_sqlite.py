"""What the core's SQLite stores share: one connection per store, opened on first use and shared
by threads under a lock, WAL and a busy timeout so two processes (a studio worker and a script) can
use the same file, and the schema versioned by ``PRAGMA user_version``.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar


class SQLiteStore:
    """A store in one SQLite file (``default_path`` unless given one) or ``":memory:"``.

    Subclasses name their file, schema and error; ``_read`` and ``_write`` hand out the connection
    (a write is one ``BEGIN IMMEDIATE`` transaction, rolled back on any exception).
    """

    default_path: ClassVar[Path]
    #: ``CREATE ... IF NOT EXISTS`` statements, run on every open.
    schema: ClassVar[str]
    schema_version: ClassVar[int]
    #: Raised when the file cannot be used.
    error_type: ClassVar[type[Exception]]
    #: What the file is, for error messages ("a memory store").
    purpose: ClassVar[str]
    foreign_keys: ClassVar[bool] = False

    def __init__(self, path: str | Path | None = None) -> None:
        self._requested = path
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.RLock()
        self._resolved: str | None = None

    @property
    def path(self) -> str:
        """The file in use; the default is resolved against the directory of first use."""
        if self._resolved is not None:
            return self._resolved
        return str(self._requested if self._requested is not None else self.default_path)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            yield self._connection()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _connection(self) -> sqlite3.Connection:
        if self._conn is not None:
            return self._conn
        if self._requested is not None and str(self._requested) == ":memory:":
            self._resolved = ":memory:"
        else:
            target = Path(self._requested) if self._requested is not None else self.default_path
            target = target.resolve()
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise self.error_type(f"cannot create {target.parent}: {exc}") from exc
            self._resolved = str(target)
        try:
            conn = sqlite3.connect(self._resolved, check_same_thread=False, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout = 5000")
            if self._resolved != ":memory:":
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
            if self.foreign_keys:
                conn.execute("PRAGMA foreign_keys = ON")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > self.schema_version:
                raise self.error_type(
                    f"{self._resolved} was written by a newer lumos_core (schema {version}); "
                    "upgrade lumos_core or use another file"
                )
            conn.executescript(self.schema)
            conn.execute(f"PRAGMA user_version = {self.schema_version}")
        except sqlite3.DatabaseError as exc:
            raise self.error_type(f"cannot use {self._resolved} as {self.purpose}: {exc}") from exc
        self._conn = conn
        return conn
