from __future__ import annotations

import dataclasses
import gc
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console, RenderableType
from textual.widgets import Input, Static

from lumos_core import Agent, ScriptedModel, tool
from lumos_studio.app import StudioApp
from lumos_studio.process_settings import START_UP_SWITCH_INTERVAL, hold_collections
from lumos_studio.sessions.base import Session
from lumos_studio.sessions.deferred import DeferredSession
from lumos_studio.sessions.demo import demo_session
from lumos_studio.sessions.discovery import AgentCatalog, load_demo
from lumos_studio.sessions.in_process import InProcessSession
from lumos_studio.store import Store, StoreTarget
from lumos_studio.ui.messages import TraceListLoaded
from lumos_studio.ui.widgets.agent_list import AgentList
from lumos_studio.ui.widgets.chat import ChatPane
from lumos_studio.ui.widgets.load_error import LoadErrorPanel
from lumos_studio.ui.widgets.metrics_strip import MetricsStrip, render_metrics
from lumos_studio.ui.widgets.span_detail import SpanDetail
from lumos_studio.ui.widgets.trace_list import TraceList
from lumos_studio.ui.widgets.trace_pane import TracePane
from lumos_studio.ui.widgets.waterfall import TraceWaterfall
from tests.builders import T0, weather_trace
from tests.ui.helpers import wait_for


@pytest.fixture
def store(store_target: StoreTarget) -> Iterator[Store]:
    """The studio on each engine: a SQLite file, a PostgreSQL database."""
    opened = Store.open(store_target)
    yield opened
    opened.close()


