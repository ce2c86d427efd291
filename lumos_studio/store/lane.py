"""Lanes: single records handed to the writer thread for the price of a deque append.

A ``queue.Queue`` put takes a lock and checks a condition; with the wrapper object that tells the
writer how to convert, that was ~0.75 µs, twice a span, on the agent's thread. A lane is a deque
(appends are atomic under the GIL) with the function that converts its items on the writer
thread. The writer raises ``sleeping`` only while it is about to block on its queue; a putter
that sees it wakes the writer through that queue, so a busy writer is never signalled at all.

No wake-up is lost: the writer raises the flag *before* it looks at the lanes a last time, and a
putter appends *before* it reads the flag. Either the writer sees the item, or the putter sees
the flag.
"""

from __future__ import annotations

import collections
import time
from typing import Generic, Protocol, TypeVar

from lumos_studio.store.pending import Convert

T = TypeVar("T")

# While a lane is full, a putter that may wait looks again this often: the writer frees room a
# batch at a time, every few milliseconds under load, so a condition variable would buy little.
_ROOM_POLL_SECONDS = 0.002


class Sleeper(Protocol):
    """The writer, as a lane sees it."""

    sleeping: bool
    dropped: int

    def wake(self) -> None:
        """Make the writer's blocking wait return (called only when ``sleeping`` was seen)."""


class Lane(Generic[T]):
    """Items for the writer thread, converted there by ``convert``; at most ``limit`` waiting."""

    __slots__ = ("_items", "_writer", "convert", "limit", "taken")

    def __init__(self, writer: Sleeper, convert: Convert, limit: int) -> None:
        self._items: collections.deque[T] = collections.deque()
        self._writer = writer
        self.convert = convert
        self.limit = limit
        self.taken = 0  # items the writer has taken so far: flushes wait for a count of them

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item: T, wait: float | None = 0.0) -> bool:
        """Queue ``item``; if the lane is full, wait up to ``wait`` s (None: for ever) for room.

        False, and counted in the writer's ``dropped``, if there was no room in time.
        """
        if len(self._items) >= self.limit and not self._room_within(wait):
            self._writer.dropped += 1
            return False
        self._items.append(item)
        writer = self._writer
        if writer.sleeping:
            writer.sleeping = False
            writer.wake()
        return True

    def take(self, limit: int) -> list[T]:
        """Up to ``limit`` items, oldest first (the writer thread's side)."""
        items = self._items
        count = min(limit, len(items))
        popleft = items.popleft
        taken = [popleft() for _ in range(count)]
        self.taken += count
        return taken

    def _room_within(self, wait: float | None) -> bool:
        if not wait and wait is not None:
            return False
        deadline = None if wait is None else time.monotonic() + wait
        while len(self._items) >= self.limit:
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(_ROOM_POLL_SECONDS)
        return True
