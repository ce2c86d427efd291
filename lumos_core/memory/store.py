"""The SQLite tables behind ``Memory``: threads, their messages (with vectors), working memory.

Plain SQL, no tracing (``Memory`` traces); the connection, WAL, busy timeout and schema version
are ``lumos_core._sqlite``'s, shared with the workflow snapshots.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import orjson

from lumos_core._sqlite import SQLiteStore
from lumos_core.memory.codec import message_from_dict, message_to_dict
from lumos_core.messages import Message

DEFAULT_PATH: Final = Path(".lumos") / "memory.db"
SCHEMA_VERSION: Final = 1

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS threads (
    id TEXT PRIMARY KEY,
    resource_id TEXT NOT NULL,
    created_ns INTEGER NOT NULL,
    updated_ns INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS threads_by_resource ON threads (resource_id, updated_ns);
CREATE TABLE IF NOT EXISTS messages (
    id TEXT PRIMARY KEY,
    thread_id TEXT NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    resource_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    role TEXT NOT NULL,
    body TEXT NOT NULL,
    created_ns INTEGER NOT NULL,
    embedding BLOB,
    UNIQUE (thread_id, seq)
);
CREATE INDEX IF NOT EXISTS messages_by_resource ON messages (resource_id);
CREATE TABLE IF NOT EXISTS working_memory (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    format TEXT NOT NULL,
    updated_ns INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
);
"""


class MemoryStoreError(Exception):
    """The memory file cannot be used, or a request contradicts what it holds."""


@dataclass(frozen=True, slots=True)
class Thread:
    """A conversation: its id and the resource (user) it belongs to."""

    id: str
    resource_id: str
    created_ns: int
    updated_ns: int


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """A message as stored in a thread: its id, its position (``seq``) and when it was saved."""

    id: str
    thread_id: str
    seq: int
    message: Message
    created_ns: int

    def to_dict(self) -> dict[str, Any]:
        """The shape memory events carry (no thread id: the event body has it once)."""
        return {
            "id": self.id,
            "seq": self.seq,
            "created_ns": self.created_ns,
            "message": message_to_dict(self.message),
        }