def rendered_text(renderable: RenderableType) -> str:
    console = Console(width=100, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(renderable)
    return console.export_text()


def transcript(app: StudioApp) -> str:
    return "\n".join(str(w.content) for w in app.query(".turn"))


async def test_a_chat_message_runs_the_agent_and_shows_its_four_span_tree(store: Store) -> None:
    app = StudioApp(store, InProcessSession.recording(load_demo(), store.writer))
    async with app.run_test(size=(120, 40)) as pilot:
        assert app.focused is app.query_one("#chat-input", Input)
        await pilot.press(*"weather in Paris?", "enter")
        tree = app.query_one(TraceWaterfall)
        await wait_for(pilot, lambda: len(tree.spans) == 4
                       and not any(s.running for s in tree.spans.values()))

        rows = [(tree.spans[r.span_id].name, r.depth) for r in tree.rows]
        assert rows == [
            ("invoke_agent weather", 0),
            ("chat scripted", 1),
            ("execute_tool get_weather", 1),
            ("chat scripted", 1),
        ]
        root_id = tree.rows[0].span_id
        assert all(tree.spans[r.span_id].parent_span_id == root_id for r in tree.rows[1:])
        await wait_for(pilot, lambda: "Paris." in transcript(app))
        assert "you › weather in Paris?" in transcript(app)
        traces = app.query_one(TraceList)  # read again after the last commit, paced
        await wait_for(pilot, lambda: traces.row_count == 1
                       and traces.summaries[0].span_count == 4)
        strip = app.query_one(MetricsStrip)
        await wait_for(pilot, lambda: strip.metrics.runs == 1)
        assert render_metrics(strip.metrics).plain.startswith("1 run · 0 errors · p50 ")


async def test_runs_another_process_stores_show_in_the_list_and_the_metrics(
    store: Store,
) -> None:
    """A ``run`` or an ``eval`` in another terminal writes the same store (a SQLite file, a
    shared PostgreSQL database): the open studio shows its trace (it heard only its own
    writer's commits before)."""
    app = StudioApp(store, InProcessSession.recording(load_demo(), store.writer))
    async with app.run_test(size=(120, 40)) as pilot:
        traces = app.query_one(TraceList)
        strip = app.query_one(MetricsStrip)
        await wait_for(pilot, lambda: app.agent_name is not None)
        assert traces.row_count == 0
        with Store.open(store.target) as other:  # another process's writer: its own connection
            other.writer.commit(weather_trace("4" * 32))
            other.writer.flush()
        await wait_for(pilot, lambda: traces.row_count == 1, timeout=5)
        await wait_for(pilot, lambda: render_metrics(strip.metrics).plain.startswith("1 run"))


async def test_the_tree_shows_running_spans_while_a_slow_tool_works(store: Store) -> None:
    release = threading.Event()

    @tool
    def slow_lookup(city: str) -> str:
        """Slow lookup of a city."""
        release.wait(10)
        return f"found {city}"

    catalog = AgentCatalog("test", {"slow": Agent("slow", model=ScriptedModel(),
                                                  tools=[slow_lookup])})
    app = StudioApp(store, InProcessSession.recording(catalog, store.writer))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press(*"slow lookup for Rome", "enter")
        tree = app.query_one(TraceWaterfall)
        await wait_for(pilot, lambda: any(
            s.name == "execute_tool slow_lookup" and s.running for s in tree.spans.values()))
        assert app.query_one("#chat-input", Input).disabled
        running = [tree.spans[r.span_id].name for r in tree.rows if tree.spans[r.span_id].running]
        assert running == ["invoke_agent slow", "execute_tool slow_lookup"]
        release.set()
        await wait_for(pilot, lambda: len(tree.spans) == 4
                       and not any(s.running for s in tree.spans.values()))
        await wait_for(pilot, lambda: not app.query_one("#chat-input", Input).disabled)


async def test_selecting_a_trace_and_a_span_shows_its_detail(store: Store) -> None:
    store.writer.submit_many(weather_trace())
    store.writer.flush()
    app = StudioApp(store, InProcessSession.recording(load_demo(), store.writer))
    async with app.run_test(size=(120, 40)) as pilot:
        traces = app.query_one(TraceList)
        await wait_for(pilot, lambda: traces.row_count == 1)
        traces.focus()
        await pilot.press("enter")
        tree = app.query_one(TraceWaterfall)
        await wait_for(pilot, lambda: len(tree.spans) == 4)
        assert app.focused is tree
        detail = app.query_one(SpanDetail)
        await wait_for(pilot, lambda: detail.span is not None)
        assert detail.span.name == "invoke_agent weather"
        await pilot.press("down", "down")
        await wait_for(pilot, lambda: detail.span.name == "execute_tool get_weather")
        shown = rendered_text(detail.query_one("#span-body", Static).content)
        assert "Arguments" in shown and '"city": "Paris"' in shown
        assert "Result" in shown and "Sunny, 18 °C in Paris." in shown


async def test_switching_agents_keeps_each_conversation(store: Store) -> None:
    app = StudioApp(store, InProcessSession.recording(load_demo(), store.writer))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press(*"what is 6*7", "enter")
        app.query_one("#agents").focus()
        chat = app.query_one(ChatPane)
        assert chat.agent_name == "weather"
        # The turn is over (its end refocuses the chat input when that had the focus).
        await wait_for(pilot, lambda: bool(app.conversations["weather"].history)
                       and not app.running)
        await pilot.press("down")
        await wait_for(pilot, lambda: chat.agent_name == "calculator")
        assert transcript(app) == ""
        app.query_one("#chat-input").focus()
        await pilot.press(*"what is 6*7", "enter")
        await wait_for(pilot, lambda: "6*7 = 42" in transcript(app))
        app.query_one("#agents").focus()
        await pilot.press("up")
        await wait_for(pilot, lambda: chat.agent_name == "weather")
        assert "you › what is 6*7" in transcript(app)
        assert "42" not in transcript(app)


async def test_an_agent_that_raises_shows_the_error_and_the_studio_keeps_going(
    store: Store,
) -> None:
    @tool
    def broken(city: str) -> str:
        """Broken weather for a city."""
        raise RuntimeError("backend down")

    catalog = AgentCatalog("test", {"w": Agent("w", model="scripted", tools=[broken])})
    app = StudioApp(store, InProcessSession.recording(catalog, store.writer))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press(*"broken weather in Rome", "enter")
        await wait_for(pilot, lambda: "RuntimeError: backend down" in transcript(app))
        tree = app.query_one(TraceWaterfall)
        await wait_for(pilot, lambda: any(s.status_code == "ERROR" for s in tree.spans.values()))
        assert not app.query_one("#chat-input", Input).disabled
        await pilot.press(*"hello", "enter")
        await wait_for(pilot, lambda: transcript(app).count("you ›") == 2)


async def test_help_panel_toggles_and_quit_keys(store: Store) -> None:
    app = StudioApp(store, InProcessSession.recording(load_demo(), store.writer))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f1")
        assert app.screen.query("HelpPanel")
        await pilot.press("f1")
        await pilot.pause()
        assert not app.screen.query("HelpPanel")
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert app.return_code == 0


async def test_mark_compare_and_save_runs_from_the_trace_list(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lumos_studio.otlp import read_file
    from lumos_studio.ui.screens.compare import CompareScreen

    monkeypatch.chdir(tmp_path)
    store.writer.submit_many(weather_trace("1" * 32, T0))
    changed = [dataclasses.replace(s, trace_id="2" * 32, start_ns=s.start_ns + 10**9,
                                   end_ns=s.end_ns + 10**9) for s in weather_trace()]
    store.writer.submit_many(changed[:2] + changed[3:])  # one tool call fewer
    store.writer.flush()
    app = StudioApp(store, InProcessSession.recording(load_demo(), store.writer))
    async with app.run_test(size=(120, 40)) as pilot:
        traces = app.query_one(TraceList)
        await wait_for(pilot, lambda: traces.row_count == 2)
        traces.focus()
        await pilot.press("down", "m")  # mark the older run
        assert traces.marked == ["1" * 32]
        await pilot.press("up", "c")  # compare with the newer one
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen))
        await wait_for(pilot, lambda: app.screen.comparison is not None)
        assert "1 tool call fewer" in app.screen.comparison.summary
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, CompareScreen))

        await pilot.press("s")  # saves the marked run
        await wait_for(pilot, lambda: list((tmp_path / "traces").glob("weather-*.jsonl")))
        (saved,) = (tmp_path / "traces").glob("weather-*.jsonl")
        records, problems = read_file(saved)
        assert problems == [] and {r.trace_id for r in records} == {"1" * 32}


