"""The compare screen on a minimal host app: aligned rows, the summary, differences, keys."""

from __future__ import annotations

import io
import itertools
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from lumos_studio.compare_app import CompareApp
from lumos_studio.records import SpanRecord
from lumos_studio.replay.loader import load_trace
from lumos_studio.ui.screens.compare import FIRST_ROWS, ROWS_A_TICK, CompareScreen
from tests.builders import T0, make_span
from tests.ui.helpers import wait_for

TRACES = Path(__file__).resolve().parents[2] / "traces"


def spans_of(name: str) -> list[SpanRecord]:
    with load_trace(TRACES / name) as loaded:
        return loaded.reader.trace_spans(loaded.trace_ids[0])


class CompareHost(App[None]):
    """Opens the compare screen over a plain base screen, as the studio would."""

    def __init__(self, left: list[SpanRecord], right: list[SpanRecord]) -> None:
        super().__init__()
        self.left, self.right = left, right

    def on_mount(self) -> None:
        self.push_screen(CompareScreen(self.left, self.right, left_title="weather-v1",
                                       right_title="weather-v2"))


def text(screen: CompareScreen, selector: str) -> str:
    """What a Static shows, as plain text."""
    console = Console(width=120, file=io.StringIO(), record=True)
    console.print(screen.query_one(selector, Static).content)
    return console.export_text()


