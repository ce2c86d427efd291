"""The debugger's notes in the chat (Pilot): a pause is noted where the run paused, after the
tool call it stopped before and before the next one, while the run streams, once it ended and
after switching chats; a workflow's under its step; a fork's after the fork's own note. And a
run that ends closes every paused view it left, even under the command palette."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from textual.command import CommandPalette
from textual.pilot import Pilot
from textual.widgets import TextArea

from lumos_core import Agent, Message, ScriptedModel, tool
from lumos_core.debug import PausePoint
from lumos_core.messages import ToolCallPart
from lumos_core.workflows import StepContext, Workflow, parallel, step
from lumos_studio.app import StudioApp
from lumos_studio.sessions.base import PauseNote, StreamUpdate
from lumos_studio.sessions.discovery import AgentCatalog
from lumos_studio.sessions.in_process import InProcessSession
from lumos_studio.store import Store
from lumos_studio.ui.breakpoints import BreakpointSpec
from lumos_studio.ui.screens.compare import CompareScreen
from lumos_studio.ui.screens.paused import PausedScreen
from lumos_studio.ui.widgets.chat import render_stream
from lumos_studio.ui.widgets.graph import GraphPane
from tests.ui.helpers import wait_for
from tests.ui.test_chat_streaming import choose, send, streaming, transcript
from tests.ui.test_debugger import (
    choose_and_send,
    edit,
    fork_at_research,
    paused,
    trip_catalog,
)

ROME = "→ get_weather(city=Rome)"
OSLO = "→ get_weather(city=Oslo)"
EDITED = '⏸ paused before tool get_weather: edited to {"city":"Lima"}'
CONTINUED = "⏸ paused before tool get_weather: continue"


def weather_catalog(release: threading.Event) -> AgentCatalog:
    """``weather`` looks up Rome, then Oslo (which waits for ``release``), then answers."""

    @tool
    async def get_weather(city: str) -> str:
        """Current weather for a city."""
        if city == "Oslo":
            await asyncio.to_thread(release.wait, 10)
        return f"Sunny in {city}"

    def ask(call_id: str, city: str) -> Message:
        return Message("assistant", (ToolCallPart(call_id, "get_weather", {"city": city}),))

    weather = Agent("weather", model=ScriptedModel([ask("c1", "Rome"), ask("c2", "Oslo"),
                                                    "Both looked up."]), tools=[get_weather])
    other = Agent("other", model=ScriptedModel(["Hello."]))
    return AgentCatalog("test", {"other": other, "weather": weather})


def in_order(text: str, *parts: str) -> bool:
    """Whether each of ``parts`` is in ``text`` once, in this order."""
    if any(text.count(part) != 1 for part in parts):
        return False
    places = [text.index(part) for part in parts]
    return places == sorted(places)


def test_a_pause_shows_in_place_once_taken_and_a_workflows_under_its_step() -> None:
    call = StreamUpdate(tool="get_weather", arguments={"city": "Rome"})
    lima = 'edited to {"city":"Lima"}'
    waiting = PauseNote("before_tool", "get_weather", lima, taken=False)
    pieces = [StreamUpdate(text="Let me see."), call, StreamUpdate(pause=waiting),
              StreamUpdate(text="Done.")]
    assert "⏸" not in render_stream("weather", pieces).plain  # the run may still refuse it
    pieces[2] = StreamUpdate(pause=PauseNote("before_tool", "get_weather", lima))
    assert render_stream("weather", pieces).plain == (
        f"weather › Let me see.\n{ROME}\n{EDITED}\nDone.▍")

    steps = [StreamUpdate(step="plan", step_status="running"),
             StreamUpdate(step="research", step_status="running"),
             StreamUpdate(step="plan", pause=PauseNote("after_step", "plan", "continue")),
             StreamUpdate(step="research", text="notes")]
    shown = render_stream("trip", steps).plain
    assert in_order(shown, "▸ plan\n⏸ paused after step plan: continue", "▸ research\nnotes")
    assert "\n\n" not in shown  # a step's last note is not followed by a blank line


async def test_a_pause_is_noted_after_the_call_it_stopped_before_and_before_the_next(
    store: Store, release: threading.Event
) -> None:
    app = StudioApp(store, InProcessSession.recording(weather_catalog(release), store.writer))
    app.breakpoints.toggle(BreakpointSpec("weather", PausePoint.BEFORE_TOOL, "get_weather"))
    async with app.run_test(size=(120, 40)) as pilot:
        await choose(pilot, "weather")
        await send(pilot, "weather in Rome and Oslo?")
        await paused(pilot)
        await wait_for(pilot, lambda: ROME in streaming(app))
        await edit(pilot, '{"city": "Lima"}')  # taken once the run goes on to the next call
        await wait_for(pilot, lambda: isinstance(app.screen, PausedScreen)
                       and app.screen.paused.value == {"city": "Oslo"}, timeout=20)
        await wait_for(pilot, lambda: OSLO in streaming(app) and EDITED in streaming(app))
        assert in_order(streaming(app), ROME, EDITED, OSLO)

        await pilot.press("c")  # the run goes on, and waits in Oslo's lookup
        await wait_for(pilot, lambda: CONTINUED in streaming(app))
        assert in_order(transcript(app), "you › weather in Rome", ROME, EDITED, OSLO, CONTINUED)
        await choose(pilot, "other")
        assert "⏸" not in transcript(app)
        await choose(pilot, "weather")
        assert in_order(transcript(app), "you › weather in Rome", ROME, EDITED, OSLO, CONTINUED)

        release.set()
        await wait_for(pilot, lambda: not app.running, timeout=20)
        await wait_for(pilot, lambda: streaming(app) == "")
        turns = app.conversations["weather"].turns
        assert turns[-1] == ("weather", "Both looked up.")
        assert [text for role, text in turns if role == "tool"] == [ROME, EDITED, OSLO, CONTINUED]
        shown = transcript(app)
        assert in_order(shown, ROME, EDITED, OSLO, CONTINUED, "weather › Both looked up.")
        await choose(pilot, "other")
        await choose(pilot, "weather")
        assert transcript(app) == shown
    assert "⏸" not in str(app.conversations["other"].turns)


async def test_a_step_pause_is_noted_under_its_step(store: Store, tmp_path: Path) -> None:
    app = StudioApp(store, InProcessSession.recording(trip_catalog(tmp_path), store.writer))
    app.breakpoints.toggle(BreakpointSpec("trip", PausePoint.BEFORE_STEP, "research"))
    async with app.run_test(size=(120, 40)) as pilot:
        await choose_and_send(pilot, "Rome")
        await paused(pilot)
        await edit(pilot, '"plan for Lima"')
        await wait_for(pilot, lambda: not app.running, timeout=20)
        notes = [text for role, text in app.conversations["trip"].turns if role == "tool"]
        assert notes == ["✓ plan\n⏸ paused before step research: edited to plan for Lima\n"
                         "✓ research\n✓ write"]
        assert "trip: notes on plan for Lima" in app.conversations["trip"].turns[-1][1]


async def test_a_fork_notes_its_pauses_after_its_own_note(store: Store, tmp_path: Path) -> None:
    app = StudioApp(store, InProcessSession.recording(trip_catalog(tmp_path), store.writer))
    async with app.run_test(size=(120, 40)) as pilot:
        await choose_and_send(pilot, "Rome")
        await wait_for(pilot, lambda: not app.running and app.trace_id is not None, timeout=20)
        app.breakpoints.toggle(BreakpointSpec("trip", PausePoint.BEFORE_STEP, "write"))
        await fork_at_research(pilot, app)
        app.screen.query_one(TextArea).load_text('"plan for Kyoto"')
        await pilot.press("ctrl+s")
        await paused(pilot)
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen), timeout=20)
        said = "\n".join(text for _, text in app.conversations["trip"].turns)
        assert in_order(said, "forked run", "⏸ paused before step write: continue",
                        "trip: notes on plan for Kyoto")


@step
async def north(ctx: StepContext) -> str:
    """Look north."""
    return "cold"


@step
async def south(ctx: StepContext) -> str:
    """Look south."""
    return "warm"


def paused_views(app: StudioApp) -> list[PausedScreen]:
    return [screen for screen in app.screen_stack if isinstance(screen, PausedScreen)]


def winds_studio(store: Store) -> StudioApp:
    """A workflow of two parallel steps, each with a breakpoint: both pause at once."""
    winds = Workflow("winds", [parallel(north, south)], store=":memory:")
    session = InProcessSession.recording(AgentCatalog("test", {}, {"winds": winds}), store.writer)
    app = StudioApp(store, session)
    for name in ("north", "south"):
        app.breakpoints.toggle(BreakpointSpec("winds", PausePoint.BEFORE_STEP, name))
    return app


async def both_paused(pilot: Pilot[None], app: StudioApp) -> None:
    await choose(pilot, "winds")
    await send(pilot, '"go"')
    await wait_for(pilot, lambda: len(paused_views(app)) == 2, timeout=20)


@pytest.mark.parametrize("palette", [False, True], ids=["alone", "under-the-palette"])
async def test_a_cancelled_run_closes_every_paused_view_it_left(
    store: Store, palette: bool
) -> None:
    app = winds_studio(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await both_paused(pilot, app)
        graph = app.query_one(GraphPane)
        assert graph.paused in ("north", "south")
        if palette:
            app.action_command_palette()
            await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
        app.action_cancel_run()
        await wait_for(pilot, lambda: not app.running, timeout=20)
        assert app.conversations["winds"].turns[-1] == ("error", "cancelled")
        if palette:  # not the run's to close: it stays, and the paused views go once it does
            await pilot.pause(0.2)
            assert isinstance(app.screen, CommandPalette)
            await pilot.press("escape")
        await wait_for(pilot, lambda: not paused_views(app))
        assert app.screen is app.main
        assert graph.paused is None  # the graph no longer shows a step waiting either
        assert not app._waiting_pauses


async def test_the_graph_shows_the_step_still_waiting_once_another_is_decided(
    store: Store
) -> None:
    app = winds_studio(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await both_paused(pilot, app)
        graph = app.query_one(GraphPane)
        top = paused_views(app)[-1].paused.target
        await pilot.press("c")  # the top one decided: the other still waits, and shows so
        await wait_for(pilot, lambda: len(paused_views(app)) == 1)
        still = paused_views(app)[0].paused.target
        assert still != top and graph.paused == still
        await pilot.press("c")
        await wait_for(pilot, lambda: not app.running, timeout=20)
        assert graph.paused is None


def test_an_edit_or_a_stub_is_noted_with_what_it_sent_on_one_short_line() -> None:
    from lumos_core.debug import Continue, Edit, Skip
    from lumos_studio.ui.screens.paused import NOTE_VALUE_CELLS, describe_decision

    assert describe_decision(Continue()) == "continue"
    assert describe_decision(Edit({"city": "Lima"})) == 'edited to {"city":"Lima"}'
    assert describe_decision(Skip("Sunny\n  in Lima")) == "skipped, result Sunny in Lima"
    long = describe_decision(Edit([{"role": "user", "content": "x" * 500}]))
    assert long.startswith('edited to [{"role":"user"') and long.endswith("…")
    assert len(long) == len("edited to ") + NOTE_VALUE_CELLS
    hostile = describe_decision(Skip({"out": "\x1b[31mred"}))
    assert "\x1b" not in hostile and "\\u001b" in hostile  # JSON's escape, never the byte
