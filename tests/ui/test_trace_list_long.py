"""A long trace list (more rows than the first screenfuls the list adds at once): every row
arrives, the cursor can go anywhere at once, and nothing stale or resized comes later."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace
from typing import Any

import pytest
from rich.text import Text
from textual.app import App, ComposeResult
from textual.geometry import Size
from textual.widgets.data_table import ColumnKey

from lumos_studio.app import StudioApp
from lumos_studio.sessions.discovery import load_demo
from lumos_studio.sessions.in_process import InProcessSession
from lumos_studio.store import Store, TracePage, TraceSummary
from lumos_studio.store.trace_filter import parse_filter
from lumos_studio.store.trace_page import TraceQuery
from lumos_studio.ui.widgets.trace_browser import TraceBrowser
from lumos_studio.ui.widgets.trace_list import COLUMNS, GROUP_KEY, TraceList
from tests.builders import T0, agent_run
from tests.hostile import CORPUS
from tests.ui.helpers import wait_for

SIZE = (120, 40)
RUNS = 300  # more than the two screenfuls a 40-line list adds before its first paint
LONG_AGENT = "an-agent-with-a-much-longer-name"


def studio(store: Store) -> StudioApp:
    """300 runs; the oldest has the longest agent name, so it sets that column's width."""
    for n in range(1, RUNS + 1):
        store.writer.submit_many(agent_run(n, agent=LONG_AGENT if n == 1 else "weather",
                                           said=f"question {n}"))
    store.writer.flush()
    return StudioApp(store, InProcessSession.recording(load_demo(), store.writer))


def trace(n: int) -> str:
    return f"{n:032x}"


async def test_every_run_arrives_and_the_columns_fit_the_last_from_the_first_paint(
    store: Store,
) -> None:
    app = studio(store)
    async with app.run_test(size=SIZE) as pilot:
        traces = app.query_one(TraceList)
        await wait_for(pilot, lambda: traces.row_count > 0)
        agent = traces.columns[ColumnKey("agent")].get_render_width(traces)
        await wait_for(pilot, lambda: traces.row_count == RUNS)
        assert traces.columns[ColumnKey("agent")].get_render_width(traces) == agent
        assert agent == len(LONG_AGENT) + 2 * traces.cell_padding
        assert traces.get_row(trace(1))[1].plain == LONG_AGENT
        assert [key.value for key in traces.rows] == [trace(n) for n in range(RUNS, 0, -1)]


async def test_the_cursor_reaches_the_oldest_run_at_once_and_stays_there_on_reload(
    store: Store,
) -> None:
    app = studio(store)
    async with app.run_test(size=SIZE) as pilot:
        traces = app.query_one(TraceList)
        browser = app.query_one(TraceBrowser)
        await wait_for(pilot, lambda: browser.page is not None)
        page = browser.page
        assert page is not None
        browser.show_page(page, None, to_selected=False)  # the rows again, most still to come
        traces.focus()
        traces.action_scroll_bottom()  # ctrl+end
        assert traces.cursor_trace == trace(1)
        await pilot.press("up")
        assert traces.cursor_trace == trace(2)

        browser.show_page(page, None, to_selected=False)  # a reload keeps the cursor's run
        assert traces.cursor_trace == trace(2)
        await pilot.pause()
        assert traces.cursor_trace == trace(2)

        await pilot.press("ctrl+home", "pagedown", "pagedown", "pagedown")
        assert traces.cursor_row > 2 * traces.size.height  # past the first screenfuls
        assert traces.cursor_trace == traces.row_traces[traces.cursor_row]


async def test_a_newer_page_replaces_rows_still_to_come_from_the_older(store: Store) -> None:
    app = studio(store)
    async with app.run_test(size=SIZE) as pilot:
        traces = app.query_one(TraceList)
        browser = app.query_one(TraceBrowser)
        await wait_for(pilot, lambda: browser.page is not None)
        everything = browser.page
        assert everything is not None
        browser.query_state = replace(browser.query_state, filter=parse_filter("question 7"))
        narrow = store.reader.find_traces(browser.query_state)
        browser.query_state = everything.query
        browser.show_page(everything, None, to_selected=False)
        browser.query_state = narrow.query
        browser.show_page(narrow, None, to_selected=False)  # before the first's later rows
        for _ in range(5):
            await pilot.pause()
        assert traces.row_count == len(narrow.summaries) < RUNS
        assert [key.value for key in traces.rows] == [t.trace_id for t in narrow.summaries]


