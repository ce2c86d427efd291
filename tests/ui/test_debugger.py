"""The debugger in the studio (Pilot): a breakpoint set in the agent list pauses a worker's run,
the paused view shows the tool call, an edit (refused first, with the reason) changes what the
tool gets and is found on the span; a workflow step the same in this process; and a finished run
forked from its second step with an edited input, compared with its origin."""

from __future__ import annotations

from pathlib import Path

import orjson
from textual.pilot import Pilot
from textual.widgets import Select, TextArea

from lumos_core.debug import PausePoint
from lumos_core.telemetry import semconv as sc
from lumos_core.workflows import StepContext, Workflow, step
from lumos_studio.app import StudioApp
from lumos_studio.sessions.discovery import AgentCatalog
from lumos_studio.sessions.in_process import InProcessSession
from lumos_studio.store import Store
from lumos_studio.ui.breakpoints import BREAKPOINTS_FILE, Breakpoints, BreakpointSpec
from lumos_studio.ui.screens.compare import CompareScreen
from lumos_studio.ui.screens.paused import PausedScreen
from lumos_studio.ui.widgets.agent_list import AgentList
from lumos_studio.ui.widgets.waterfall import TraceWaterfall
from tests.ui.helpers import wait_for, worker_studio
from tests.ui.test_chat_streaming import send, streaming, transcript

AGENTS = '''
from lumos_core import Agent, ScriptedModel, tool
from lumos_core.messages import Message, ToolCallPart

@tool
def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"Sunny in {city}"

def ask(call_id, city):
    return Message("assistant", (ToolCallPart(call_id, "get_weather", {"city": city}),))

weather = Agent(name="weather", model=ScriptedModel([ask("c1", "Rome"), ask("c2", "Oslo"),
                                                     "Both looked up."]), tools=[get_weather])
'''


def screen_text(app: StudioApp) -> str:
    screen = app.screen
    return "\n".join(str(w.render()) for w in screen.query("Static"))


async def paused(pilot, count: int = 1) -> PausedScreen:  # type: ignore[no-untyped-def]
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, PausedScreen), timeout=20)
    assert isinstance(app.screen, PausedScreen)
    return app.screen


