"""A store that cannot take writes, named: its disk is full, or it is read-only.

The writer keeps the last such failure (``StoreWriter.storage_error``) until a write succeeds, so
the OTLP receiver's answer, ``serve``'s status line, the studio's header and a command's error
say what is wrong and what to do, instead of "retry later" for ever or a traceback.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = ["StorageProblem", "storage_problem"]

# SQLite's primary result codes; extended codes (SQLITE_READONLY_DBMOVED, ...) keep them in the
# low byte.
_SQLITE_READONLY = 8
_SQLITE_FULL = 13


@dataclass(frozen=True, slots=True)
class StorageProblem:
    """Why the store refused a write: ``full`` (SQLITE_FULL) or ``read-only`` (SQLITE_READONLY)."""

    kind: Literal["full", "read-only"]
    path: Path
    detail: str  # SQLite's own words

    @property
    def short(self) -> str:
        """A few words for a header or a status line."""
        return "the disk is full" if self.kind == "full" else "the store is read-only"

    @property
    def what(self) -> str:
        """What is wrong, naming the store, in SQLite's words too."""
        if self.kind == "full":
            return f"the disk is full: the store {self.path} cannot grow ({self.detail})"
        return f"the store is read-only: {self.path} cannot be written ({self.detail})"

    @property
    def remedy(self) -> str:
        """What to do about it."""
        if self.kind == "full":
            return "free space on its disk"
        return ("make the file and its directory writable (check their permissions and "
                "attributes: ls -l, lsattr), or pass another --db")

    @property
    def message(self) -> str:
        """One sentence: what is wrong and what to do (for a receiver that goes on: the
        records that come once the disk has room are stored)."""
        then = ", then records are stored again" if self.kind == "full" else ""
        return f"{self.what}; {self.remedy}{then}"


def storage_problem(exc: BaseException, path: Path) -> StorageProblem | None:
    """The problem ``exc`` names, if it is a full disk or a read-only store; else None."""
    if not isinstance(exc, sqlite3.Error):
        return None
    code = getattr(exc, "sqlite_errorcode", None)
    if not isinstance(code, int):
        return None
    primary = code & 0xFF
    if primary == _SQLITE_FULL:
        return StorageProblem("full", path, str(exc))
    if primary == _SQLITE_READONLY:
        return StorageProblem("read-only", path, str(exc))
    return None
