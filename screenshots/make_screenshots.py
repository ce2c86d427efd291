"""Make the README's screenshots from the real app: ``python screenshots/make_screenshots.py``.

Drives the real apps headless with Pilot on a throwaway store, the bundled demo agents and the
demo traces in ``traces/``, so the pictures show what a user sees, not a mock-up. Waits on the
apps' state (spans finished, input enabled) rather than sleeping.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

# Before anything formats a time: the pictures should not depend on where they were made.
os.environ["TZ"] = "UTC"
time.tzset()

from textual.app import App  # noqa: E402
from textual.pilot import Pilot  # noqa: E402
from textual.widgets import Input, Label  # noqa: E402

from lumos_core.debug import PausePoint  # noqa: E402
from lumos_studio.app import StudioApp  # noqa: E402
from lumos_studio.compare_app import CompareApp  # noqa: E402
from lumos_studio.replay.loader import load_trace  # noqa: E402
from lumos_studio.replay_app import ReplayApp  # noqa: E402
from lumos_studio.sessions.discovery import load_demo  # noqa: E402
from lumos_studio.sessions.in_process import InProcessSession  # noqa: E402
from lumos_studio.store import Store  # noqa: E402
from lumos_studio.ui.breakpoints import BreakpointSpec  # noqa: E402
from lumos_studio.ui.screens.compare import CompareScreen  # noqa: E402
from lumos_studio.ui.screens.experiments import ExperimentsScreen  # noqa: E402
from lumos_studio.ui.screens.experiments_cases import ExperimentCasesScreen  # noqa: E402
from lumos_studio.ui.screens.paused import PausedScreen  # noqa: E402
from lumos_studio.ui.widgets.agent_list import AgentList  # noqa: E402
from lumos_studio.ui.widgets.graph import GraphPane  # noqa: E402
from lumos_studio.ui.widgets.memory_pane import MemoryPane  # noqa: E402
from lumos_studio.ui.widgets.playback_bar import PlaybackBar  # noqa: E402
from lumos_studio.ui.widgets.span_detail import SpanDetail  # noqa: E402
from lumos_studio.ui.widgets.trace_browser import TraceBrowser  # noqa: E402
from lumos_studio.ui.widgets.trace_list import TraceList  # noqa: E402
from lumos_studio.ui.widgets.waterfall import TraceWaterfall  # noqa: E402

OUT = Path(__file__).resolve().parent
TRACES = OUT.parent / "traces"
SIZE = (120, 40)
TIMEOUT = 20.0


async def wait_for(pilot: Pilot[None], what: str, condition: Callable[[], object]) -> None:
    """Let the app work until ``condition`` holds; fail loudly rather than save a blank picture."""
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {TIMEOUT:g}s waiting for {what}")
        await pilot.pause(0.05)


def save(app: App[None], name: str) -> Path:
    return Path(app.save_screenshot(name, str(OUT)))


async def chat(pilot: Pilot[None], app: StudioApp, text: str) -> None:
    """Send one message and wait until the answer and its whole trace are in."""
    turns = len(app.query(".turn"))
    await pilot.press(*text, "enter")
    await wait_for(pilot, f"the answer to {text!r}", lambda: len(app.query(".turn")) >= turns + 2
                   and not app.running)
    tree = app.query_one(TraceWaterfall)
    await wait_for(pilot, "the finished trace", lambda: tree.spans and not any(
        s.running for s in tree.spans.values()))
    await wait_for(pilot, "the metrics strip", lambda: app.metrics_settled)


async def studio_pictures(store: Store) -> list[Path]:
    """The main view after a weather turn (tool span selected), memory, a suspended workflow,
    a find in its tree, a trace search, key help."""
    app = StudioApp(store, InProcessSession.recording(load_demo(), store.writer))
    saved: list[Path] = []
    async with app.run_test(size=SIZE) as pilot:
        chat_input = app.query_one("#chat-input", Input)
        await wait_for(pilot, "the chat input to have focus", lambda: app.focused is chat_input)
        await chat(pilot, app, "weather in Paris?")
        tree, detail = app.query_one(TraceWaterfall), app.query_one(SpanDetail)
        tool = next(s for s in tree.spans.values() if s.name == "execute_tool get_weather")
        tree.focus()
        tree.select_span(tool.span_id)
        await wait_for(pilot, "the tool span's detail",
                       lambda: detail.span is not None and detail.span.span_id == tool.span_id)
        await pilot.pause()
        saved.append(save(app, "main.svg"))

        agents = app.query_one(AgentList)
        agents.focus()
        agents.highlighted = [a.name for a in app.session.agents].index("assistant")
        await pilot.press("enter")
        await wait_for(pilot, "the assistant's chat", lambda: app.agent_name == "assistant")
        await chat(pilot, app, "remember that my name is Ada")
        await chat(pilot, app, "what is my name?")
        memory = app.query_one(MemoryPane)
        await wait_for(pilot, "the memory pane", lambda: memory.view is not None
                       and memory.view.thread_id is not None)
        await pilot.pause()
        saved.append(save(app, "memory.svg"))

        agents.focus()
        agents.highlighted = [a.name for a in app.session.agents].index("trip_planner")
        await pilot.press("enter")
        await wait_for(pilot, "the workflow's chat", lambda: app.agent_name == "trip_planner")
        await chat(pilot, app, '{"destination": "Paris", "needs_approval": true}')
        trip = app.conversations["trip_planner"]
        await wait_for(pilot, "the run to suspend", lambda: trip.suspended_run is not None)
        await pilot.pause(0.3)
        saved.append(save(app, "workflow.svg"))

        tree = app.query_one(TraceWaterfall)
        tree.focus()
        await pilot.press("home", "slash", *"paris")
        status = app.query_one("#trace-find-status", Label)
        await wait_for(pilot, "the find's matches, by the words of the messages too",
                       lambda: " of " in str(status.render()) and tree.finding == "paris")
        await pilot.pause(0.5)
        saved.append(save(app, "find.svg"))
        await pilot.press("escape")

        traces = app.query_one(TraceBrowser)
        app.query_one(TraceList).focus()
        await pilot.press("slash", *"paris", "enter")
        await wait_for(pilot, "the search", lambda: traces.query_state.filter.words)
        await pilot.pause(0.5)
        saved.append(save(app, "search.svg"))

        await pilot.press("f1")
        await wait_for(pilot, "the key help panel", lambda: app.screen.query("HelpPanel"))
        await pilot.pause()
        saved.append(save(app, "help.svg"))
    return saved


async def graph_picture(store: Store) -> Path:
    """``ctrl+g`` after a run of the demo's essay writer: its loops and nested review coloured
    by state, the revise loop selected (the waterfall selects its span), memory and logs hidden."""
    app = StudioApp(store, InProcessSession.recording(load_demo(), store.writer))
    async with app.run_test(size=SIZE) as pilot:
        agents = app.query_one(AgentList)
        agents.focus()
        agents.highlighted = [a.name for a in app.session.agents].index("essay_writer")
        await pilot.press("enter")
        await wait_for(pilot, "the workflow's chat", lambda: app.agent_name == "essay_writer")
        await chat(pilot, app, '{"topic": "graphs", "sections": 3}')
        await pilot.press("f4", "ctrl+g")  # memory and logs make room for the graph
        graph = app.query_one(GraphPane)
        await wait_for(pilot, "the graph's states", lambda: "verdict" in graph.runs)
        for _ in range(graph.order.index("revise")):
            await pilot.press("down")
        tree = app.query_one(TraceWaterfall)
        await wait_for(pilot, "the loop's span", lambda: tree.cursor_span is not None
                       and tree.cursor_span.name == "step revise")
        await pilot.pause(0.3)
        return save(app, "graph.svg")


async def debugger_picture(store: Store) -> Path:
    """A breakpoint before the weather agent's model calls (``b`` in the agents list): the
    second pause, showing the request about to go to the model with the tool's result in it."""
    app = StudioApp(store, InProcessSession.recording(load_demo(), store.writer))
    app.breakpoints.toggle(BreakpointSpec("weather", PausePoint.BEFORE_MODEL))
    async with app.run_test(size=SIZE) as pilot:
        chat_input = app.query_one("#chat-input", Input)
        await wait_for(pilot, "the chat input to have focus", lambda: app.focused is chat_input)
        await pilot.press(*"weather in Rome?", "enter")
        await wait_for(pilot, "the first pause", lambda: isinstance(app.screen, PausedScreen))
        await pilot.press("c")
        await wait_for(pilot, "the pause after the tool", lambda: isinstance(
            app.screen, PausedScreen) and app.screen.paused.value["messages"][-1]["role"] == "tool")
        await pilot.pause(0.3)
        saved = save(app, "debugger.svg")
        await pilot.press("c")
        await wait_for(pilot, "the end of the run", lambda: not app.running)
        app.breakpoints.clear("weather")
    return saved


