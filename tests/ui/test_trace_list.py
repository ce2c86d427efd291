"""The trace list as an index of runs, driven by keys: search, sort, group, pin, delete.

The studio runs on each engine (``store_target``: a SQLite file, a PostgreSQL database)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace

import pytest
from textual.widgets import Input, Label

from lumos_core.telemetry import semconv as sc
from lumos_studio.app import StudioApp
from lumos_studio.records import SpanRecord
from lumos_studio.sessions.discovery import load_demo
from lumos_studio.sessions.in_process import InProcessSession
from lumos_studio.store import Store, StoreReader, StoreTarget, TraceQuery, trace_search
from lumos_studio.store.postgres import trace_walk
from lumos_studio.ui.widgets.metrics_strip import MetricsStrip
from lumos_studio.ui.widgets.trace_browser import ConfirmDelete, TraceBrowser
from lumos_studio.ui.widgets.trace_list import TraceList
from lumos_studio.ui.widgets.waterfall import TraceWaterfall
from tests.builders import T0, agent_run, make_span
from tests.ui.helpers import wait_for

SIZE = (120, 40)


@pytest.fixture
def store(store_target: StoreTarget) -> Iterator[Store]:
    opened = Store.open(store_target)
    yield opened
    opened.close()


def studio(store: Store) -> StudioApp:
    """Three recorded runs: 1 and 3 in one conversation, 2 on its own and failed."""
    runs = [
        agent_run(1, said="weather in Paris?", answer="Sunny in Paris", conversation="t-a",
                  duration_ms=300, tokens=10),
        agent_run(2, agent="support", said="refund my order", status="ERROR",
                  conversation="t-b", duration_ms=900, tokens=99),
        agent_run(3, said="and in London?", answer="Rain in London", conversation="t-a",
                  duration_ms=100, tokens=50),
    ]
    for spans in runs:
        store.writer.submit_many(spans)
    store.writer.flush()
    return StudioApp(store, InProcessSession.recording(load_demo(), store.writer))


def listed(app: StudioApp) -> list[int]:
    return [int(t.trace_id, 16) for t in app.query_one(TraceList).summaries]


async def ready(app: StudioApp, pilot) -> TraceList:  # type: ignore[no-untyped-def]
    traces = app.query_one(TraceList)
    await wait_for(pilot, lambda: traces.row_count == 3)
    traces.focus()
    return traces


async def test_a_search_narrows_the_rows_and_counts_the_matches(store: Store) -> None:
    app = studio(store)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        browser = app.query_one(TraceBrowser)
        await pilot.press("slash")
        assert app.focused is app.query_one("#trace-search", Input)
        await pilot.press(*"paris")
        await wait_for(pilot, lambda: listed(app) == [1])
        assert browser.border_subtitle == "1 match"
        assert str(app.query_one("#trace-search-status", Label).content) == ""

        await pilot.press(*" agent:weather")  # qualifiers narrow the words further
        await wait_for(pilot, lambda: browser.page is not None
                       and browser.page.query.filter.agents == ("weather",))
        assert listed(app) == [1]

        await pilot.press("escape")  # clears the search and goes back to the list
        await wait_for(pilot, lambda: listed(app) == [3, 2, 1])
        assert app.focused is app.query_one(TraceList)
        assert browser.border_subtitle == "3 traces"


async def test_a_bad_query_says_why_and_keeps_the_list(store: Store) -> None:
    app = studio(store)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        await pilot.press("slash")
        app.query_one("#trace-search", Input).value = "dur:>2"  # as if pasted
        status = app.query_one("#trace-search-status", Label)
        await wait_for(pilot, lambda: status.has_class("-error"))
        assert "needs a unit" in str(status.content)
        assert listed(app) == [3, 2, 1]
        await pilot.press("s")  # fixed: the message goes, the search runs
        await wait_for(pilot, lambda: not status.has_class("-error") and listed(app) == [])


def suspended_workflow(n: int) -> list[SpanRecord]:
    """A workflow run that waits for a person: the list says SUSPENDED."""
    attributes = {sc.OPERATION_NAME: sc.OP_INVOKE_WORKFLOW, sc.LUMOS_WORKFLOW_NAME: "trip",
                  sc.LUMOS_WORKFLOW_STATUS: "suspended"}
    return [make_span("invoke_workflow trip", trace_id=f"{n:032x}", span_id=f"{n:016x}",
                      start=T0 + n * 10**9, attributes=attributes)]


async def test_status_suspended_finds_the_suspended_runs_and_a_bad_status_says_it_all(
        store: Store) -> None:
    store.writer.submit_many(suspended_workflow(4))
    app = studio(store)
    async with app.run_test(size=(80, 24)) as pilot:
        traces = app.query_one(TraceList)
        await wait_for(pilot, lambda: traces.row_count == 4)
        assert traces.summaries[0].status == "SUSPENDED"
        traces.focus()
        await pilot.press("slash", *"status:suspended")
        await wait_for(pilot, lambda: listed(app) == [4])
        status = app.query_one("#trace-search-status", Label)
        assert str(status.content) == ""  # no "searching…" left behind
        await pilot.press("x")  # status:suspendedx: the message wraps in the pane, whole
        await wait_for(pilot, lambda: status.has_class("-error"))
        message = str(status.content)
        assert message.endswith("or suspended")
        shown = " ".join(status.render_lines(status.region.reset_offset)[y].text.strip()
                         for y in range(status.region.height))
        assert status.region.height > 1 and shown == message
        assert app.query_one(TraceBrowser).region.contains_region(status.region)
        await pilot.press("backspace")  # the query shown again: nothing to wait for
        await wait_for(pilot, lambda: not status.has_class("-error"))
        assert str(status.content) == "" and listed(app) == [4]


async def test_f1_lists_escape_clear_search_while_no_search_is_open(store: Store) -> None:
    app = studio(store)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        await pilot.press("f1")
        await wait_for(pilot, lambda: app.screen.query("HelpPanel"))
        await pilot.pause()
        strips = app.screen._compositor.render_strips()
        shown = "\n".join("".join(segment.text for segment in strip) for strip in strips)
        assert "esc Clear search" in shown and "/ Search" in shown
        await pilot.press("escape")  # nothing to clear: the list keeps its rows and the focus
        assert listed(app) == [3, 2, 1] and app.focused is app.query_one(TraceList)


async def test_o_cycles_the_sort_order(store: Store) -> None:
    app = studio(store)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        browser = app.query_one(TraceBrowser)
        await pilot.press("o")
        await wait_for(pilot, lambda: listed(app) == [1, 2, 3])
        assert browser.border_subtitle == "3 traces · oldest"
        await pilot.press("o")
        await wait_for(pilot, lambda: listed(app) == [2, 1, 3])  # slowest
        await pilot.press("o")
        await wait_for(pilot, lambda: listed(app) == [2, 3, 1])  # most tokens
        await pilot.press("o")
        await wait_for(pilot, lambda: browser.border_subtitle == "3 traces · errors first")
        assert listed(app) == [2, 3, 1]


async def test_g_groups_runs_by_conversation_under_headers(store: Store) -> None:
    app = studio(store)
    async with app.run_test(size=SIZE) as pilot:
        traces = await ready(app, pilot)
        await pilot.press("g")
        await wait_for(pilot, lambda: traces.row_count == 5)
        assert [t[-1] if t else None for t in traces.row_traces] == [None, "3", "1", None, "2"]
        header = traces.get_row_at(0)
        assert (header[0].plain, header[1].plain, header[-1].plain) == ("▾ thread", "t-a", "2 runs")
        assert "by thread" in str(app.query_one(TraceBrowser).border_subtitle)
        traces.move_cursor(row=0)
        opened = app.trace_id  # the newest, opened with the studio
        await pilot.press("enter")  # a header is not a run: nothing opens
        await pilot.pause()
        assert app.trace_id == opened
        await pilot.press("g")
        await wait_for(pilot, lambda: traces.row_count == 3)


async def test_p_pins_a_run_to_the_top_and_p_again_unpins_it(store: Store) -> None:
    app = studio(store)
    async with app.run_test(size=SIZE) as pilot:
        traces = await ready(app, pilot)
        traces.move_cursor(row=2)  # the oldest run
        await pilot.press("p")
        await wait_for(pilot, lambda: listed(app) == [1, 3, 2])
        assert traces.summaries[0].pinned
        assert traces.get_row_at(0)[0].plain.startswith(" ▲")
        assert traces.cursor_trace == f"{1:032x}"  # the cursor followed it
        await pilot.press("p")
        await wait_for(pilot, lambda: listed(app) == [3, 2, 1])


async def test_delete_asks_first_then_removes_the_run_and_clears_its_view(store: Store) -> None:
    app = studio(store)
    async with app.run_test(size=SIZE) as pilot:
        traces = await ready(app, pilot)
        await pilot.press("enter")  # open the newest run
        tree = app.query_one(TraceWaterfall)
        await wait_for(pilot, lambda: len(tree.spans) == 2)
        traces.focus()
        await pilot.press("delete")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDelete))
        await pilot.press("n")  # kept
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmDelete))
        assert listed(app) == [3, 2, 1]

        await pilot.press("delete")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDelete))
        await pilot.press("y")
        await wait_for(pilot, lambda: listed(app) == [2, 1])
        assert store.reader.trace_spans(f"{3:032x}") == []
        await wait_for(pilot, lambda: app.trace_id is None and not tree.spans)


async def test_deleting_marked_runs_asks_about_them_all_then_removes_them(store: Store) -> None:
    app = studio(store)
    async with app.run_test(size=SIZE) as pilot:
        traces = await ready(app, pilot)
        traces.focus()
        await pilot.press("m", "down", "m")
        browser = app.query_one(TraceBrowser)
        await wait_for(pilot, lambda: browser.border_subtitle == "3 traces · 2 marked")
        await pilot.press("delete")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDelete))
        question = str(app.screen.query_one("#confirm-question", Label).render())
        assert question.startswith("Delete 2 marked runs with their spans and logs?")
        await pilot.press("y")
        await wait_for(pilot, lambda: listed(app) == [1])


async def test_typing_a_search_does_not_sum_the_metrics_again_but_a_stored_run_does(
        store: Store) -> None:
    app = studio(store)
    reader = store.reader
    sums: list[int] = []
    metrics = reader.metrics

    def counted():  # type: ignore[no-untyped-def]
        sums.append(1)
        return metrics()

    reader.metrics = counted  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        await wait_for(pilot, lambda: app.query_one(MetricsStrip).metrics.runs == 3)
        before = len(sums)
        await pilot.press("slash", *"paris")
        await wait_for(pilot, lambda: listed(app) == [1])
        assert len(sums) == before  # the strip sums the newest runs, whatever is searched
        store.writer.submit_many(agent_run(4, said="and in Rome?", conversation="t-c"))
        await wait_for(pilot, lambda: app.query_one(MetricsStrip).metrics.runs == 4)
        assert len(sums) > before


async def test_a_word_in_most_texts_shows_its_page_then_its_count(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page of a dense word comes uncounted ("≥ 2 matches, counting…"); the total follows
    from another read, held here until the page is on screen. On both engines."""
    monkeypatch.setattr(trace_search, "DENSE_TEXTS", 0)  # SQLite: every word in texts is dense
    monkeypatch.setattr(trace_walk, "WALK_MIN_RUNS", 0)  # PostgreSQL: a store of any size
    gate = threading.Event()
    reader_type = type(store.reader)
    counting = reader_type.count_matches

    def held(reader: StoreReader, query: TraceQuery) -> int:
        gate.wait(10)
        return counting(reader, query)

    monkeypatch.setattr(reader_type, "count_matches", held)
    try:
        app = studio(store)
        async with app.run_test(size=SIZE) as pilot:
            await ready(app, pilot)
            browser = app.query_one(TraceBrowser)
            browser.query_state = replace(browser.query_state, limit=2)
            await pilot.press("slash", *"in")  # in runs' texts, and in every root's name
            await wait_for(pilot, lambda: listed(app) == [3, 2])
            assert browser.border_subtitle == "≥ 2 matches, counting…"
            gate.set()
            await wait_for(pilot, lambda: browser.border_subtitle == "first 2 of 3 matches")
    finally:
        gate.set()


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
async def test_a_long_agent_name_is_cut_and_leaves_the_other_columns_in_view(
    store: Store, size: tuple[int, int]
) -> None:
    store.writer.submit_many(agent_run(1, agent="long" + "Y" * 300, duration_ms=109))
    store.writer.flush()
    app = StudioApp(store, InProcessSession.recording(load_demo(), store.writer))
    async with app.run_test(size=size) as pilot:
        traces = app.query_one(TraceList)
        await wait_for(pilot, lambda: traces.row_count == 1)
        await pilot.pause()
        agent = traces.get_cell_at((0, 1))
        assert agent.plain.endswith("…") and len(agent.plain) <= 32
        room = traces.scrollable_content_region.width
        widths = sum(column.get_render_width(traces) for column in traces.ordered_columns)
        assert widths <= room  # the duration (and what else fits) is not cut at the edge
        assert "duration" in [c.key.value for c in traces.ordered_columns]
