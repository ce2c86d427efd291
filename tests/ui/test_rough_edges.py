"""The studio's rough edges a newcomer met (issue 19): maximizing, the first trace, small
terminals, the agents list."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest
from rich.console import Console
from textual.command import CommandPalette
from textual.geometry import Region
from textual.widget import Widget
from textual.widgets import Input

from lumos_studio.app import StudioApp
from lumos_studio.memory_view import MemoryView, SearchResult
from lumos_studio.sessions.discovery import load_demo
from lumos_studio.sessions.in_process import InProcessSession
from lumos_studio.sessions.worker import WorkerSession
from lumos_studio.store import Store
from lumos_studio.ui.widgets.agent_list import AgentList
from lumos_studio.ui.widgets.memory_pane import render_memory
from lumos_studio.ui.widgets.span_detail import SpanDetail, render_raw, render_span
from lumos_studio.ui.widgets.trace_list import TraceList
from lumos_studio.ui.widgets.waterfall import TraceWaterfall
from tests.builders import T0, weather_trace
from tests.ui.helpers import wait_for
from tests.ui.test_chat_streaming import (
    looking_up_agent,
    send,
    streaming,
    suspend_trip,
    transcript,
)

NEWER = "1bf7651916cd43dd8448eb211c80319c"


def studio(store: Store) -> StudioApp:
    store.writer.submit_many(weather_trace("0af7651916cd43dd8448eb211c80319c", T0))
    store.writer.submit_many(weather_trace(NEWER, T0 + 60 * 10**9))
    store.writer.flush()
    return StudioApp(store, InProcessSession.recording(load_demo(), store.writer))


# What to focus in each pane, and the pane F6 must give the screen to.
PANES = {
    "agents": ("#agents", "agents"),
    "chat": ("#chat-input", "chat"),
    "trace list": ("#traces", "trace-browser"),
    "waterfall": ("#tree", "trace-pane"),
    "span detail": ("#detail", "detail"),
    "memory": ("#memory", "memory"),
    "logs": ("#log-lines", "logs"),
}


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
@pytest.mark.parametrize("pane", list(PANES))
async def test_f6_gives_every_pane_the_screen_and_puts_it_back(
    store: Store, pane: str, size: tuple[int, int]
) -> None:
    focus, pane_id = PANES[pane]
    app = studio(store)
    async with app.run_test(size=size) as pilot:
        app.show_trace(NEWER)
        await wait_for(pilot, lambda: len(app.query_one(TraceWaterfall).spans) == 4)
        app.query_one(focus).focus()
        before = app.query_one(f"#{pane_id}").region
        await pilot.press("f6")
        await pilot.pause()
        maximized = app.screen.maximized
        assert maximized is not None and maximized.id == pane_id
        width, height = size
        assert maximized.region == (0, 0, width, height - 1)  # all but the footer
        await pilot.press("f6")
        await pilot.pause()
        assert app.screen.maximized is None
        assert app.query_one(f"#{pane_id}").region == before


async def test_the_maximized_waterfall_spreads_its_axis_over_the_whole_trace(store: Store) -> None:
    app = studio(store)
    async with app.run_test(size=(120, 40)) as pilot:
        tree = app.query_one(TraceWaterfall)
        app.show_trace(NEWER)
        await wait_for(pilot, lambda: len(tree.spans) == 4)
        tree.focus()
        await pilot.press("f6")
        await pilot.pause()
        header = tree.render_line(0).text
        assert header.rstrip().endswith("300ms"), header  # the axis reaches the trace's end
        root_bar = tree.render_line(1).text
        assert root_bar.count("█") > 70, root_bar  # the root's bar spans the maximized width
        assert tree.region.right <= 120


async def test_opening_the_studio_shows_the_newest_trace(store: Store) -> None:
    app = studio(store)
    async with app.run_test(size=(120, 40)) as pilot:
        tree = app.query_one(TraceWaterfall)
        await wait_for(pilot, lambda: tree.trace_id == NEWER and len(tree.spans) == 4)
        detail = app.query_one(SpanDetail)
        await wait_for(pilot, lambda: detail.span is not None)
        assert detail.span is not None and detail.span.name == "invoke_agent weather"
        traces = app.query_one(TraceList)
        assert traces.cursor_trace == NEWER
        assert app.focused is app.query_one("#chat-input")  # typing still goes to the chat


def _content_rows(widget: Widget) -> int:
    return widget.content_region.height


@pytest.mark.parametrize("size", [(80, 24), (100, 30), (120, 40)], ids=str)
async def test_every_pane_keeps_rows_of_its_own_from_80x24_up(
    store: Store, size: tuple[int, int]
) -> None:
    app = studio(store)
    async with app.run_test(size=size) as pilot:
        tree = app.query_one(TraceWaterfall)
        app.show_trace(NEWER)
        await wait_for(pilot, lambda: len(tree.spans) == 4)
        await pilot.pause()
        screen = app.screen.region
        for pane_id in ("agents", "chat", "trace-browser", "tree", "detail", "memory", "logs"):
            pane = app.query_one(f"#{pane_id}")
            assert pane.region in screen or screen.contains_region(pane.region), pane_id
            assert _content_rows(pane) >= 3, (pane_id, pane.region)
        assert _content_rows(tree) >= 5  # the header and the weather trace's four spans
        traces = app.query_one(TraceList)
        assert _content_rows(traces) >= 3  # its header and both traces
        assert traces.virtual_size.width <= traces.content_region.width  # no sideways scroll
        shown = {str(column.label) for column in traces.columns.values()}
        assert {"agent", "dur", "tokens", "status"} <= shown


async def test_the_agents_list_shows_each_entry_on_one_line(store: Store) -> None:
    app = studio(store)
    async with app.run_test(size=(140, 42)) as pilot:
        agents = app.query_one(AgentList)
        await wait_for(pilot, lambda: agents.option_count == 6)
        await pilot.pause()
        assert _content_rows(agents) >= 6
        lines = [agents.render_line(y).text for y in range(_content_rows(agents))]
        assert [line.split()[0] for line in lines[:6]] == [
            "weather", "calculator", "docs", "assistant", "⇶", "⇶"]
        assert "trip_planner" in lines[4] and "essay_writer" in lines[5]


async def test_q_while_a_run_is_going_asks_first_and_a_second_q_quits(
    store: Store, release: threading.Event
) -> None:
    app = StudioApp(store, InProcessSession.recording(looking_up_agent(release), store.writer))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press(*"find rome", "enter")
        await wait_for(pilot, lambda: "→ slow_lookup(city=Rome)" in streaming(app))
        app.query_one(TraceWaterfall).focus()  # outside the input, where q is a key
        await pilot.press("q")
        await pilot.pause()
        assert app.is_running and app.return_code is None
        assert any("press q again to quit" in str(n.message) for n in app._notifications)
        await pilot.press("q")
        await wait_for(pilot, lambda: not app.is_running)
    assert app.return_code == 0


async def test_q_with_no_run_going_quits_at_once(store: Store) -> None:
    app = studio(store)
    async with app.run_test(size=(120, 40)) as pilot:
        app.query_one(TraceWaterfall).focus()
        await pilot.press("q")
        await wait_for(pilot, lambda: not app.is_running)


async def test_ctrl_r_after_a_resumed_run_runs_the_workflow_again_from_its_input(
    store: Store,
) -> None:
    app = StudioApp(store, InProcessSession.recording(load_demo(), store.writer))
    async with app.run_test(size=(140, 45)) as pilot:
        await suspend_trip(pilot, app)
        await send(pilot, '{"approved": true}')
        await wait_for(pilot, lambda: "Approved: " in transcript(app))
        assert app.last_input == ("trip_planner", '{"destination": "oslo", "needs_approval": true}')

        await wait_for(pilot, lambda: not app.running)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: transcript(app).count("suspended at approve") == 2)
        assert "Field required" not in transcript(app)
        # the new run waits, as the first one did
        assert app.conversations["trip_planner"].suspended_run is not None


async def test_the_palettes_screenshot_command_saves_an_svg_and_says_where(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    app = studio(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"screenshot")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: list(tmp_path.glob("*.svg")), timeout=5)
        saved = next(tmp_path.glob("*.svg"))
        assert saved.read_text().lstrip().startswith("<svg")
        await wait_for(pilot, lambda: any("Saved screenshot" in str(n.message)
                                          for n in app._notifications))
        note = next(n for n in app._notifications if "Saved screenshot" in str(n.message))
        assert saved.name in str(note.message) and "[$" not in str(note.message)


def _printed(renderable: object, width: int) -> str:
    console = Console(width=width, file=io.StringIO(), record=True)
    console.print(renderable)
    return console.export_text()


async def test_the_raw_view_folds_long_lines_instead_of_cutting_them(store: Store) -> None:
    app = studio(store)
    async with app.run_test(size=(80, 24)) as pilot:
        detail = app.query_one(SpanDetail)
        await wait_for(pilot, lambda: detail.span is not None)
        detail.focus()
        await pilot.press("r")
        await pilot.pause()
        body = detail.query_one("#span-body")
        lines = body.render_lines(Region(0, 0, body.size.width, body.size.height))
        shown = "".join(line.text.strip() for line in lines)
        assert NEWER in shown  # the whole trace id, folded over two lines
        assert body.size.width <= detail.scrollable_content_region.width  # none of it hidden
        assert detail.max_scroll_x == 0


def test_the_readable_view_says_an_unset_status_is_read_as_ok() -> None:
    span = weather_trace(NEWER)[0]
    assert span.status_code == "UNSET"
    assert '"code": "UNSET"' in _printed(render_raw(span), width=100)
    status = next(line for line in _printed(render_span(span), width=100).splitlines()
                  if line.lstrip().startswith("status"))
    assert "OK (UNSET" in status


DEV_AGENTS = '''
from lumos_core import Agent, tool

@tool
def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"Sunny in {city}"

weather = Agent(name="weather", model="scripted", tools=[get_weather])
'''


async def test_a_message_sent_while_the_worker_first_loads_is_sent_once_it_has(
    store: Store, tmp_path: Path
) -> None:
    agent_file = tmp_path / "agents.py"
    agent_file.write_text("import time\ntime.sleep(3)  # a slow import, as of a big library\n"
                          + DEV_AGENTS)
    app = StudioApp(store, WorkerSession(agent_file, None))
    async with app.run_test(size=(120, 40)) as pilot:
        app.query_one("#chat-input", Input).value = "weather in Paris?"
        await pilot.press("enter")
        await pilot.pause()
        assert app.agent_name is None  # the worker was still importing the file
        said = [str(n.message) for n in app._notifications]
        assert not any("No agent to chat with" in text for text in said), said
        assert any("still loading" in text for text in said), said
        await wait_for(pilot, lambda: "weather › Sunny in Paris" in transcript(app), timeout=30)
        assert "you › weather in Paris?" in transcript(app)


async def test_a_message_sent_while_a_broken_file_loads_comes_back_to_the_input(
    store: Store, tmp_path: Path
) -> None:
    agent_file = tmp_path / "agents.py"
    agent_file.write_text("import time\ntime.sleep(3)\nraise RuntimeError('broken')\n")
    app = StudioApp(store, WorkerSession(agent_file, None))
    async with app.run_test(size=(120, 40)) as pilot:
        app.query_one("#chat-input", Input).value = "hello"
        await pilot.press("enter")
        await pilot.pause()
        assert not app.session_ready  # sent while the file was still loading
        await wait_for(pilot, lambda: app.session_ready, timeout=30)
        await pilot.pause()
        assert app.query_one("#chat-input", Input).value == "hello"
        assert any("did not load" in str(n.message) for n in app._notifications)


def test_messages_recalled_around_a_hit_hang_under_it_not_behind_a_bare_dash() -> None:
    view = MemoryView("t1", None, searches=(SearchResult("search_memory", "my city?", (
        ("user: I live in Lyon", 0.8123),
        ("assistant: Noted.", None),  # a neighbour of the hit: recalled for context
    )),))
    lines = _printed(render_memory(view), width=60).splitlines()
    hit = next(line for line in lines if "Lyon" in line)
    neighbour = next(line for line in lines if "Noted." in line)
    assert hit.startswith("0.812 ")
    assert neighbour.lstrip().startswith("↳") and "-" not in neighbour.split("Noted")[0]