async def replay_picture() -> Path:
    """``lumos-studio replay traces/assistant.jsonl``, paused in the middle of the first run."""
    app = ReplayApp(load_trace(TRACES / "assistant.jsonl"))
    async with app.run_test(size=SIZE) as pilot:
        bar = app.query_one(PlaybackBar)
        await wait_for(pilot, "the recording", lambda: app.spans and app.at_ns is not None)
        bar.focus()
        await pilot.press("home", *["."] * 9)
        tree = app.query_one(TraceWaterfall)
        await wait_for(pilot, "a few steps in", lambda: len(tree.spans) > 4)
        await pilot.pause(0.3)
        return save(app, "replay.svg")


async def compare_picture() -> Path:
    """``lumos-studio compare traces/weather-v1.jsonl traces/weather-v2.jsonl``."""
    with (
        load_trace(TRACES / "weather-v1.jsonl") as v1,
        load_trace(TRACES / "weather-v2.jsonl") as v2,
    ):
        left = v1.reader.trace_spans(v1.trace_ids[0])
        right = v2.reader.trace_spans(v2.trace_ids[0])

    app = CompareApp(left, right, left_title="weather-v1.jsonl", right_title="weather-v2.jsonl")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, "the comparison", lambda: isinstance(app.screen, CompareScreen)
                       and app.screen.comparison is not None)
        await pilot.pause(0.3)
        return save(app, "compare.svg")


