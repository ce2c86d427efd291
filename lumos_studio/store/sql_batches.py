"""Many rows in few statements of a few fixed shapes, for the writer's batches.

``executemany`` steps one statement per row, and sqlite3 gives up the GIL around every step:
beside the in-process writer the agent's thread takes it each time, and beside a receiver the
writer may wait a switch interval to get it back. One statement per batch size would compile a
new statement for nearly every batch; slices of a few sizes stay in sqlite3's statement cache.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Iterator
from typing import Any, TypeVar

__all__ = ["fixed_chunks", "insert_rows"]

# Statement sizes, in rows, that ``insert_rows`` splits a batch into: few shapes, so they stay
# in sqlite3's statement cache, and few statements.
_STATEMENT_ROWS = (256, 64, 16, 4, 1)


def insert_rows(connection: sqlite3.Connection, head: str, rows: list[tuple[Any, ...]]) -> int:
    """``head VALUES (...), (...)`` for ``rows`` (all of one width); how many rows it wrote.

    Multi-row statements, not ``executemany`` (see the module's docstring).
    """
    written = 0
    for chunk in fixed_chunks(rows):
        written += connection.execute(
            _values_statement(head, len(chunk[0]), len(chunk)),
            [value for row in chunk for value in row],
        ).rowcount
    return written


_T = TypeVar("_T")


def fixed_chunks(rows: list[_T]) -> Iterator[list[_T]]:
    """``rows`` in slices of the ``_STATEMENT_ROWS`` sizes, largest first."""
    start = 0
    for size in _STATEMENT_ROWS:
        while len(rows) - start >= size:
            yield rows[start : start + size]
            start += size


@functools.cache
def _values_statement(head: str, width: int, rows: int) -> str:
    row = f"({', '.join('?' * width)})"
    return f"{head} VALUES {', '.join([row] * rows)}"
