"""What a resolved log filter is, and what its reads share: the rows a list shows, the
matches' count and (when small or a regex) their keys in display order, anchors, cancelling.

``log_queries`` resolves a filter into ``LogMatches``; ``log_windows`` pages through them;
the PostgreSQL log source answers with the same shapes.
"""

from __future__ import annotations

import sqlite3
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import orjson

from lumos_studio.store.log_filter import LogFilter, severity_name


@dataclass(frozen=True, slots=True)
class LogRow:
    """One log as a list shows it; ``message`` is the body as text."""

    id: int
    time_ns: int
    severity_number: int
    severity_text: str
    message: str
    scope_name: str
    service_name: str
    trace_id: str | None
    span_id: str | None
    event_name: str

    @property
    def level(self) -> str:
        return severity_name(self.severity_number, self.severity_text)


@dataclass(frozen=True, slots=True)
class Anchor:
    """A row whose position is known: windows next to it are fetched by key, not by offset."""

    position: int
    time_ns: int
    id: int


@dataclass(frozen=True, slots=True, eq=False)
class LogMatches:
    """A filter resolved against the store: ``count`` logs match among ids up to ``last_id``.

    ``times``/``ids`` hold every match in display order when the result was small or needed
    Python (regex); otherwise windows are read from SQLite.
    """

    filter: LogFilter
    count: int
    last_id: int
    times: array[int] | None = field(default=None, repr=False)
    ids: array[int] | None = field(default=None, repr=False)
    fts: str | None = field(default=None, repr=False)  # the FTS5 query, prefix expanded

    @property
    def materialized(self) -> bool:
        return self.ids is not None


StopCheck = Callable[[], bool]
# A long count's progress: the share of the logs it has read, 0 to 1 (a regex's count reads
# every candidate: seconds when its pattern has no literal for the trigram index).
Progress = Callable[[float], None]


def read_share(at: int, first: int, last: int) -> float:
    """How far ``at`` is from ``first`` to ``last`` (an id, a time), 0 to 1: a count's
    ``Progress``."""
    return min(1.0, max(0.0, (at - first) / max(1, last - first)))


class Cancelled(Exception):
    """The caller's ``should_stop`` said a newer request replaced this one."""


@contextmanager
def snapshot(connection: sqlite3.Connection) -> Iterator[None]:
    """One read transaction: the max id, the count and the rows all see the same store."""
    if connection.in_transaction:
        yield
        return
    connection.execute("BEGIN")
    try:
        yield
    finally:
        connection.execute("COMMIT")


def bisect_key(times: Sequence[int], ids: Sequence[int], time_ns: int, log_id: int) -> int:
    index = bisect_left(times, time_ns)
    while index < len(ids) and times[index] == time_ns and ids[index] < log_id:
        index += 1
    return index


def message_text(body: str | None) -> str:
    """The body as a person reads it: a string body unquoted, anything else as compact JSON."""
    if not body:
        return ""
    if body.startswith('"'):
        text = body[1:-1]
        if body.endswith('"') and len(body) > 1 and "\\" not in text and '"' not in text:
            return text  # a JSON string without escapes: its text, without a parse
        try:
            return str(orjson.loads(body))
        except orjson.JSONDecodeError:
            return body
    return body
