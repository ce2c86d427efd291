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
