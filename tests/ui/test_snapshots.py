"""Snapshots of the main screen, from a fixed store so every run renders the same."""

from __future__ import annotations

import pytest
from textual.pilot import Pilot

from lumos_studio.app import StudioApp
from lumos_studio.sessions.discovery import load_demo
from lumos_studio.sessions.in_process import InProcessSession
from lumos_studio.store import Store
from lumos_studio.store.trace_filter import parse_filter
from lumos_studio.ui.widgets.span_detail import SpanDetail
from lumos_studio.ui.widgets.trace_browser import TraceBrowser
from lumos_studio.ui.widgets.trace_list import TraceList
from lumos_studio.ui.widgets.waterfall import TraceWaterfall
from tests.builders import T0, agent_run, weather_trace
from tests.ui.helpers import wait_for


@pytest.fixture
def store(relative_store: Store) -> Store:
    return relative_store


OLDER, NEWER = "0af7651916cd43dd8448eb211c80319c", "1bf7651916cd43dd8448eb211c80319c"


def studio_with_a_recorded_turn(store: Store) -> StudioApp:
    store.writer.submit_many(weather_trace(OLDER, T0))
    store.writer.submit_many(weather_trace(NEWER, T0 + 60 * 10**9))
    store.writer.flush()
    app = StudioApp(store, InProcessSession.recording(load_demo(), store.writer))
    app.conversations["weather"].turns = [("you", "weather in Paris?"),
                                          ("weather", "Sunny, 18 °C in Paris.")]
    return app


async def select_tool_span(pilot: Pilot) -> None:
    app = pilot.app
    traces = app.query_one(TraceList)
    await wait_for(pilot, lambda: traces.row_count == 2)
    tree = app.query_one(TraceWaterfall)
    await wait_for(pilot, lambda: tree.trace_id == NEWER)  # opened with the studio
    traces.focus()
    await pilot.press("down", "enter")
    await wait_for(pilot, lambda: tree.trace_id == OLDER and len(tree.spans) == 4)
    detail = app.query_one(SpanDetail)
    await wait_for(pilot, lambda: detail.span is not None and detail.span.trace_id == OLDER)
    await pilot.press("down", "down")
    await wait_for(pilot, lambda: detail.span.name == "execute_tool get_weather")
    await pilot.pause()


def test_main_screen_with_a_tool_span_selected(snap_compare, store: Store) -> None:  # type: ignore[no-untyped-def]
    app = studio_with_a_recorded_turn(store)
    assert snap_compare(app, run_before=select_tool_span, terminal_size=(120, 40))


def test_main_screen_on_a_small_terminal(snap_compare, store: Store) -> None:  # type: ignore[no-untyped-def]
    """80x24: the trace tree and the span detail keep rows of their own."""
    app = studio_with_a_recorded_turn(store)
    assert snap_compare(app, run_before=select_tool_span, terminal_size=(80, 24))


def test_main_screen_on_a_wide_terminal(snap_compare, store: Store) -> None:  # type: ignore[no-untyped-def]
    app = studio_with_a_recorded_turn(store)
    assert snap_compare(app, run_before=select_tool_span, terminal_size=(200, 60))


def test_main_screen_in_the_light_theme(snap_compare, store: Store) -> None:  # type: ignore[no-untyped-def]
    app = studio_with_a_recorded_turn(store)

    async def light_then_select(pilot: Pilot) -> None:
        pilot.app.theme = "textual-light"
        await select_tool_span(pilot)

    assert snap_compare(app, run_before=light_then_select, terminal_size=(120, 40))


def test_main_screen_in_the_light_theme_on_a_wide_terminal(snap_compare, store: Store) -> None:  # type: ignore[no-untyped-def]
    app = studio_with_a_recorded_turn(store)

    async def light_then_select(pilot: Pilot) -> None:
        pilot.app.theme = "textual-light"
        await select_tool_span(pilot)

    assert snap_compare(app, run_before=light_then_select, terminal_size=(200, 60))


def test_main_screen_with_side_panes_hidden(snap_compare, store: Store) -> None:  # type: ignore[no-untyped-def]
    app = studio_with_a_recorded_turn(store)

    async def focus_on_the_run(pilot: Pilot) -> None:
        await select_tool_span(pilot)
        await pilot.press("f3", "f4", "alt+left", "alt+left")  # the tree gives the detail room
        pilot.app.clear_notifications()  # the "hidden" toasts, which time out anyway
        await pilot.pause()

    assert snap_compare(app, run_before=focus_on_the_run, terminal_size=(120, 40))


def test_main_screen_with_a_trace_search(snap_compare, store: Store) -> None:  # type: ignore[no-untyped-def]
    store.writer.submit_many(agent_run(7, agent="support", said="refund my order", status="ERROR"))
    app = studio_with_a_recorded_turn(store)

    async def search(pilot: Pilot) -> None:
        traces = pilot.app.query_one(TraceList)
        await wait_for(pilot, lambda: traces.row_count == 3)
        detail = pilot.app.query_one(SpanDetail)
        await wait_for(pilot, lambda: detail.span is not None)  # the newest run, opened
        traces.focus()
        await pilot.press("slash", *"paris dur:>100ms", "enter")
        browser = pilot.app.query_one(TraceBrowser)
        wanted = parse_filter("paris dur:>100ms")
        await wait_for(pilot, lambda: browser.page is not None
                       and browser.page.query.filter == wanted)
        await pilot.pause()

    assert snap_compare(app, run_before=search, terminal_size=(120, 40))


async def open_the_key_help_in_the_tree(pilot: Pilot) -> None:
    await select_tool_span(pilot)
    pilot.app.query_one(TraceWaterfall).focus()
    await pilot.press("f1")
    await pilot.pause()


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
def test_the_key_help_open(snap_compare, store: Store, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    """F1 on the tree: at 80x24 the agents and chat make room for the help."""
    app = studio_with_a_recorded_turn(store)
    assert snap_compare(app, run_before=open_the_key_help_in_the_tree, terminal_size=size)