async def test_a_newer_query_holds_the_older_pages_later_rows(store: Store) -> None:
    app = studio(store)
    async with app.run_test(size=SIZE) as pilot:
        traces = app.query_one(TraceList)
        browser = app.query_one(TraceBrowser)
        await wait_for(pilot, lambda: browser.page is not None)
        page = browser.page
        assert page is not None
        browser.show_page(page, None, to_selected=False)
        traces.hold_later_rows()  # what a newer query does while its page is read
        first = traces.row_count
        for _ in range(5):
            await pilot.pause()
        assert traces.row_count == first < RUNS
        traces.focus()
        await pilot.press("ctrl+end")  # the cursor still reaches every row
        assert traces.row_count == RUNS and traces.cursor_trace == trace(1)


async def test_the_list_scrolls_over_every_row_without_measuring_a_cell(
    store: Store, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every column has its width: the table's size follows its rows (the last one can be
    scrolled to) and no cell is measured for a width no column takes."""
    from textual.widgets import _data_table

    measured: list[object] = []
    original = _data_table.measure  # type: ignore[attr-defined]

    def measure(*args: Any) -> int:
        measured.append(args[1])
        result: int = original(*args)
        return result

    monkeypatch.setattr(_data_table, "measure", measure)
    app = studio(store)
    async with app.run_test(size=SIZE) as pilot:
        traces = app.query_one(TraceList)
        await wait_for(pilot, lambda: traces.row_count == RUNS)
        await pilot.pause()
        width = sum(column.get_render_width(traces) for column in traces.columns.values())
        assert traces.virtual_size == Size(width, RUNS + 1)  # the rows and the header
        traces.focus()
        await pilot.press("ctrl+end")
        await pilot.pause()
        assert traces.scroll_y == traces.max_scroll_y > 0
        assert traces.cursor_trace == trace(1)
        labels = set(COLUMNS.values())  # measured as each column is added, once
        assert [cell for cell in measured if str(cell) not in labels] == []


@pytest.mark.parametrize("name", [*CORPUS, "wide 漢字 名前", "plain"])
def test_a_runs_widths_from_its_text_are_its_cells_widths(name: str) -> None:
    """Column widths come from each run's plain text (its cells are made only when its row is
    added): they must be the widths of the cells the row then shows."""
    text = CORPUS.get(name, name)
    traces = TraceList()
    for status_of in ({"error_count": 0, "running_count": 0},
                      {"error_count": 2, "running_count": 0},
                      {"error_count": 0, "running_count": 3}):
        for summary in (
            TraceSummary(text[:40] + "0" * 32, text, text, None, T0, T0 + 1_234_567, 12345,
                         input_tokens=7, output_tokens=None, pinned_ns=1, **status_of),
            TraceSummary("f" * 32, text, None, None, -10**19, None, 0, input_tokens=None,
                         output_tokens=None, **status_of),
        ):
            cells = traces._run_cells(summary)
            assert traces._plain_widths(summary) == {
                key: cell.cell_len if isinstance(cell, Text) else len(cell)
                for key, cell in cells.items()}


class ListHost(App[None]):
    def compose(self) -> ComposeResult:
        yield TraceList()


def run_summary(n: int, **changed: Any) -> TraceSummary:
    return replace(TraceSummary(trace(n), "invoke_agent weather", "weather", None, T0 + n,
                                T0 + n + 1_000_000, 4, 0, 0, 30, 9), **changed)


async def test_a_list_shown_again_makes_only_the_changed_runs_cells_again() -> None:
    """Shown again (as while spans stream in), a run whose summary changed shows its new
    values; the others keep the cells made for the page before; a mark still shows."""
    app = ListHost()
    async with app.run_test(size=SIZE) as pilot:
        traces = app.query_one(TraceList)
        first = [run_summary(n, running_count=1) for n in (3, 2, 1)]
        traces.show(first, None)
        await pilot.pause()
        kept = traces.get_row(trace(2))
        traces.marked.append(trace(2))
        spans = list(traces.columns).index(ColumnKey("spans"))
        finished = run_summary(3, span_count=21)
        traces.show([run_summary(4), finished, *first[1:]], None)
        await pilot.pause()
        assert str(traces.get_row(trace(3))[spans]) == "21"
        assert str(traces.get_row(trace(4))[spans]) == "4"
        again = traces.get_row(trace(2))
        assert str(again[0]).startswith("●")  # its time cell, made each time: the mark
        assert [a is b for a, b in zip(again[1:], kept[1:], strict=True)] == [True] * 6


async def test_a_live_runs_new_counts_are_written_in_place_not_in_a_new_table(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same runs in the same order, a running one further on (its cells no wider): its
    cells change where they are; the table is not cleared and rebuilt, and the cursor stays
    on its run. Its end, wider, rebuilds the table."""
    app = ListHost()
    async with app.run_test(size=SIZE) as pilot:
        traces = app.query_one(TraceList)
        first = [run_summary(3, running_count=1, end_ns=None), run_summary(2), run_summary(1)]
        traces.show(first, trace(2), to_selected=True)
        await pilot.pause()
        kept = traces.get_row(trace(2))
        clear = traces.clear
        cleared: list[bool] = []

        def counted_clear(columns: bool = False) -> TraceList:
            cleared.append(columns)
            return clear(columns)

        monkeypatch.setattr(traces, "clear", counted_clear)
        traces.show([run_summary(3, running_count=1, end_ns=None, span_count=7), *first[1:]],
                    None)
        await pilot.pause()
        assert cleared == []
        spans = list(traces.columns).index(ColumnKey("spans"))
        assert str(traces.get_row(trace(3))[spans]) == "7"
        assert [a is b for a, b in zip(traces.get_row(trace(2)), kept, strict=True)] == [True] * 7
        assert traces.cursor_trace == trace(2)
        traces.show([run_summary(3, span_count=25, end_ns=T0 + 3 + 12_345_678_901),
                     *first[1:]], None)
        await pilot.pause()
        assert cleared == [True]
        assert str(traces.get_row(trace(3))[spans]) == "25"
        assert traces.cursor_trace == trace(2)