async def edit(pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    await pilot.press("e")
    editor = pilot.app.screen.query_one(TextArea)
    editor.load_text(text)
    await pilot.press("ctrl+s")


def spans_named(store: Store, name: str) -> list:  # type: ignore[type-arg]
    store.writer.flush()
    return [s for t in store.reader.list_traces() for s in store.reader.trace_spans(t.trace_id)
            if s.name == name]


async def test_a_tool_breakpoint_pauses_the_worker_run_and_the_edit_is_on_the_span(
    store: Store, tmp_path: Path
) -> None:
    agent_file = tmp_path / "agents.py"
    agent_file.write_text(AGENTS)
    with worker_studio(store, agent_file) as app:
        async with app.run_test(size=(120, 40)) as pilot:
            agents = app.query_one(AgentList)
            await wait_for(pilot, lambda: app.loads == 1 and agents.option_count == 1,
                           timeout=20)
            agents.focus()
            await pilot.press("b")  # the breakpoints of "weather": before each tool call
            await wait_for(pilot, lambda: app.screen.query("#breakpoints-point"))
            app.screen.query_one("#breakpoints-point", Select).value = "before_tool"
            await pilot.press(*"get_weather", "enter")
            await wait_for(pilot, lambda: "weather" in agents.marked)
            assert agents.get_option_at_index(0).prompt.plain.startswith("● weather")
            saved = Breakpoints.load(store.path.parent / BREAKPOINTS_FILE)
            assert saved.specs == (
                BreakpointSpec("weather", PausePoint.BEFORE_TOOL, "get_weather"),)

            await pilot.press("i", *"weather in Rome and Oslo?", "enter")
            await paused(pilot)
            shown = screen_text(app)
            assert "PAUSED  before tool call get_weather · agent weather" in shown
            assert '"city": "Rome"' in shown

            await edit(pilot, '{"town": "Lima"}')  # not the tool's arguments: refused, and why
            await wait_for(pilot, lambda: isinstance(app.screen, PausedScreen)
                           and app.screen.paused.refused is not None, timeout=20)
            assert "Edit refused: city: Field required" in screen_text(app)
            assert app.screen.query_one(TextArea).text == '{\n  "town": "Lima"\n}'
            await edit(pilot, '{"city": "Lima"}')

            await wait_for(pilot, lambda: isinstance(app.screen, PausedScreen)
                           and app.screen.paused.value == {"city": "Oslo"}, timeout=20)
            await pilot.press("s")  # step: the next pause point is after this call
            await wait_for(pilot, lambda: isinstance(app.screen, PausedScreen)
                           and app.screen.paused.point == "after_tool", timeout=20)
            assert "Sunny in Oslo" in screen_text(app)
            await pilot.press("c")
            await wait_for(pilot, lambda: not app.running, timeout=20)
            assert app.conversations["weather"].turns[-1] == ("weather", "Both looked up.")
            notes = [text for _, text in app.conversations["weather"].turns if "⏸" in text]
            assert notes == [  # once: taken, not refused
                '⏸ paused before tool get_weather: edited to {"city":"Lima"}',
                "⏸ paused before tool get_weather: step",
                "⏸ paused after tool get_weather: continue"]

        tools = spans_named(store, "execute_tool get_weather")
        by_call = {s.attributes[sc.TOOL_CALL_ID]: s.attributes for s in tools}
        edited = by_call["c1"]
        assert edited[sc.debug_key("before_tool", "decision")] == "edit"
        assert orjson.loads(edited[sc.debug_key("before_tool", "original")]) == {"city": "Rome"}
        assert orjson.loads(edited[sc.debug_key("before_tool", "value")]) == {"city": "Lima"}
        assert "Lima" in edited[sc.TOOL_CALL_RESULT]
        assert by_call["c2"][sc.debug_key("before_tool", "decision")] == "step"
        assert by_call["c2"][sc.debug_key("after_tool", "decision")] == "continue"


@step
async def plan(ctx: StepContext) -> str:
    """Plan a trip."""
    return f"plan for {ctx.input}"


@step
async def research(ctx: StepContext) -> str:
    """Research the plan."""
    return f"notes on {ctx.input}"


@step
async def write(ctx: StepContext) -> str:
    """Write it up."""
    return f"trip: {ctx.input}"


def trip_catalog(tmp_path: Path) -> AgentCatalog:
    flow = Workflow("trip", [plan, research, write], store=tmp_path / "runs.db")
    return AgentCatalog("test", {}, {"trip": flow})


async def choose_and_send(pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    app = pilot.app
    await wait_for(pilot, lambda: app.agent_name == "trip")
    await send(pilot, text)


async def test_a_step_breakpoint_pauses_an_in_process_workflow_and_its_input_is_edited(
    store: Store, tmp_path: Path
) -> None:
    app = StudioApp(store, InProcessSession.recording(trip_catalog(tmp_path), store.writer))
    app.breakpoints.toggle(BreakpointSpec("trip", PausePoint.BEFORE_STEP, "research"))
    async with app.run_test(size=(120, 40)) as pilot:
        await choose_and_send(pilot, "Rome")
        screen = await paused(pilot)
        assert "PAUSED  before step research · workflow trip" in screen_text(app)
        assert "its input\nplan for Rome" in screen_text(app)
        await edit(pilot, '"plan for Lima"')
        await wait_for(pilot, lambda: not app.running, timeout=20)
        assert "trip: notes on plan for Lima" in app.conversations["trip"].turns[-1][1]
        assert not isinstance(app.screen, PausedScreen)
        assert screen is not app.screen
    research_span = spans_named(store, "step research")[0]
    assert research_span.attributes[sc.debug_key("before_step", "decision")] == "edit"
    assert orjson.loads(research_span.attributes[sc.debug_key("before_step", "value")]) == (
        "plan for Lima")


async def select_step(pilot: Pilot[None], app: StudioApp, step: str) -> str:
    """The shown run's span of ``step`` selected in the focused waterfall; its span id."""
    tree = app.query_one(TraceWaterfall)
    name = f"step {step}"
    await wait_for(pilot, lambda: any(s.name == name for s in tree.spans.values()))
    span_id = next(s.span_id for s in tree.spans.values() if s.name == name)
    tree.select_span(span_id)
    tree.focus()
    return span_id


async def fork_at_research(pilot: Pilot[None], app: StudioApp) -> None:
    """``f`` on the shown trip run's research step: the fork's input editor open."""
    await select_step(pilot, app, "research")
    await pilot.press("f")
    await wait_for(pilot, lambda: app.screen.query("#fork-input"))


async def test_a_finished_run_forks_from_its_second_step_and_both_are_compared(
    store: Store, tmp_path: Path
) -> None:
    app = StudioApp(store, InProcessSession.recording(trip_catalog(tmp_path), store.writer))
    async with app.run_test(size=(120, 40)) as pilot:
        await choose_and_send(pilot, "Rome")
        await wait_for(pilot, lambda: not app.running and app.trace_id is not None, timeout=20)
        origin = app.trace_id
        await fork_at_research(pilot, app)
        editor = app.screen.query_one(TextArea)
        assert editor.text == '"plan for Rome"'  # the input the step had, as JSON
        editor.load_text('"plan for Kyoto"')
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen), timeout=20)
        said = "\n".join(text for _, text in app.conversations["trip"].turns)
        assert "trip: notes on plan for Kyoto" in said
    store.writer.flush()
    forks = [t for t in store.reader.list_traces() if t.trace_id != origin]
    assert len(forks) == 1
    root = next(s for s in store.reader.trace_spans(forks[0].trace_id)
                if s.parent_span_id is None)
    assert root.attributes[sc.LUMOS_WORKFLOW_FORK_STEP] == "research"
    assert [link.trace_id for link in root.links] == [origin]