async def test_a_pane_can_be_maximized_and_restored(store: Store) -> None:
    store.writer.submit_many(weather_trace())
    store.writer.flush()
    app = StudioApp(store, InProcessSession.recording(load_demo(), store.writer))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f6")  # from the chat input: the whole chat pane
        assert app.screen.maximized is app.query_one(ChatPane)
        await pilot.press("f6")
        assert app.screen.maximized is None
        app.query_one(TraceWaterfall).focus()
        await pilot.press("f6")
        assert app.screen.maximized is app.query_one(TracePane)


async def test_a_log_line_jumps_to_the_span_it_was_written_in(store: Store) -> None:
    import logging

    from lumos_studio.ui.widgets.log_lines import LogLines
    from lumos_studio.ui.widgets.logs_pane import LogsPane

    @tool
    def lookup_city(city: str) -> str:
        """Lookup of a city."""
        logging.getLogger("tests.lookup").info("looking up %s", city)
        return f"found {city}"

    catalog = AgentCatalog("test", {"finder": Agent("finder", model=ScriptedModel(),
                                                    tools=[lookup_city])})
    app = StudioApp(store, InProcessSession.recording(catalog, store.writer))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press(*"lookup city Rome", "enter")
        tree = app.query_one(TraceWaterfall)
        await wait_for(pilot, lambda: len(tree.spans) == 4 and not app.running)
        lines = app.query_one(LogLines)
        await wait_for(pilot, lambda: lines.matches is not None and lines.matches.count == 1)
        await wait_for(pilot, lambda: lines.row(0) is not None)
        assert lines.row(0).message == "looking up Rome"
        app.query_one(SpanDetail).focus()
        await pilot.press("up")  # move the tree elsewhere first: the jump must bring it back
        lines.focus()
        await pilot.press("enter")
        tool_span = next(s for s in tree.spans.values() if s.name == "execute_tool lookup_city")
        await wait_for(pilot, lambda: app.query_one(SpanDetail).span.span_id == tool_span.span_id)
        assert app.focused is tree
        assert app.query_one(LogsPane).span == (tool_span.trace_id, tool_span.span_id)