class MemoryDB(SQLiteStore):
    """Threads, messages and working memory in one SQLite file (or ``":memory:"``)."""

    default_path = DEFAULT_PATH
    schema = _SCHEMA
    schema_version = SCHEMA_VERSION
    error_type = MemoryStoreError
    purpose = "a memory store"
    foreign_keys = True

    # Threads

    def thread(self, thread_id: str) -> Thread | None:
        with self._read() as conn:
            row = conn.execute("SELECT * FROM threads WHERE id = ?", (thread_id,)).fetchone()
        return _thread(row) if row else None

    def threads(self, resource_id: str | None = None) -> list[Thread]:
        """Threads, most recently updated first (of one resource, or all)."""
        sql = "SELECT * FROM threads"
        args: tuple[str, ...] = ()
        if resource_id is not None:
            sql += " WHERE resource_id = ?"
            args = (resource_id,)
        with self._read() as conn:
            rows = conn.execute(sql + " ORDER BY updated_ns DESC, id", args).fetchall()
        return [_thread(r) for r in rows]

    def delete_thread(self, thread_id: str) -> Thread | None:
        with self._write() as conn:
            row = conn.execute("SELECT * FROM threads WHERE id = ?", (thread_id,)).fetchone()
            conn.execute("DELETE FROM messages WHERE thread_id = ?", (thread_id,))
            conn.execute("DELETE FROM threads WHERE id = ?", (thread_id,))
            conn.execute(
                "DELETE FROM working_memory WHERE scope = 'thread' AND key = ?", (thread_id,)
            )
        return _thread(row) if row else None

    # Messages

    def save(
        self,
        thread_id: str,
        resource_id: str,
        messages: Sequence[Message | StoredMessage],
        vectors: Sequence[bytes | None],
    ) -> list[StoredMessage]:
        """Append new ``Message``s, or replace ``StoredMessage``s with the same id, in one write."""
        now = time.time_ns()
        saved: list[StoredMessage] = []
        with self._write() as conn:
            self._ensure_thread(conn, thread_id, resource_id, now)
            row = conn.execute(
                "SELECT COALESCE(MAX(seq), -1) FROM messages WHERE thread_id = ?", (thread_id,)
            ).fetchone()
            next_seq = row[0] + 1
            for item, vector in zip(messages, vectors, strict=True):
                if isinstance(item, StoredMessage):
                    stored = StoredMessage(
                        item.id, thread_id, item.seq, item.message, item.created_ns
                    )
                else:
                    stored = StoredMessage(uuid.uuid4().hex, thread_id, next_seq, item, now)
                    next_seq += 1
                conn.execute(
                    "INSERT OR REPLACE INTO messages (id, thread_id, resource_id, seq, role, body,"
                    " created_ns, embedding) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        stored.id, thread_id, resource_id, stored.seq, stored.message.role,
                        orjson.dumps(message_to_dict(stored.message)).decode(),
                        stored.created_ns, vector,
                    ),
                )
                saved.append(stored)
        return saved

    def _ensure_thread(
        self, conn: sqlite3.Connection, thread_id: str, resource_id: str, now: int
    ) -> None:
        row = conn.execute("SELECT resource_id FROM threads WHERE id = ?", (thread_id,)).fetchone()
        if row is None:
            conn.execute(
                "INSERT INTO threads (id, resource_id, created_ns, updated_ns) VALUES (?, ?, ?, ?)",
                (thread_id, resource_id, now, now),
            )
        elif row[0] != resource_id:
            raise MemoryStoreError(
                f"thread {thread_id!r} belongs to resource {row[0]!r}, not {resource_id!r}; "
                "use another thread id or the thread's own resource id"
            )
        else:
            conn.execute("UPDATE threads SET updated_ns = ? WHERE id = ?", (now, thread_id))

    def last_messages(self, thread_id: str, limit: int | None) -> list[StoredMessage]:
        """The thread's last ``limit`` messages (all when ``None``), oldest first."""
        with self._read() as conn:
            if limit is None:
                rows = conn.execute(
                    "SELECT * FROM messages WHERE thread_id = ? ORDER BY seq", (thread_id,)
                ).fetchall()
            else:
                rows = conn.execute(
                    "SELECT * FROM messages WHERE thread_id = ? ORDER BY seq DESC LIMIT ?",
                    (thread_id, limit),
                ).fetchall()[::-1]
        return [_message(r) for r in rows]

    def messages_between(self, thread_id: str, first: int, last: int) -> list[StoredMessage]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT * FROM messages WHERE thread_id = ? AND seq BETWEEN ? AND ? ORDER BY seq",
                (thread_id, first, last),
            ).fetchall()
        return [_message(r) for r in rows]

    def messages_by_id(self, ids: Sequence[str]) -> dict[str, StoredMessage]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        with self._read() as conn:
            rows = conn.execute(f"SELECT * FROM messages WHERE id IN ({marks})", ids).fetchall()
        return {r["id"]: _message(r) for r in rows}

    def vectors(
        self, resource_id: str, thread_id: str | None = None
    ) -> list[tuple[str, bytes]]:
        """``(message id, vector blob)`` of a resource's embedded messages (or one thread's)."""
        sql = "SELECT id, embedding FROM messages WHERE embedding IS NOT NULL AND resource_id = ?"
        args: tuple[str, ...] = (resource_id,)
        if thread_id is not None:
            sql += " AND thread_id = ?"
            args += (thread_id,)
        with self._read() as conn:
            return [(r[0], r[1]) for r in conn.execute(sql, args)]

    def all_messages(self) -> list[tuple[Thread, list[StoredMessage]]]:
        """Every thread with its messages, for snapshots."""
        threads: dict[str, tuple[Thread, list[StoredMessage]]] = {
            t.id: (t, []) for t in self.threads()
        }
        with self._read() as conn:
            for row in conn.execute("SELECT * FROM messages ORDER BY thread_id, seq"):
                threads[row["thread_id"]][1].append(_message(row))
        return list(threads.values())

    # Working memory

    def working_memory(self, scope: str, key: str) -> str | None:
        with self._read() as conn:
            row = conn.execute(
                "SELECT value FROM working_memory WHERE scope = ? AND key = ?", (scope, key)
            ).fetchone()
        return row[0] if row else None

    def set_working_memory(self, scope: str, key: str, value: str, fmt: str) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO working_memory (scope, key, value, format, updated_ns)"
                " VALUES (?, ?, ?, ?, ?)",
                (scope, key, value, fmt, time.time_ns()),
            )

    def delete_working_memory(self, scope: str, key: str) -> bool:
        with self._write() as conn:
            cursor = conn.execute(
                "DELETE FROM working_memory WHERE scope = ? AND key = ?", (scope, key)
            )
        return cursor.rowcount > 0

    def all_working_memory(self) -> dict[tuple[str, str], str]:
        with self._read() as conn:
            rows = conn.execute("SELECT scope, key, value FROM working_memory").fetchall()
        return {(r[0], r[1]): r[2] for r in rows}


def _thread(row: sqlite3.Row) -> Thread:
    return Thread(row["id"], row["resource_id"], row["created_ns"], row["updated_ns"])


def _message(row: sqlite3.Row) -> StoredMessage:
    return StoredMessage(
        row["id"], row["thread_id"], row["seq"], message_from_dict(orjson.loads(row["body"])),
        row["created_ns"],
    )