async def test_b_on_a_step_span_sets_its_breakpoint_and_the_next_run_pauses_there(
    store: Store, tmp_path: Path
) -> None:
    app = StudioApp(store, InProcessSession.recording(trip_catalog(tmp_path), store.writer))
    async with app.run_test(size=(120, 40)) as pilot:
        await choose_and_send(pilot, "Rome")
        await wait_for(pilot, lambda: not app.running and app.trace_id is not None, timeout=20)
        tree = app.query_one(TraceWaterfall)
        write_span = await select_step(pilot, app, "write")
        await pilot.press("b")
        assert app.breakpoints.specs == (BreakpointSpec("trip", PausePoint.BEFORE_STEP, "write"),)
        await wait_for(pilot, lambda: tree.marked == {write_span})
        assert "trip" in app.query_one(AgentList).marked

        await pilot.press("i")
        await send(pilot, "Oslo")
        await paused(pilot)
        assert "PAUSED  before step write · workflow trip" in screen_text(app)
        await pilot.press("x")  # abort: the run ends there
        await wait_for(pilot, lambda: not app.running, timeout=20)
        assert "aborted in the debugger" in app.conversations["trip"].turns[-1][1]


FORKABLE = '''
from lumos_core import Agent, tool

@tool
def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"Sunny in {city}"

weather = Agent(name="weather", model="scripted", tools=[get_weather])
'''


async def test_an_agent_run_forks_from_its_second_model_call_in_the_worker(
    store: Store, tmp_path: Path
) -> None:
    agent_file = tmp_path / "agents.py"
    agent_file.write_text(FORKABLE)
    with worker_studio(store, agent_file) as app:
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: app.loads == 1, timeout=20)
            await send(pilot, "weather in Rome?")
            await wait_for(pilot, lambda: not app.running, timeout=20)
            tree = app.query_one(TraceWaterfall)
            await wait_for(pilot, lambda: len([s for s in tree.spans.values()
                                               if s.name == "chat scripted"]) == 2, timeout=20)
            origin = app.trace_id
            second = sorted((s for s in tree.spans.values() if s.name == "chat scripted"),
                            key=lambda s: s.start_ns)[1]
            tree.select_span(second.span_id)
            tree.focus()
            await pilot.press("f")
            await wait_for(pilot, lambda: app.screen.query("#fork-input"))
            editor = app.screen.query_one(TextArea)
            assert '"response": "Sunny in Rome"' in editor.text
            editor.load_text(editor.text.replace("Sunny in Rome", "Hail in Rome"))
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen), timeout=20)
            assert app.conversations["weather"].turns[-1] == ("weather", "Hail in Rome")
        store.writer.flush()
        fork = next(t for t in store.reader.list_traces() if t.trace_id != origin)
        root = next(s for s in store.reader.trace_spans(fork.trace_id)
                    if s.parent_span_id is None)
        assert root.attributes[sc.LUMOS_AGENT_FORK_OF] == second.span_id
        assert [(link.trace_id, link.span_id) for link in root.links] == [
            (origin, second.span_id)]


