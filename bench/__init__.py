"""Benchmarks: ``python -m bench [name ...]`` prints figures; nothing here asserts.

Each benchmark is a module in this package with a ``main(console)`` function; ``bench.__main__``
lists them in the order ``make bench`` runs them.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Timing:
    """How many operations ran in how long, with the rates people quote."""

    count: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds else float("inf")

    @property
    def microseconds_each(self) -> float:
        return self.seconds / self.count * 1e6 if self.count else float("nan")


@dataclass(frozen=True, slots=True)
class Figure:
    """A figure held to a target, for the summary ``python -m bench`` prints at the end."""

    label: str
    value: float
    target: float
    unit: str
    higher_is_better: bool

    @property
    def passed(self) -> bool:
        return self.value >= self.target if self.higher_is_better else self.value <= self.target


FIGURES: list[Figure] = []  # every ``check`` of this run, in order


def check(label: str, value: float, target: float, unit: str = "ms", *,
          higher_is_better: bool = False) -> str:
    """``verdict`` for ``value`` against ``target``, noted for the closing summary."""
    figure = Figure(label, value, target, unit, higher_is_better)
    FIGURES.append(figure)
    return "[bold green]PASS[/]" if figure.passed else "[bold red]BELOW[/]"


def verdict(value: float, target: float) -> str:
    """A rich-markup marker: PASS when ``value`` reaches ``target``, BELOW otherwise."""
    return "[bold green]PASS[/]" if value >= target else "[bold red]BELOW[/]"


def timed(function: Callable[[], object]) -> float:
    """Seconds ``function`` took, on the monotonic high-resolution clock."""
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def python_loop_ms() -> float:
    """Milliseconds a fixed pure-Python loop takes, best of three: the machine's speed right now.

    On a shared virtual machine this varies by half within an hour; figures taken when it
    differs are not comparable, so the benchmarks print it next to them.
    """
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        total = 0
        for number in range(2_000_000):
            total += number
        best = min(best, time.perf_counter() - start)
    return best * 1000


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity), which bound what it can do at once."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def wal_connection(path: Path) -> sqlite3.Connection:
    """A plain SQLite file opened as the store's writer opens its own (WAL, ``synchronous``
    NORMAL, no implicit transactions): where a benchmark measures SQLite without our code."""
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    return connection


def insert_by_thousand(
    connection: sqlite3.Connection, statement: str, rows: Sequence[tuple[object, ...]]
) -> None:
    """``rows`` inserted by ``statement``, 1,000 a transaction, as the store's writer batches."""
    for start in range(0, len(rows), 1_000):
        connection.execute("BEGIN")
        connection.executemany(statement, rows[start:start + 1_000])
        connection.execute("COMMIT")


SQLITE_ROWS = 20_000  # ``sqlite_rows_ms``'s rows, ~1 KB each, a commit per 1,000


def sqlite_rows_ms(rows: int = SQLITE_ROWS) -> float:
    """Milliseconds to write ``rows`` rows of ~1 KB into a fresh SQLite file (WAL, a commit per
    1,000), best of three: the machine's speed for work that leaves the CPU's cache.

    ``python_loop_ms`` runs in the cache and can stay put while the machine's neighbours slow
    everything that reads or writes memory and files by a third (session 29: the loop 69–72 ms
    both times, SQLite alone 37,065 → 31,725 spans/s). The two together tell which it was.
    """
    payload = bytes(range(256)) * 4
    made = [(f"{number:032x}", payload) for number in range(rows)]
    best = float("inf")
    for _ in range(3):
        with tempfile.TemporaryDirectory(prefix="lumos-bench-sqlite-") as tmp:
            connection = wal_connection(Path(tmp) / "rows.db")
            try:
                connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT, v BLOB)")
                start = time.perf_counter()
                insert_by_thousand(connection, "INSERT INTO t (k, v) VALUES (?, ?)", made)
                best = min(best, time.perf_counter() - start)
            finally:
                connection.close()
    return best * 1000
