"""The playback bar on a minimal host app: keys, speeds, scrubbing, and the position it reports."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Static

from lumos_studio.replay.timeline import INSTANT, instants, spans_at
from lumos_studio.ui.widgets.playback_bar import PlaybackBar
from tests.builders import MS, T0, weather_trace
from tests.ui.helpers import wait_for


class FakeTime:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


class PlaybackHost(App[None]):
    """A bar over a line that shows what is running, as a replay screen would."""

    def __init__(self, fake: FakeTime) -> None:
        super().__init__()
        self.fake = fake
        self.moves: list[PlaybackBar.Moved] = []

    def compose(self) -> ComposeResult:
        yield Static(id="state")
        yield PlaybackBar(instants(weather_trace()), now=self.fake)

    def on_playback_bar_moved(self, message: PlaybackBar.Moved) -> None:
        self.moves.append(message)
        shown = spans_at(weather_trace(), message.time_ns)
        running = [s.name for s in shown if s.running]
        self.query_one("#state", Static).update(f"{len(shown)} spans, running: {running}")

    @property
    def last(self) -> PlaybackBar.Moved:
        return self.moves[-1]


async def test_it_starts_paused_at_the_first_instant_and_steps_with_keys() -> None:
    app = PlaybackHost(FakeTime())
    async with app.run_test(size=(100, 4)) as pilot:
        bar = app.query_one(PlaybackBar)
        bar.focus()
        await wait_for(pilot, lambda: app.moves)
        assert app.last.time_ns == T0 and not app.last.playing and app.last.index == 1
        await pilot.press(".", ".", ".")
        await wait_for(pilot, lambda: app.last.time_ns == T0 + 152 * MS)
        assert app.last.index == 4
        state = str(app.query_one("#state", Static).content)
        assert state == "3 spans, running: ['invoke_agent weather', 'execute_tool get_weather']"
        await pilot.press(",")
        await wait_for(pilot, lambda: app.last.time_ns == T0 + 151 * MS)


async def test_space_plays_on_the_recorded_clock_and_speed_keys_change_the_pace() -> None:
    fake = FakeTime()
    app = PlaybackHost(fake)
    async with app.run_test(size=(100, 4)) as pilot:
        app.query_one(PlaybackBar).focus()
        await pilot.press("+")  # 2×
        await wait_for(pilot, lambda: app.moves and app.last.speed == 2.0)
        await pilot.press("space")
        await wait_for(pilot, lambda: app.last.playing)
        fake.now += 0.05  # 50 ms of wall time at 2× is 100 ms of the recording
        await wait_for(pilot, lambda: app.last.time_ns == T0 + 100 * MS)
        fake.now += 10
        await wait_for(pilot, lambda: not app.last.playing)  # stops at the end
        assert app.last.time_ns == T0 + 300 * MS
        assert "0 spans" not in str(app.query_one("#state", Static).content)
        await pilot.press("-", "-")
        await wait_for(pilot, lambda: app.last.speed == 1.0)
        for _ in range(7):
            await pilot.press("+")
        await wait_for(pilot, lambda: app.last.speed == INSTANT)


async def test_brackets_home_end_and_a_click_scrub_the_timeline() -> None:
    app = PlaybackHost(FakeTime())
    async with app.run_test(size=(100, 4)) as pilot:
        bar = app.query_one(PlaybackBar)
        bar.focus()
        await pilot.press("]", "]")
        await wait_for(pilot, lambda: app.moves and app.last.time_ns == T0 + 30 * MS)
        await pilot.press("[")
        await wait_for(pilot, lambda: app.last.time_ns == T0 + 15 * MS)
        await pilot.press("end")
        await wait_for(pilot, lambda: app.last.time_ns == T0 + 300 * MS)
        await pilot.press("home")
        await wait_for(pilot, lambda: app.last.time_ns == T0)
        start, width = bar._track
        await pilot.click(PlaybackBar, offset=(start + width - 1, 0))
        await wait_for(pilot, lambda: app.last.time_ns == T0 + 300 * MS)
        await pilot.click(PlaybackBar, offset=(start + (width - 1) // 2, 0))
        await wait_for(pilot, lambda: T0 + 140 * MS < app.last.time_ns < T0 + 160 * MS)


async def test_loading_another_recording_starts_it_paused() -> None:
    app = PlaybackHost(FakeTime())
    async with app.run_test(size=(100, 4)) as pilot:
        bar = app.query_one(PlaybackBar)
        await wait_for(pilot, lambda: app.moves)
        bar.load([T0 + 10**9, T0 + 2 * 10**9])
        await wait_for(pilot, lambda: app.last.time_ns == T0 + 10**9)
        assert bar.clock.duration_ns == 10**9 and not app.last.playing


def test_playback_bar_snapshot(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def step_into_the_tool_call(pilot) -> None:  # type: ignore[no-untyped-def]
        pilot.app.query_one(PlaybackBar).focus()
        await pilot.press("+", ".", ".", ".")
        await pilot.pause()

    assert snap_compare(PlaybackHost(FakeTime()), run_before=step_into_the_tool_call,
                        terminal_size=(90, 4))


async def test_a_first_part_s_track_gains_the_rest_s_marks_when_extended() -> None:
    """The track's instant marks are made once per recording: the whole recording's replace the
    first part's, and the counter loses its '…'."""
    app = PlaybackHost(FakeTime())
    async with app.run_test(size=(100, 4)) as pilot:
        bar = app.query_one(PlaybackBar)
        bar.load([T0, T0 + 10 * MS], end_ns=T0 + 1_000 * MS, partial=True)
        await pilot.pause()
        first = str(bar.render())
        assert first.count("┼") == 1 and first.endswith("1/2…")
        bar.extend([T0, T0 + 10 * MS, T0 + 500 * MS, T0 + 900 * MS])
        await pilot.pause()
        whole = str(bar.render())
        assert whole.count("┼") == 3 and whole.endswith("1/4")


def test_a_bar_with_no_recording_yet_says_it_is_being_read() -> None:
    bar = PlaybackBar()
    assert bar.render().plain == "‖ reading the recording…"  # not a full track at 0/0