async def test_it_shows_the_summary_and_the_runs_aligned_side_by_side() -> None:
    app = CompareHost(spans_of("weather-v1.jsonl"), spans_of("weather-v2.jsonl"))
    async with app.run_test(size=(140, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        await wait_for(pilot, lambda: screen.comparison is not None)
        await pilot.pause()
        summary = text(screen, "#compare-summary")
        assert "1 tool call fewer" in summary and "2 model calls fewer" in summary
        table = screen.query_one("#compare-rows", DataTable)
        assert table.row_count == 8
        markers = [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
        assert markers == ["~", "~", " ", "−", " ", "−", "−", "~"]
        assert str(table.get_row_at(3)[2]) == ""  # removed: nothing on the right
        assert "system instructions" in text(screen, "#compare-diff")


async def test_n_and_p_move_between_differences_and_the_detail_follows() -> None:
    app = CompareHost(spans_of("weather-v1.jsonl"), spans_of("weather-v2.jsonl"))
    async with app.run_test(size=(140, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        await wait_for(pilot, lambda: screen.comparison is not None)
        table = screen.query_one("#compare-rows", DataTable)
        await pilot.press("n", "n")
        await wait_for(pilot, lambda: table.cursor_row == 3)
        assert "Only in weather-v1" in text(screen, "#compare-diff")
        await pilot.press("p")
        await wait_for(pilot, lambda: table.cursor_row == 1)
        assert "output messages" in text(screen, "#compare-diff")


async def test_escape_closes_the_screen() -> None:
    app = CompareHost(spans_of("weather-paris.jsonl"), spans_of("weather-paris.jsonl"))
    async with app.run_test(size=(120, 30)) as pilot:
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        await wait_for(pilot, lambda: screen.comparison is not None)
        assert text(screen, "#compare-summary").rstrip().endswith("tokens ±0 %, latency ±0 %")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, CompareScreen))


def long_run(trace_id: str, steps: int, failed: int | None = None) -> list[SpanRecord]:
    """A root and ``steps`` steps under it; step ``failed`` (if any) with an error."""
    root = make_span("invoke_agent long", trace_id=trace_id, span_id="f" * 16)
    return [root, *(
        make_span(f"step {n}", trace_id=trace_id, span_id=f"{n + 1:016x}", parent="f" * 16,
                  start=T0 + n, status="ERROR" if n == failed else "OK")
        for n in range(steps))]


@asynccontextmanager
async def long_comparison(
        steps: int) -> AsyncIterator[tuple[Pilot[None], CompareScreen, DataTable[Any]]]:
    """Two runs of ``steps`` steps that differ on the last one, compared; once its first rows
    are in the table."""
    app = CompareHost(long_run("1" * 32, steps), long_run("2" * 32, steps, failed=steps - 1))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        table = screen.query_one("#compare-rows", DataTable)
        await wait_for(pilot, lambda: table.row_count > 0)
        yield pilot, screen, table


async def test_a_long_comparison_shows_its_first_rows_at_once_then_fills_in_chunks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    steps = FIRST_ROWS + 3 * ROWS_A_TICK + 7
    shown: list[tuple[int, str]] = []  # rows and subtitle as each chunk is added (not polled:
    add_rows = CompareScreen._add_rows  # a busy machine may add the next before a poll)

    def noted(screen: CompareScreen, table: DataTable[Any], cells: list[Any]) -> None:
        add_rows(screen, table, cells)
        shown.append((table.row_count, str(table.border_subtitle)))

    monkeypatch.setattr(CompareScreen, "_add_rows", noted)
    async with long_comparison(steps) as (pilot, _, table):
        await wait_for(pilot, lambda: table.row_count == steps + 1, timeout=30)
        first_rows, subtitle = shown[0]
        assert first_rows == FIRST_ROWS  # the rest comes a chunk at a time
        assert subtitle.endswith("…")  # the rest aligned, or shown, next
        assert len(shown) > 2 and all(later - earlier <= ROWS_A_TICK + 1
                                      for (earlier, _), (later, _) in itertools.pairwise(shown))
        assert str(table.border_subtitle) == "1 changed · 0 removed · 0 added"
        assert [str(table.get_row_at(n)[1]).split()[:2] for n in (1, steps)] == [
            ["step", "0"], ["step", str(steps - 1)]]


async def test_n_reaches_a_difference_the_table_has_not_filled_in_yet() -> None:
    steps = FIRST_ROWS + 20 * ROWS_A_TICK
    async with long_comparison(steps) as (pilot, screen, table):
        await wait_for(pilot, lambda: screen.comparison is not None)  # aligned whole
        await pilot.press("n")  # the only change is the last row
        await wait_for(pilot, lambda: table.cursor_row == steps)
        assert "step " + str(steps - 1) in str(screen.query_one("#compare-detail").border_title)


@pytest.mark.parametrize("size", [(130, 34), (120, 40), (80, 24)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_compare_screen_snapshot(snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    """The committed v1/v2 traces, on the first model call (other instructions and output)."""

    async def select_the_first_model_call(pilot) -> None:  # type: ignore[no-untyped-def]
        screen = pilot.app.screen
        await wait_for(pilot, lambda: screen.comparison is not None)
        await pilot.press("n")
        await pilot.pause()

    app = CompareApp(spans_of("weather-v1.jsonl"), spans_of("weather-v2.jsonl"),
                     left_title="weather-v1", right_title="weather-v2")
    assert snap_compare(app, run_before=select_the_first_model_call, terminal_size=size)


async def test_lumos_studio_compare_has_the_key_help_and_quits_as_every_app_does() -> None:
    """``lumos-studio compare`` on its own: F1 shows the keys (it did nothing), q quits."""
    app = CompareApp(spans_of("weather-v1.jsonl"), spans_of("weather-v2.jsonl"),
                     left_title="weather-v1", right_title="weather-v2")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        await wait_for(pilot, lambda: screen.comparison is not None)
        await pilot.press("f1")
        await pilot.pause()
        assert screen.query("HelpPanel")
        await pilot.press("f1", "q")
        await pilot.pause()
    assert app.return_code == 0


async def test_escape_closes_lumos_studio_compare() -> None:
    app = CompareApp(spans_of("weather-v1.jsonl"), spans_of("weather-v1.jsonl"),
                     left_title="a", right_title="b")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("escape")
        await pilot.pause()
        assert not app.is_running


async def test_a_long_comparison_shows_its_first_rows_while_the_rest_is_aligned(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Two 100,000-span runs took ~8 s to align whole before a row was shown."""
    from lumos_studio.replay.compare import Aligning
    from lumos_studio.ui.screens import compare

    monkeypatch.setattr(compare, "PROGRESS_EVERY", 0.0)  # every report shown
    go_on = threading.Event()
    finish = Aligning.finish

    def held(self: Aligning, on_progress: Any = None) -> Any:
        go_on.wait(10)
        return finish(self, on_progress)

    monkeypatch.setattr(Aligning, "finish", held)
    steps = 2_499
    async with long_comparison(steps) as (pilot, screen, table):
        assert table.row_count == FIRST_ROWS
        assert table.border_subtitle == f"the first {FIRST_ROWS} rows · comparing the rest…"
        assert text(screen, "#compare-summary").strip() == "comparing…"
        await pilot.press("n")  # no change among the first rows: more are coming
        await wait_for(pilot, lambda: any("the rest are coming" in str(n.message)
                                          for n in screen.app._notifications))
        go_on.set()
        summary = "#compare-summary"
        await wait_for(pilot, lambda: text(screen, summary).startswith("weather-v1 → "))
        await wait_for(pilot, lambda: table.row_count == steps + 1, timeout=30)
        assert str(table.border_subtitle) == "1 changed · 0 removed · 0 added"
        await pilot.press("n")
        await wait_for(pilot, lambda: table.cursor_row == steps)  # the last step failed


async def test_a_long_comparison_says_how_far_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    from lumos_studio.ui.screens import compare

    monkeypatch.setattr(compare, "PROGRESS_EVERY", 0.0)  # every report shown
    shown: list[str] = []
    comparing = CompareScreen.on_compare_screen_comparing

    def noted(screen: CompareScreen, message: CompareScreen.Comparing) -> None:
        comparing(screen, message)
        shown.append(text(screen, "#compare-summary").strip())

    monkeypatch.setattr(CompareScreen, "on_compare_screen_comparing", noted)
    async with long_comparison(3_499) as (pilot, screen, table):
        await wait_for(pilot, lambda: table.row_count == 3_500, timeout=30)
        # After the first rows (and one more, to know there are more), a report every 1,000
        # rows of the 3,500 (FIRST_ROWS 120: 1,121, 2,121 and 3,121).
        reports = range(FIRST_ROWS + 1 + 1_000, 3_500, 1_000)
        assert shown == [f"comparing… {rows / 3_500:.0%} of 7,000 spans" for rows in reports]
        assert len(shown) >= 2
        assert text(screen, "#compare-summary").startswith("weather-v1 → weather-v2: ")
