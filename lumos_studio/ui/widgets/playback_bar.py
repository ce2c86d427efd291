"""Playback controls for a saved trace: play/pause, speed, step, and a scrubbable timeline.

The bar owns a ``PlaybackClock`` and says where playback is with ``PlaybackBar.Moved`` (coalesced:
a newer position replaces one not yet handled). Panes react to the message; the bar never touches
them. Its clock's time source is injectable, so tests move time by hand.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import ClassVar

from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.timer import Timer
from textual.widget import Widget

from lumos_studio.replay.timeline import PlaybackClock, format_offset, format_speed

TICK_INTERVAL = 0.1  # positions at most ~10 per second while playing
SCRUB_STEP = 0.05  # `[` / `]` move by a twentieth of the recording


class PlaybackBar(Widget, can_focus=True):
    """``‖ 1×      00:00.152 / 00:00.300  ━━━━●────┼───  3/8`` and the keys that drive it."""

    DEFAULT_CSS = """
    PlaybackBar {
        height: 1;
        width: 1fr;
        padding: 0 1;
        background: $boost;
    }
    PlaybackBar:focus {
        background: $primary 20%;
    }
    PlaybackBar > .playback-bar--status {
        color: $accent;
        text-style: bold;
    }
    PlaybackBar > .playback-bar--played {
        color: $accent;
    }
    PlaybackBar > .playback-bar--head {
        color: $text;
        text-style: bold;
    }
    PlaybackBar > .playback-bar--rest {
        color: $text-muted;
    }
    PlaybackBar > .playback-bar--instant {
        color: $secondary;
    }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "playback-bar--status",
        "playback-bar--played",
        "playback-bar--head",
        "playback-bar--rest",
        "playback-bar--instant",
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "play_pause", "Play/pause"),
        Binding("full_stop", "step_next", "Next step", key_display="."),
        Binding("comma", "step_previous", "Previous step", key_display=","),
        Binding("plus,equals_sign", "faster", "Faster", key_display="+"),
        Binding("minus", "slower", "Slower", key_display="-"),
        Binding("right_square_bracket", "scrub(1)", "Forward", key_display="]"),
        Binding("left_square_bracket", "scrub(-1)", "Back", key_display="["),
        Binding("home", "seek_fraction(0)", "Start", show=False),
        Binding("end", "seek_fraction(1)", "End", show=False),
    ]

    class Moved(Message):
        """Playback is now at ``time_ns`` (Unix ns on the recorded clock)."""

        def __init__(
            self, bar: PlaybackBar, time_ns: int, index: int, playing: bool, speed: float
        ) -> None:
            super().__init__()
            self.bar = bar
            self.time_ns = time_ns
            self.index = index  # how many instants have happened by time_ns
            self.playing = playing
            self.speed = speed

        @property
        def control(self) -> PlaybackBar:
            return self.bar

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, PlaybackBar.Moved) and message.bar is self.bar

    def __init__(
        self,
        instants: Sequence[int] = (),
        *,
        start_ns: int | None = None,
        end_ns: int | None = None,
        now: Callable[[], float] = time.monotonic,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._now = now
        self.clock = PlaybackClock(instants, start_ns=start_ns, end_ns=end_ns, now=now)
        self._reported: tuple[int, bool, float] | None = None
        self._timer: Timer | None = None
        self._track: tuple[int, int] = (0, 0)  # x offset and width of the track, for the mouse
        # The instants the marks were made of (held: compared by identity), the width and
        # bounds, and the cells.
        self._marks_for: tuple[list[int], tuple[int, int, int], frozenset[int]] | None = None

    # --- the recording ---

    def load(
        self, instants: Sequence[int], *, start_ns: int | None = None, end_ns: int | None = None,
        partial: bool = False,
    ) -> None:
        """Play another recording, from its start, paused. ``partial``: its first part, the
        keys work on it at once, and ``extend`` brings the rest."""
        self.clock = PlaybackClock(instants, start_ns=start_ns, end_ns=end_ns, now=self._now,
                                   partial=partial)
        self._reported = None
        self._changed()

    def extend(self, instants: Sequence[int], *, end_ns: int | None = None) -> None:
        """The rest of a recording loaded ``partial``: play, pause and speed as they are. The
        host is told as for ``load``, moved or not: it has more spans to show at the instant."""
        self.clock.extend(instants, end_ns=end_ns)
        self._reported = None
        self._changed()

    @property
    def time_ns(self) -> int:
        return self.clock.position_ns

    def on_mount(self) -> None:
        self._timer = self.set_interval(TICK_INTERVAL, self._tick, pause=True)
        self._changed()

    # --- actions (keys, and callable by the host) ---

    def action_play_pause(self) -> None:
        self.clock.toggle()
        self._changed()

    def action_step_next(self) -> None:
        self.clock.step_next()
        self._changed()

    def action_step_previous(self) -> None:
        self.clock.step_previous()
        self._changed()

    def action_faster(self) -> None:
        self.clock.faster()
        self._changed()

    def action_slower(self) -> None:
        self.clock.slower()
        self._changed()

    def action_scrub(self, direction: int) -> None:
        self.clock.scrub(self.clock.fraction + direction * SCRUB_STEP)
        self._changed()

    def action_seek_fraction(self, fraction: float) -> None:
        self.clock.scrub(fraction)
        self._changed()

    # --- time passing, and telling the host ---

    def _tick(self) -> None:
        self._changed()

    def _changed(self) -> None:
        clock = self.clock
        state = (clock.position_ns, clock.playing, clock.speed)
        if self._timer is not None:
            if state[1]:
                self._timer.resume()
            else:
                self._timer.pause()
        if state != self._reported:
            self._reported = state
            self.refresh()
            self.post_message(self.Moved(self, state[0], clock.index, state[1], state[2]))

    # --- the mouse: click or drag on the track to scrub ---

    def on_mouse_down(self, event: events.MouseDown) -> None:
        if self._scrub_to(event.x):
            self.capture_mouse()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        if self.app.mouse_captured is self:
            self._scrub_to(event.x)

    def on_mouse_up(self, event: events.MouseUp) -> None:
        if self.app.mouse_captured is self:
            self.release_mouse()

    def _scrub_to(self, x: int) -> bool:
        start, width = self._track
        if width < 2 or not start <= x < start + width:
            return False
        self.clock.scrub((x - start) / (width - 1))
        self._changed()
        return True

    # --- rendering ---

    def render(self) -> Text:
        clock = self.clock
        style = self.get_component_rich_style
        if not clock.instants:  # no recording given yet: not a full track at 0/0
            return Text("‖ reading the recording…", style="dim", no_wrap=True, end="")
        status = Text.assemble(
            ("▶" if clock.playing else "‖", style("playback-bar--status")),
            f" {format_speed(clock.speed):<7} ",
            f"{format_offset(clock.position_ns - clock.start_ns)} / "
            f"{format_offset(clock.duration_ns)}  ",
        )
        more = "…" if clock.partial else ""  # the rest of the recording is being read
        counter = Text(f"  {clock.index}/{len(clock.instants)}{more}")
        width = self.content_size.width - status.cell_len - counter.cell_len
        track = self._render_track(max(width, 0))
        # Padding-left is 1 cell; the track starts after the status text.
        self._track = (self.styles.padding.left + status.cell_len, track.cell_len)
        return Text.assemble(status, track, counter, no_wrap=True, end="")

    def _marks(self, width: int) -> frozenset[int]:
        """The track's cells that hold an instant, made again only when the recording or the
        width changes: a 100,000-span recording has 200,000 instants, and the bar is drawn at
        every tick while it plays."""
        clock = self.clock
        key = (width, clock.start_ns, clock.end_ns)
        made = self._marks_for
        if made is None or made[0] is not clock.instants or made[1] != key:
            cells: frozenset[int] = frozenset()
            if clock.duration_ns:
                start, duration, last = clock.start_ns, clock.duration_ns, width - 1
                cells = frozenset(round((instant - start) / duration * last)
                                  for instant in clock.instants)
            made = self._marks_for = (clock.instants, key, cells)
        return made[2]

    def _render_track(self, width: int) -> Text:
        if width < 2:
            return Text("")
        clock = self.clock
        style = self.get_component_rich_style
        head = round(clock.fraction * (width - 1))
        marks = self._marks(width)
        track = Text()
        track.append("━" * head, style("playback-bar--played"))
        track.append("●", style("playback-bar--head"))
        for cell in range(head + 1, width):
            if cell in marks:
                track.append("┼", style("playback-bar--instant"))
            else:
                track.append("─", style("playback-bar--rest"))
        return track
