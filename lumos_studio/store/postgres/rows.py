"""PostgreSQL connections that the SQLite reader's SQL runs on: ``?`` parameters and rows that
read like ``sqlite3.Row`` (by index, by name, unpacked, ``dict(row)``).

Most of ``store.queries`` is plain SQL both engines read alike; through this adapter the
PostgreSQL reader runs it as it is, and overrides only what SQLite alone says (FTS5, temporary
tables, ``CROSS JOIN … ON``). The contract tests run every reader method on both engines.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence
from typing import Any, ClassVar

from lumos_studio.store.postgres.connect import PostgresUrl, connect


class Row(tuple[Any, ...]):
    """A row by position or by column name, as ``sqlite3.Row`` is read."""

    __slots__ = ()
    _index: ClassVar[dict[str, int]] = {}

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._index)


@functools.cache
def _row_class(names: tuple[str, ...]) -> type[Row]:
    return type("Row", (Row,), {"__slots__": (), "_index": {n: i for i, n in enumerate(names)}})


def _row_factory(cursor: Any) -> Any:
    names = tuple(column.name for column in cursor.description or ())
    make = _row_class(names)
    return make


@functools.lru_cache(maxsize=512)
def postgres_sql(sql: str) -> str:
    """``?`` placeholders as psycopg's ``%s`` (a literal ``%`` doubled first)."""
    return sql.replace("%", "%%").replace("?", "%s")


def _load_numeric_as_number(connection: Any) -> None:
    """``sum()`` of bigints is ``numeric`` in PostgreSQL, an int in SQLite: read it as one (a
    fraction as a float), not as a ``Decimal`` the callers cannot mix with floats."""
    from psycopg.adapt import Loader

    class NumericLoader(Loader):
        def load(self, data: Any) -> int | float:
            text = bytes(data).decode()
            return float(text) if "." in text or "e" in text.lower() else int(text)

    connection.adapters.register_loader("numeric", NumericLoader)


class QmarkConnection:
    """A psycopg connection (autocommit) with ``execute(sql, params)`` as sqlite3 has it."""

    def __init__(self, target: PostgresUrl) -> None:
        self.raw = connect(target, autocommit=True, row_factory=_row_factory)
        # The list's queries are short: compiling one (JIT, past a cost PostgreSQL guesses
        # high for a LIMITed scan) took longer than running it.
        self.raw.execute("SET jit = off")
        _load_numeric_as_number(self.raw)
        self.in_transaction = False

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.raw.execute(postgres_sql(sql), list(params))

    def close(self) -> None:
        self.raw.close()


class ConnectionPerThread:
    """One connection per thread that asks (panes query from several workers at once); all of
    them closed by ``close``."""

    def __init__(self, target: PostgresUrl) -> None:
        self.target = target
        self._local = threading.local()
        self._all: list[QmarkConnection] = []
        self._lock = threading.Lock()

    def get(self) -> QmarkConnection:
        connection: QmarkConnection | None = getattr(self._local, "connection", None)
        if connection is None or connection.raw.closed or connection.raw.broken:
            connection = QmarkConnection(self.target)
            self._local.connection = connection
            with self._lock:
                self._all.append(connection)
        return connection

    def close(self) -> None:
        with self._lock:
            connections, self._all = self._all, []
        for connection in connections:
            connection.close()
