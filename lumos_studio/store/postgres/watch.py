"""Tells a studio without a writer (``--read-only``) when other processes wrote a PostgreSQL store.

The database's own statistics count every row inserted, updated or deleted in it; a Lumos writer
publishes its counts within a second (``postgres.others``), another client's connection
within ten. One small query a second, on a connection of its own, is then enough to know that a
``serve`` somewhere stored something.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lumos_studio.store.connection import StoreError
from lumos_studio.store.postgres.connect import PostgresUrl, connect

if TYPE_CHECKING:
    import psycopg

_WRITES_SQL = (
    "SELECT coalesce(tup_inserted + tup_updated + tup_deleted, 0) FROM pg_stat_database "
    "WHERE datname = current_database()"
)


class PostgresWatch:
    """``changed()``: whether rows were written since the last call (False while unreachable)."""

    def __init__(self, target: PostgresUrl) -> None:
        self._target = target
        self._connection: psycopg.Connection[Any] | None = None
        self._seen = self._writes()

    def _writes(self) -> int | None:
        try:
            if self._connection is None or self._connection.closed:
                self._connection = connect(self._target, autocommit=True)
            row = self._connection.execute(_WRITES_SQL).fetchone()
        except StoreError:
            return None
        except Exception:  # the server went away: try again on the next call
            self.close()
            return None
        return int(row[0]) if row else None

    def changed(self) -> bool:
        writes = self._writes()
        if writes is None or writes == self._seen:
            return False
        self._seen = writes
        return True

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