async def test_cancelling_a_paused_run_closes_the_paused_view_and_frees_its_thread(
    store: Store, tmp_path: Path
) -> None:
    app = StudioApp(store, InProcessSession.recording(trip_catalog(tmp_path), store.writer))
    app.breakpoints.toggle(BreakpointSpec("trip", PausePoint.BEFORE_STEP, "research"))
    async with app.run_test(size=(120, 40)) as pilot:
        await choose_and_send(pilot, "Rome")
        await paused(pilot)
        await pilot.press("ctrl+x")
        await wait_for(pilot, lambda: not app.running, timeout=20)
        assert not isinstance(app.screen, PausedScreen)
        assert app.conversations["trip"].turns[-1] == ("error", "cancelled")
        assert not app._waiting_pauses


async def test_ctrl_d_removes_all_breakpoints_as_the_dialog_opens_in_its_target_field(
    store: Store, tmp_path: Path
) -> None:
    app = StudioApp(store, InProcessSession.recording(trip_catalog(tmp_path), store.writer))
    app.breakpoints.toggle(BreakpointSpec("trip", PausePoint.BEFORE_STEP, "research"))
    app.breakpoints.toggle(BreakpointSpec("trip", PausePoint.AFTER_STEP, "write"))
    async with app.run_test(size=(120, 40)) as pilot:
        agents = app.query_one(AgentList)
        await wait_for(pilot, lambda: app.agent_name == "trip" and "trip" in agents.marked)
        agents.focus()
        await pilot.press("b")
        await wait_for(pilot, lambda: app.screen.query("#breakpoints-target"))
        assert app.focused is not None and app.focused.id == "breakpoints-target"
        await pilot.press("ctrl+d")  # the Input's own key (delete right) must not take it
        await wait_for(pilot, lambda: not app.screen.query("#breakpoints-target"))
        assert app.breakpoints.of("trip") == ()
        assert "trip" not in agents.marked


KYIV = '''
from lumos_core import Agent, ScriptedModel, tool
from lumos_core.messages import Message, ToolCallPart

@tool
def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"Sunny in {city}"

ask = Message("assistant", (ToolCallPart("c1", "get_weather", {"city": "Kyiv"}),))
weather = Agent(name="weather", model=ScriptedModel([ask, ask, "Sunny."]), tools=[get_weather])
'''


async def test_a_refused_edit_is_not_noted_as_edited_nor_an_aborted_tool_call_as_made(
    store: Store, tmp_path: Path
) -> None:
    agent_file = tmp_path / "agents.py"
    agent_file.write_text(KYIV)
    with worker_studio(store, agent_file) as app:
        app.breakpoints.toggle(BreakpointSpec("weather", PausePoint.BEFORE_TOOL, "get_weather"))
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: app.agent_name == "weather", timeout=20)
            await send(pilot, "weather in Kyiv?")
            await paused(pilot)
            await wait_for(pilot, lambda: "→ get_weather(city=Kyiv)" in streaming(app))
            await edit(pilot, '{"town": "X"}')
            await wait_for(pilot, lambda: isinstance(app.screen, PausedScreen)
                           and app.screen.paused.refused is not None, timeout=20)
            assert "Edit refused: city: Field required" in screen_text(app)
            await pilot.press("escape", "x")
            await wait_for(pilot, lambda: not app.running, timeout=20)
            await wait_for(pilot, lambda: streaming(app) == "")
            said = [text for _, text in app.conversations["weather"].turns]
            assert said[:2] == ["weather in Kyiv?",
                                "⏸ paused before tool get_weather: aborted"]
            assert not any("edited" in text or "→ get_weather" in text for text in said)
            assert "aborted in the debugger" in said[-1]
            assert "→ get_weather" not in transcript(app)

            await send(pilot, "and now?")  # cancelled at the pause: the tool never ran either
            await paused(pilot)
            await pilot.press("ctrl+x")
            await wait_for(pilot, lambda: not app.running, timeout=20)
            assert app.conversations["weather"].turns[-2:] == [
                ("you", "and now?"), ("error", "cancelled")]