async def experiments_picture(store: Store) -> Path:
    """``F10`` after ``lumos-studio eval`` on the demo's two datasets, then Enter on weather's:
    its cases with their scores."""
    app = StudioApp(store, InProcessSession.recording(load_demo(), store.writer))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f10")
        await wait_for(pilot, "the experiments", lambda: isinstance(app.screen, ExperimentsScreen)
                       and app.screen.headers is not None and len(app.screen.headers) == 2)
        await pilot.press("down", "enter")
        await wait_for(pilot, "the weather cases",
                       lambda: isinstance(app.screen, ExperimentCasesScreen))
        await pilot.pause(0.5)
        return save(app, "experiments.svg")


async def playground_picture(store: Store) -> Path:
    """``P`` on a model call of a trace OpenInference recorded (an OpenAI client's, captured
    from the real instrumentation): its request, and a try with the scripted model (offline)."""
    from lumos_studio.otlp import read_records
    from lumos_studio.semantics import read_span
    from lumos_studio.ui.screens.playground import PlaygroundScreen

    records = read_records(OUT.parent / "tests" / "fixtures" / "dialects"
                           / "openinference-openai.jsonl")
    store.writer.submit_many([*records.spans, *records.logs])
    store.writer.flush()
    chat_span = next(s for s in records.spans  # the call sent the tool's result
                     if any(m.role == "tool" for m in read_span(s).input_messages))
    app = StudioApp(store, InProcessSession.recording(load_demo(), store.writer))
    async with app.run_test(size=SIZE) as pilot:
        app.show_trace(chat_span.trace_id)
        tree = app.query_one(TraceWaterfall)
        await wait_for(pilot, "the trace", lambda: chat_span.span_id in tree.spans)
        tree.focus()
        tree.select_span(chat_span.span_id)
        await pilot.pause()
        await pilot.press("P")
        await wait_for(pilot, "the playground", lambda: isinstance(app.screen, PlaygroundScreen))
        model = app.screen.query_one("#playground-model", Input)
        model.value = "scripted"
        await pilot.press("ctrl+s")
        answer = app.screen.query_one("#playground-answer")
        await wait_for(pilot, "the try's answer", lambda: "try 1" in str(answer.render()))
        await pilot.pause(0.3)
        return save(app, "playground.svg")


def run_demo_evals(db: Path) -> None:
    """The README's ``eval`` commands, as a user runs them, into ``db``."""
    for dataset in ("weather", "docs"):
        subprocess.run([sys.executable, "-m", "lumos_studio", "--db", str(db), "eval", "--demo",
                        dataset, "--agent", dataset], check=True, capture_output=True)


def main() -> int:
    # A relative store path inside a scratch directory reads like a real project in the subtitle.
    here = Path.cwd()
    with tempfile.TemporaryDirectory(prefix="lumos-screenshots-") as scratch:
        os.chdir(scratch)
        try:
            with Store(Path(".lumos") / "studio.db") as store:
                saved = asyncio.run(studio_pictures(store))
                saved.append(asyncio.run(debugger_picture(store)))
            with Store(Path(".lumos") / "graph.db") as store:
                saved.append(asyncio.run(graph_picture(store)))
            with Store(Path(".lumos") / "playground.db") as store:
                saved.append(asyncio.run(playground_picture(store)))
            saved.append(asyncio.run(replay_picture()))
            saved.append(asyncio.run(compare_picture()))
            evals_db = Path(".lumos") / "evals.db"
            run_demo_evals(evals_db)
            with Store(evals_db) as store:
                saved.append(asyncio.run(experiments_picture(store)))
        finally:
            os.chdir(here)
    for path in saved:
        print(f"wrote {path.relative_to(here) if path.is_relative_to(here) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
