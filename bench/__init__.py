"""Benchmarks: ``python -m bench [name ...]`` prints figures; nothing here asserts.

Each benchmark is a module in this package with a ``main(console)`` function; ``bench.__main__``
lists them in the order ``make bench`` runs them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


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
