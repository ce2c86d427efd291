"""``f`` on a tool call: its arguments, editable, and the tool called again by hand in the
agents' own process (a real worker); the result in the chat, its one-span trace in the tree.
``c`` in the agents: any of an agent's tools, its arguments made from its parameters."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Static, TextArea

from lumos_core.telemetry import semconv as sc
from lumos_studio.app import StudioApp
from lumos_studio.sessions.discovery import load_demo
from lumos_studio.sessions.in_process import InProcessSession
from lumos_studio.store import Store
from lumos_studio.ui.screens.fork import ForkScreen
from lumos_studio.ui.screens.tool_pick import ToolPickScreen
from lumos_studio.ui.widgets.agent_list import AgentList
from lumos_studio.ui.widgets.waterfall import TraceWaterfall
from tests.builders import make_span
from tests.hostile import CLEAR_SCREEN, MARKUP_STYLE, VISIBLE
from tests.ui.helpers import wait_for, worker_studio
from tests.ui.test_chat_streaming import send

AGENTS = '''
from lumos_core import Agent, ToolError, tool

@tool
def get_weather(city: str) -> str:
    """Current weather for a city."""
    if city == "Atlantis":
        raise ToolError("no weather under the sea")
    if city == "bug":
        raise ZeroDivisionError("division by zero")
    return f"Sunny in {city}"

weather = Agent(name="weather", model="scripted", tools=[get_weather])
'''


async def open_the_tool_call(pilot, app: StudioApp) -> TextArea:  # type: ignore[no-untyped-def]
    """``f`` on the shown run's tool span: the arguments' editor open."""
    tree = app.query_one(TraceWaterfall)
    await wait_for(pilot, lambda: any(s.name == "execute_tool get_weather"
                                      for s in tree.spans.values()), timeout=20)
    tool = next(s for s in tree.spans.values() if s.name == "execute_tool get_weather")
    tree.select_span(tool.span_id)
    tree.focus()
    await pilot.press("f")
    await wait_for(pilot, lambda: isinstance(app.screen, ForkScreen))
    return app.screen.query_one(TextArea)


async def test_a_tool_call_is_called_again_with_edited_arguments_in_the_worker(
    store: Store, tmp_path: Path
) -> None:
    agent_file = tmp_path / "agents.py"
    agent_file.write_text(AGENTS)
    with worker_studio(store, agent_file) as app:
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: app.loads == 1, timeout=20)
            await send(pilot, "weather in Rome?")
            await wait_for(pilot, lambda: not app.running, timeout=20)
            origin = app.trace_id
            tree = app.query_one(TraceWaterfall)
            editor = await open_the_tool_call(pilot, app)
            tool_span = tree.cursor_span
            assert tool_span is not None
            assert editor.text == '{\n  "city": "Rome"\n}'
            editor.load_text('{"city": "Oslo"}')
            await pilot.press("ctrl+s")
            turns = app.conversations["weather"].turns
            await wait_for(pilot, lambda: turns[-1] == ("tool", "get_weather → Sunny in Oslo"),
                           timeout=20)
            assert ("hint", "called get_weather again by hand") in turns
            # its trace shown: one span, linked to the call it repeats
            await wait_for(pilot, lambda: app.trace_id != origin and len(tree.spans) == 1)
            (again,) = tree.spans.values()
            assert again.name == "execute_tool get_weather"

            await open_the_tool_call(pilot, app)  # from the new call itself, this time
            app.screen.query_one(TextArea).load_text('{"city": "Atlantis"}')
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: turns[-1] == (
                "error", "get_weather: no weather under the sea"), timeout=20)

            await open_the_tool_call(pilot, app)
            app.screen.query_one(TextArea).load_text('{"city": "bug"}')
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: turns[-1][0] == "error" and "ZeroDivisionError"
                           in turns[-1][1], timeout=20)
            assert not app.running
    store.writer.flush()
    stored = store.reader.trace_spans(again.trace_id)
    assert stored[0].attributes[sc.LUMOS_TOOL_FORK_OF] == tool_span.span_id
    assert [(link.trace_id, link.span_id) for link in stored[0].links] == [
        (origin, tool_span.span_id)]
    assert stored[0].attributes[sc.TOOL_CALL_RESULT] == "Sunny in Oslo"


@pytest.mark.parametrize(("typed", "said"), [
    ('{"city": ', "not JSON: "),
    ('["Oslo"]', "the arguments are a JSON object, not a list"),
])
async def test_arguments_that_are_no_json_object_are_refused_in_the_editor(
    store: Store, typed: str, said: str
) -> None:
    app = StudioApp(store, InProcessSession.recording(load_demo(), store.writer))
    async with app.run_test(size=(120, 40)) as pilot:
        await send(pilot, "weather in Paris?")
        await wait_for(pilot, lambda: not app.running and app.trace_id is not None, timeout=20)
        editor = await open_the_tool_call(pilot, app)
        editor.load_text(typed)
        await pilot.press("ctrl+s")
        error = app.screen.query_one("#fork-error", Static)
        assert str(error.content).startswith(said)
        assert isinstance(app.screen, ForkScreen) and not app.running
        await pilot.press("escape")
        assert not isinstance(app.screen, ForkScreen)


async def test_a_tool_call_no_agent_run_holds_says_why_it_cannot_be_called(
    store: Store,
) -> None:
    """Another framework's tool span, alone in its trace: no agent of the studio to call it."""
    store.writer.submit_many([make_span(
        "execute_tool get_weather", attributes={
            "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "get_weather",
            "gen_ai.tool.call.arguments": '{"city": "Rome"}'})])
    assert store.writer.flush()
    app = StudioApp(store, InProcessSession.recording(load_demo(), store.writer))
    async with app.run_test(size=(120, 40)) as pilot:
        tree = app.query_one(TraceWaterfall)
        await wait_for(pilot, lambda: len(tree.spans) == 1)
        tree.focus()
        await pilot.press("down", "f")
        await wait_for(pilot, lambda: app._notifications)
        note = str(list(app._notifications)[-1].message)
        assert note.startswith("No agent run holds this call of get_weather")
        assert not isinstance(app.screen, ForkScreen)