async def test_the_default_studio_answers_a_message_typed_before_its_demo_has_loaded(
    store: Store,
) -> None:
    """``lumos-studio`` makes the demo after its first frame (``sessions/deferred.py``): a
    message sent at once waits for the agents and is answered."""
    app = StudioApp(store, demo_session(store.writer))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press(*"weather in Paris?", "enter")
        await wait_for(pilot, lambda: "Paris." in transcript(app))
        assert "you › weather in Paris?" in transcript(app)
        agents = app.query_one(AgentList)
        assert app.agent_name == "weather"
        assert agents.option_count == len(app.session.agents) > 1


async def test_collections_held_at_start_resume_once_the_first_frame_is_drawn(
    store: Store,
) -> None:
    before = gc.get_threshold()
    hold_collections()  # as the entry point does: until the first frame
    try:
        app = StudioApp(store, demo_session(store.writer))
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, gc.isenabled)
            assert gc.get_freeze_count() > 0
    finally:
        gc.enable()
        gc.unfreeze()
        gc.set_threshold(*before)


async def test_at_start_the_trace_list_is_read_first_then_the_agents_and_the_strip(
    store: Store,
) -> None:
    """The session's imports and the strip's read came beside the list's first read, which gave
    up the GIL at each SQLite step and waited to get it back: a 1.1M-span store's list was drawn
    0.39 s after the first frame, 0.12 s now (``bench startup``). Meanwhile the GIL changes
    hands every 0.5 ms; after, as it was."""
    store.writer.submit_many(weather_trace())
    store.writer.flush()
    usual = sys.getswitchinterval()
    seen: list[tuple[int, int, float]] = []  # at the session's start: rows, strip runs, interval

    def make() -> Session:
        strip = app.query_one(MetricsStrip)
        seen.append((app.query_one(TraceList).row_count, strip.metrics.runs,
                     sys.getswitchinterval()))
        return InProcessSession.recording(load_demo(), store.writer)

    listing: list[float] = []  # the switch interval as the list's first page came

    class Watched(StudioApp):
        def on_trace_list_loaded(self, message: TraceListLoaded) -> None:
            listing.append(sys.getswitchinterval())
            super().on_trace_list_loaded(message)

    app = Watched(store, DeferredSession("the bundled demo", make))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: seen and app.query_one(MetricsStrip).metrics.runs == 1)
        assert seen == [(1, 0, usual)]  # the list drawn, the strip not read yet
        assert listing[0] == START_UP_SWITCH_INTERVAL
    assert sys.getswitchinterval() == usual


async def test_the_agent_list_says_loading_until_the_session_has_its_agents(store: Store) -> None:
    release = threading.Event()

    def make() -> Session:
        release.wait(10)  # the demo still being made
        return InProcessSession.recording(load_demo(), store.writer)

    app = StudioApp(store, DeferredSession("the bundled demo", make))
    async with app.run_test(size=(120, 40)) as pilot:
        agents = app.query_one(AgentList)
        await pilot.pause()
        assert agents.option_count == 0
        assert agents.border_subtitle == "loading…"
        release.set()
        await wait_for(pilot, lambda: agents.option_count > 0)
        assert agents.border_subtitle == ""


async def test_a_session_that_fails_to_load_stops_saying_loading(store: Store) -> None:
    def make() -> Session:
        raise ImportError("No module named 'weather_tools'")

    app = StudioApp(store, DeferredSession("agents.py", make))
    async with app.run_test(size=(120, 40)) as pilot:
        agents = app.query_one(AgentList)
        await wait_for(pilot, lambda: app.query_one(LoadErrorPanel).problem is not None)
        assert agents.border_subtitle == ""
        assert agents.option_count == 0


async def test_the_header_names_the_otlp_endpoint_before_the_store(tmp_path: Path) -> None:
    """An 80-column header cuts its end: what exporters are pointed at comes first."""
    store = Store(tmp_path / "studio.db")
    app = StudioApp(store, InProcessSession.recording(load_demo(), store.writer),
                    endpoint="http://127.0.0.1:4318")
    async with app.run_test(size=(80, 24)):
        assert app.sub_title == (
            f"{app.session.source} · OTLP http://127.0.0.1:4318 · {store.label}")
    store.close()
