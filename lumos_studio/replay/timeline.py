"""Playback on the recorded clock: what a trace looked like at any instant, and a clock to move it.

Pure functions over records, plus ``PlaybackClock`` whose time source is injected, so playback is
tested without sleeping and the UI only has to call ``tick()`` from a timer.
"""

from __future__ import annotations

import bisect
import itertools
import operator
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Final

from lumos_core.memory import MemoryState, rebuild_memory_state
from lumos_core.telemetry import semconv as sc
from lumos_studio.records import STATUS_UNSET, LogRecord, SpanRecord
from lumos_studio.semantics.keys import is_end_key
from lumos_studio.store.span_headers import NO_END, SpanHeaders

NS_PER_S: Final = 1_000_000_000

#: Playback speeds, slowest first; ``INSTANT`` plays straight to the end of the recording.
INSTANT: Final = float("inf")
SPEEDS: Final[tuple[float, ...]] = (1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, INSTANT)

def instants(spans: Iterable[SpanRecord], logs: Iterable[LogRecord] = ()) -> list[int]:
    """Every moment something happened (span starts and ends, log times), sorted, unique."""
    moments: set[int] = set()
    for span in spans:
        moments.add(span.start_ns)
        if span.end_ns is not None:
            moments.add(span.end_ns)
    moments.update(log.time_ns for log in logs)
    return sorted(moments)


def recording_instants(headers: SpanHeaders, logs: Iterable[LogRecord] = ()) -> list[int]:
    """``instants`` of a trace read as its tree's headers, from their columns."""
    moments = set(headers.starts)
    moments.update(headers.ends)
    moments.discard(NO_END)
    moments.update(log.time_ns for log in logs)
    return sorted(moments)


def span_at(span: SpanRecord, t: int) -> SpanRecord | None:
    """``span`` as it was at ``t``: None before it started, running (no end, status, output,
    usage or later events, in whichever dialect it was written) until it ended, itself
    afterwards."""
    if span.start_ns > t:
        return None
    if span.end_ns is not None and span.end_ns <= t:
        return span
    return replace(
        span,
        end_ns=None,
        status_code=STATUS_UNSET,
        status_message="",
        attributes={k: v for k, v in span.attributes.items() if not is_end_key(k)},
        events=tuple(e for e in span.events if e.time_ns <= t),
    )


def spans_at(spans: Iterable[SpanRecord], t: int) -> list[SpanRecord]:
    """The spans started by ``t``, those not yet ended shown running (see ``span_at``)."""
    return [shown for span in spans if (shown := span_at(span, t)) is not None]


def logs_at(logs: Iterable[LogRecord], t: int) -> list[LogRecord]:
    """The log records emitted by ``t``."""
    return [log for log in logs if log.time_ns <= t]


def memory_at(logs: Iterable[LogRecord], t: int) -> MemoryState:
    """The agents' memory (threads, working memory) as it was at ``t``, rebuilt from the
    ``lumos.memory.*`` records emitted by then, in time order."""
    changes = sorted(
        (log for log in logs
         if log.time_ns <= t and log.event_name.startswith(sc.EVENT_MEMORY_PREFIX)),
        key=lambda log: log.time_ns,
    )
    return rebuild_memory_state(changes)


def next_instant(moments: Sequence[int], t: int) -> int | None:
    """The first instant strictly after ``t`` (None at the end)."""
    i = bisect.bisect_right(moments, t)
    return moments[i] if i < len(moments) else None


def previous_instant(moments: Sequence[int], t: int) -> int | None:
    """The last instant strictly before ``t`` (None at the start)."""
    i = bisect.bisect_left(moments, t)
    return moments[i - 1] if i > 0 else None


def instant_index(moments: Sequence[int], t: int) -> int:
    """How many instants have happened by ``t`` (0 before the first)."""
    return bisect.bisect_right(moments, t)


def _sorted_unique(moments: Sequence[int]) -> list[int]:
    """``moments`` sorted without repeats; checked in C when they come so (``instants``): a
    100,000-span recording's 200,000 instants sorted again took 40 ms of the UI thread."""
    if all(map(operator.lt, moments, itertools.islice(moments, 1, None))):
        return list(moments)
    return sorted(set(moments))