async def test_the_bundled_demos_tool_is_called_again_in_the_studios_own_process(
    store: Store,
) -> None:
    app = StudioApp(store, InProcessSession.recording(load_demo(), store.writer))
    async with app.run_test(size=(120, 40)) as pilot:
        await send(pilot, "weather in Paris?")
        await wait_for(pilot, lambda: not app.running and app.trace_id is not None, timeout=20)
        origin = app.trace_id
        editor = await open_the_tool_call(pilot, app)
        assert editor.text == '{\n  "city": "Paris"\n}'
        editor.load_text('{"city": "Oslo"}')
        await pilot.press("ctrl+s")
        turns = app.conversations["weather"].turns
        await wait_for(pilot, lambda: turns[-1][0] == "tool" and app.trace_id != origin)
        assert turns[-1][1].startswith("get_weather → ") and "Oslo" in turns[-1][1]


# --- c in the agents: any tool, no recorded call ---

TWO_TOOLS = AGENTS + '''

@tool
def get_forecast(city: str, days: int = 3) -> str:
    """The forecast for the next days.

    Longer text the picker leaves out."""
    return f"{days} sunny days in {city}"

planner = Agent(name="planner", model="scripted", tools=[get_weather, get_forecast])
'''


async def focus_agent(pilot, app: StudioApp, name: str) -> None:  # type: ignore[no-untyped-def]
    agents = app.query_one(AgentList)
    await wait_for(pilot, lambda: any(a.name == name for a in app.session.agents), timeout=20)
    agents.focus()
    names = [a.name for a in app.session.agents]
    agents.highlighted = names.index(name)
    await pilot.pause()


async def test_c_on_an_agent_with_one_tool_opens_its_arguments_made_from_its_parameters(
    store: Store,
) -> None:
    app = StudioApp(store, InProcessSession.recording(load_demo(), store.writer))
    async with app.run_test(size=(120, 40)) as pilot:
        await focus_agent(pilot, app, "weather")
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, ForkScreen))
        editor = app.screen.query_one(TextArea)
        assert editor.text == '{\n  "city": "…"\n}'
        await pilot.press(*"Lima")  # the placeholder is selected: typing replaces it
        assert editor.text == '{\n  "city": "Lima"\n}'
        await pilot.press("ctrl+s")
        turns = app.conversations["weather"].turns
        await wait_for(pilot, lambda: turns and turns[-1][0] == "tool" and app.trace_id)
        assert ("hint", "called get_weather by hand") in turns
        assert "Lima" in turns[-1][1]
        tree = app.query_one(TraceWaterfall)
        await wait_for(pilot, lambda: len(tree.spans) == 1)
        (span,) = tree.spans.values()
        assert span.name == "execute_tool get_weather"
    store.writer.flush()
    (stored,) = store.reader.trace_spans(span.trace_id)
    assert not stored.links and sc.LUMOS_TOOL_FORK_OF not in stored.attributes


async def test_c_on_an_agent_with_several_tools_picks_one_first_in_the_worker(
    store: Store, tmp_path: Path
) -> None:
    agent_file = tmp_path / "agents.py"
    agent_file.write_text(TWO_TOOLS)
    with worker_studio(store, agent_file) as app:
        async with app.run_test(size=(120, 40)) as pilot:
            await focus_agent(pilot, app, "planner")
            await pilot.press("c")
            await wait_for(pilot, lambda: isinstance(app.screen, ToolPickScreen))
            await pilot.press("escape")  # nothing called
            assert not isinstance(app.screen, ToolPickScreen) and not app.running
            await pilot.press("c")
            await wait_for(pilot, lambda: isinstance(app.screen, ToolPickScreen))
            await pilot.press("down", "enter")
            await wait_for(pilot, lambda: isinstance(app.screen, ForkScreen))
            editor = app.screen.query_one(TextArea)
            assert editor.text == '{\n  "city": "…",\n  "days": 3\n}'  # its default filled in
            editor.load_text('{"city": "Quito", "days": 2}')
            await pilot.press("ctrl+s")
            turns = app.conversations["planner"].turns
            await wait_for(pilot, lambda: turns and turns[-1] == (
                "tool", "get_forecast → 2 sunny days in Quito"), timeout=20)


async def test_c_on_a_workflow_says_it_has_no_tools(store: Store) -> None:
    app = StudioApp(store, InProcessSession.recording(load_demo(), store.writer))
    async with app.run_test(size=(120, 40)) as pilot:
        await focus_agent(pilot, app, "trip_planner")
        await pilot.press("c")
        await wait_for(pilot, lambda: app._notifications)
        assert str(list(app._notifications)[-1].message).startswith("A workflow has no tools")
        assert not isinstance(app.screen, ForkScreen | ToolPickScreen)


def test_the_picker_shows_a_hostile_tools_name_and_description_as_written() -> None:
    from lumos_core.worker_protocol import ToolDescription
    from lumos_studio.ui.screens.tool_pick import _prompt

    shown = _prompt(ToolDescription(CLEAR_SCREEN, f"{MARKUP_STYLE}\nsecond line")).plain
    assert shown == f"{VISIBLE['clear_screen']}  {MARKUP_STYLE}"