async def test_rows_held_back_for_a_search_come_when_the_same_page_is_shown_again(
    store: Store,
) -> None:
    """A search typed and taken back shows the same page again: its later rows, held back
    for the newer page, are added after paints as ever."""
    app = studio(store)
    async with app.run_test(size=SIZE) as pilot:
        traces = app.query_one(TraceList)
        await wait_for(pilot, lambda: traces.row_count == RUNS)
        summaries, page = list(traces.summaries), app.query_one(TraceBrowser).page
        traces.show(summaries[:40], None, page=page)  # a narrower page: the rows go
        traces.show(summaries, None, page=page)
        assert traces.row_count < RUNS
        traces.hold_later_rows()  # a newer query is coming...
        traces.show(summaries, None, page=page)  # ...and it is this page again
        await wait_for(pilot, lambda: traces.row_count == RUNS)


def shown_keys(traces: TraceList) -> list[str | None]:
    """The table's rows as they are drawn, top to bottom."""
    return [row.key.value for row in traces.ordered_rows]


class CountedClears:
    """Counts ``TraceList.clear``: each is a new table, its rows added again."""

    def __init__(self, traces: TraceList, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        clear = traces.clear

        def counted(columns: bool = False) -> TraceList:
            self.count += 1
            return clear(columns)

        monkeypatch.setattr(traces, "clear", counted)


async def test_new_runs_on_top_join_the_rows_shown_and_the_oldest_leave_without_a_new_table(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """New runs above the runs shown (as while an agent's runs stream in): they are added
    above them, a run that changed is written in place, the runs pushed off the page's end
    leave, and the cursor stays on its run; the table is not cleared and rebuilt. A re-sort
    is sorted in place too; a page of mostly other runs is a new table."""
    app = ListHost()
    async with app.run_test(size=SIZE) as pilot:
        traces = app.query_one(TraceList)
        first = [run_summary(3, running_count=1), run_summary(2), run_summary(1)]
        traces.show(first, trace(2), to_selected=True)
        await pilot.pause()
        kept = traces.get_row(trace(2))
        clears = CountedClears(traces, monkeypatch)
        spans = list(traces.columns).index(ColumnKey("spans"))

        three = run_summary(3, running_count=1, span_count=9)
        traces.show([run_summary(5), run_summary(4), three, *first[1:]], None)
        await pilot.pause()
        assert shown_keys(traces) == [trace(n) for n in (5, 4, 3, 2, 1)]
        assert traces.row_traces == shown_keys(traces)
        assert str(traces.get_row(trace(3))[spans]) == "9"
        assert [a is b for a, b in zip(traces.get_row(trace(2)), kept, strict=True)] == [True] * 7
        assert traces.cursor_trace == trace(2) and traces.cursor_row == 3

        # A page of five: two more on top push the two oldest off its end.
        traces.show([*(run_summary(n) for n in (7, 6, 5, 4)), three], None)
        await pilot.pause()
        assert shown_keys(traces) == [trace(n) for n in (7, 6, 5, 4, 3)]
        assert trace(2) not in traces.rows and trace(1) not in traces.rows
        assert traces.cursor_row == 3  # its run left: the same row, as in a new table
        assert clears.count == 0

        # The last run, pinned, goes to the top with a new one: it leaves the end first.
        pinned = run_summary(3, running_count=1, span_count=9, pinned_ns=T0)
        traces.show([pinned, run_summary(8), *(run_summary(n) for n in (7, 6, 5))], None)
        await pilot.pause()
        assert shown_keys(traces) == [trace(n) for n in (3, 8, 7, 6, 5)]
        assert traces.get_row_index(trace(3)) == 0 and traces.get_row_index(trace(5)) == 4
        assert str(traces.get_row(trace(3))[0]).startswith(" ▲")
        assert clears.count == 0

        # The same runs in another order (a re-sort): sorted where they are.
        traces.show([run_summary(8), pinned, *(run_summary(n) for n in (6, 7, 5))], None)
        await pilot.pause()
        assert shown_keys(traces) == [trace(n) for n in (8, 3, 6, 7, 5)]
        assert clears.count == 0

        # More new runs than the first screenfuls hold (another page): a new table.
        page = [run_summary(n) for n in range(400, 200, -1)]
        traces.show(page, None)
        await pilot.pause()
        assert clears.count == 1
        assert shown_keys(traces)[:3] == [trace(n) for n in (400, 399, 398)]


async def test_new_runs_on_top_of_a_long_page_still_arriving_keep_every_row_in_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """New runs on top while the page's later rows are still to come after paints: those
    come, once each, below the rest, in the page's order."""
    app = ListHost()
    async with app.run_test(size=SIZE) as pilot:
        traces = app.query_one(TraceList)
        page = [run_summary(n) for n in range(RUNS, 0, -1)]
        traces.show(page, None)
        assert traces.row_count < RUNS  # the first screenfuls only, so far
        clears = CountedClears(traces, monkeypatch)
        newer = [run_summary(n) for n in range(RUNS + 2, RUNS, -1)] + page[:-2]
        traces.show(newer, None)
        await wait_for(pilot, lambda: traces.row_count == RUNS)
        assert shown_keys(traces) == [t.trace_id for t in newer]
        assert clears.count == 0


def grouped_page(runs: list[TraceSummary]) -> TracePage:
    """The runs as a grouped page orders them: pinned first, then by conversation."""
    runs = sorted(runs, key=lambda t: (not t.pinned, t.conversation_id or "", -t.start_ns))
    sizes = Counter(t.conversation_id for t in runs if not t.pinned)
    return TracePage(TraceQuery(grouped=True), runs, len(runs), dict(sizes),
                     pinned=sum(1 for t in runs if t.pinned))


@pytest.mark.parametrize("grouped", [False, True])
async def test_the_table_shows_each_page_in_order_whatever_comes_next(grouped: bool) -> None:
    """Pages as a live list gets them (new runs on top, the oldest off the end, a run pinned
    to the top, a search's narrower page, counts moving on), one after another with and
    without a paint between, grouped by conversation or not: the table always holds the start
    of the page shown, in order, and then all of it."""
    app = ListHost()
    chance = random.Random(15)

    def run(n: int) -> TraceSummary:
        return run_summary(n, conversation_id=f"thread {n % 3}")

    async with app.run_test(size=SIZE) as pilot:
        traces = app.query_one(TraceList)
        runs = [run(n) for n in range(120, 0, -1)]
        newest = 120
        for step in range(40):
            kind = chance.choice(("new", "new", "new", "pin", "narrow", "counts"))
            if kind == "new":
                added = chance.randint(1, 30)
                runs = [run(n) for n in range(newest + added, newest, -1)] + runs
                newest += added
                runs = runs[:150]
            elif kind == "pin":
                moved = runs.pop(chance.randrange(len(runs)))
                runs.insert(0, replace(moved, pinned_ns=T0))
            elif kind == "narrow":
                runs = runs[: chance.randint(1, len(runs))]
            else:
                runs = [replace(t, span_count=t.span_count + 1) if chance.random() < 0.2 else t
                        for t in runs]
            page = grouped_page(runs) if grouped else None
            shown = page.summaries if page is not None else runs
            traces.show(shown, None, page=page)
            page_keys = [key for key, _ in traces._rows]
            assert shown_keys(traces) == page_keys[: traces.row_count], (step, kind)
            assert [k for k in page_keys if not k.startswith(GROUP_KEY)] == [
                t.trace_id for t in shown]
            if step % 4 == 0:
                await pilot.pause()
        await wait_for(pilot, lambda: traces.row_count == len(traces._rows))
        assert shown_keys(traces) == [key for key, _ in traces._rows]
        assert len(traces.rows) == len(traces._rows)