def format_offset(ns: int) -> str:
    """An offset from the start of a recording: ``00:01.234``, ``1:02:03.4``."""
    ns = max(ns, 0)
    seconds, rest = divmod(ns, NS_PER_S)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{seconds:02d}.{rest // 100_000_000}"
    return f"{minutes:02d}:{seconds:02d}.{rest // 1_000_000:03d}"


def format_speed(speed: float) -> str:
    return "instant" if speed == INSTANT else f"{speed:g}×"


class PlaybackClock:
    """A position on the recorded clock that moves at ``speed`` while playing.

    ``now`` is a monotonic time source in seconds (``time.monotonic`` by default, a fake in tests).
    The position is computed from an anchor (position and wall time when play or speed last
    changed), so ticks that arrive late never make the playback drift.
    """

    def __init__(
        self,
        moments: Sequence[int],
        *,
        start_ns: int | None = None,
        end_ns: int | None = None,
        speed: float = 1.0,
        now: Callable[[], float] = time.monotonic,
        partial: bool = False,
    ) -> None:
        self.instants: list[int] = _sorted_unique(moments)
        # The recording's first part (``extend`` brings the rest): playing on past its end
        # holds the position there instead of pausing, so the rest plays on when it comes.
        self.partial = partial
        self.start_ns = start_ns if start_ns is not None else (self.instants or [0])[0]
        self.end_ns = max(end_ns if end_ns is not None else (self.instants or [0])[-1],
                          self.start_ns)
        if speed not in SPEEDS:
            raise ValueError(f"speed must be one of {SPEEDS}, got {speed!r}")
        self.speed = speed
        self._now = now
        self._playing = False
        self._anchor_ns = self.start_ns
        self._anchor_wall = now()
        self._wants_end = False  # scrubbed to the end: a first part's end moves with ``extend``

    @classmethod
    def for_records(
        cls,
        spans: Iterable[SpanRecord],
        logs: Iterable[LogRecord] = (),
        *,
        now: Callable[[], float] = time.monotonic,
    ) -> PlaybackClock:
        """A clock over a recording's instants, starting at its first."""
        return cls(instants(spans, logs), now=now)

    # --- state ---

    @property
    def playing(self) -> bool:
        self.tick()
        return self._playing

    @property
    def position_ns(self) -> int:
        """Where playback is now (advances while playing, stops at the end)."""
        return self.tick()

    @property
    def duration_ns(self) -> int:
        return self.end_ns - self.start_ns

    @property
    def fraction(self) -> float:
        """The position as 0.0 (start) … 1.0 (end)."""
        return (self.position_ns - self.start_ns) / self.duration_ns if self.duration_ns else 1.0

    @property
    def at_end(self) -> bool:
        return self.position_ns >= self.end_ns

    @property
    def index(self) -> int:
        """How many instants have happened at the current position."""
        return instant_index(self.instants, self.position_ns)

    def tick(self) -> int:
        """Advance to the current time; pauses on reaching the end. Returns the position."""
        if not self._playing:
            return self._anchor_ns
        if self.speed == INSTANT:
            position = self.end_ns
        else:
            elapsed = self._now() - self._anchor_wall
            position = self._anchor_ns + round(elapsed * self.speed * NS_PER_S)
        if position >= self.end_ns:
            if self.partial:
                return self.end_ns
            self._set(self.end_ns, playing=False)
            return self.end_ns
        return position

    def extend(self, moments: Sequence[int], *, end_ns: int | None = None) -> None:
        """The whole recording, after its first part: its instants and its end. Where playback
        is, whether it plays and at what speed stay; while playing, the position the first
        part held at its end moves on as if the rest had been there."""
        self.instants = _sorted_unique(moments)
        last = end_ns if end_ns is not None else (self.instants or [self.start_ns])[-1]
        self.end_ns = max(last, self.end_ns)
        self.partial = False
        if self._wants_end and not self._playing:  # ``end`` pressed on the first part
            self._set(self.end_ns, playing=False)
        self.tick()  # played past the end meanwhile: it pauses there, as it would have

    # --- controls ---

    def play(self) -> None:
        """Play from here; from the start again when already at the end."""
        if self.tick() >= self.end_ns and not self.partial:
            self._anchor_ns = self.start_ns
        self._set(self._anchor_ns, playing=True)

    def pause(self) -> None:
        self._set(self.tick(), playing=False)

    def toggle(self) -> None:
        if self.playing:
            self.pause()
        else:
            self.play()

    def set_speed(self, speed: float) -> None:
        if speed not in SPEEDS:
            raise ValueError(f"speed must be one of {SPEEDS}, got {speed!r}")
        position = self.tick()
        self.speed = speed
        self._set(position, playing=self._playing)

    def faster(self) -> float:
        """The next speed up (stays at the fastest); returns the new speed."""
        i = SPEEDS.index(self.speed)
        self.set_speed(SPEEDS[min(i + 1, len(SPEEDS) - 1)])
        return self.speed

    def slower(self) -> float:
        i = SPEEDS.index(self.speed)
        self.set_speed(SPEEDS[max(i - 1, 0)])
        return self.speed

    def seek(self, t: int) -> int:
        """Jump to ``t`` (clamped to the recording), keeping play or pause."""
        position = min(max(t, self.start_ns), self.end_ns)
        self._set(position, playing=self._playing and position < self.end_ns)
        return position

    def scrub(self, fraction: float) -> int:
        """Jump to a fraction of the recording (0.0 start … 1.0 end)."""
        fraction = min(max(fraction, 0.0), 1.0)
        position = self.seek(self.start_ns + round(fraction * self.duration_ns))
        self._wants_end = fraction == 1.0
        return position

    def step_next(self) -> int:
        """Pause on the next instant (the end when there is none)."""
        target = next_instant(self.instants, self.tick())
        self._set(self.end_ns if target is None else min(target, self.end_ns), playing=False)
        return self._anchor_ns

    def step_previous(self) -> int:
        """Pause on the previous instant (the start when there is none)."""
        target = previous_instant(self.instants, self.tick())
        self._set(self.start_ns if target is None else max(target, self.start_ns), playing=False)
        return self._anchor_ns

    def _set(self, position: int, *, playing: bool) -> None:
        self._wants_end = False
        self._anchor_ns = position
        self._anchor_wall = self._now()
        self._playing = playing
