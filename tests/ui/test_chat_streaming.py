"""The chat while a turn streams, and workflows chosen and run from the chat (Pilot)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import orjson
import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from lumos_core import Agent, Message, ScriptedModel, tool
from lumos_core.messages import TextPart, ToolCallPart
from lumos_core.telemetry import semconv as sc
from lumos_core.workflows import SnapshotStore, StepContext, Workflow, parallel, step
from lumos_studio.app import StudioApp
from lumos_studio.sessions.discovery import AgentCatalog, load_demo
from lumos_studio.sessions.in_process import InProcessSession
from lumos_studio.store import Store
from lumos_studio.ui.widgets.agent_list import AgentList
from lumos_studio.ui.widgets.span_detail import SpanDetail
from lumos_studio.ui.widgets.waterfall import TraceWaterfall
from tests.ui.helpers import wait_for


def transcript(app: StudioApp) -> str:
    return "\n".join(str(w.content) for w in app.query(".turn"))


def streaming(app: StudioApp) -> str:
    return "\n".join(str(w.content) for w in app.query(".turn-streaming"))


def looking_up_agent(release: threading.Event) -> AgentCatalog:
    """Writes a first sentence, then calls a tool that waits for ``release``, then answers."""

    @tool
    async def slow_lookup(city: str) -> str:
        """Slow lookup of a city."""
        await asyncio.to_thread(release.wait, 60)
        return f"found {city}"

    first = Message(
        "assistant",
        (TextPart("Looking it up for you. "), ToolCallPart("c1", "slow_lookup", {"city": "Rome"})),
        finish_reason="tool_calls",
    )
    model = ScriptedModel([first, "Rome is found, enjoy the trip."], chunk_delay=0.002)
    return AgentCatalog("test", {"finder": Agent("finder", model=model, tools=[slow_lookup])})


async def test_the_answer_grows_in_the_chat_then_the_final_text_replaces_it(
    store: Store, release: threading.Event
) -> None:
    app = StudioApp(store, InProcessSession.recording(looking_up_agent(release), store.writer))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press(*"find rome", "enter")
        # The run is parked in the tool: what streamed so far is on screen, the run is not over.
        await wait_for(pilot, lambda: "→ slow_lookup(city=Rome)" in streaming(app))
        assert "finder › Looking it up for you." in streaming(app)
        assert app.running and app.query_one("#chat-input", Input).disabled

        release.set()
        await wait_for(pilot, lambda: not app.running)
        # The streamed turn gave way to the final one (its view's removal is a message too).
        await wait_for(pilot, lambda: streaming(app) == "")
        shown = transcript(app)
        assert "→ slow_lookup(city=Rome)" in shown  # the tool call stays as a note
        assert shown.endswith("finder › Rome is found, enjoy the trip.")
        assert app.conversations["finder"].turns[-1] == ("finder", "Rome is found, enjoy the trip.")


async def test_cancel_stops_a_streaming_turn_and_keeps_what_was_written(
    store: Store, release: threading.Event
) -> None:
    app = StudioApp(store, InProcessSession.recording(looking_up_agent(release), store.writer))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press(*"find rome", "enter")
        await wait_for(pilot, lambda: "→ slow_lookup(city=Rome)" in streaming(app))
        await pilot.press("ctrl+x")
        # The run ends at once, the tool's thread still waiting (no cancel stops a thread: it
        # is left to end by itself, here when the test ends).
        await wait_for(pilot, lambda: not app.running, timeout=5)
        assert not release.is_set()
        shown = transcript(app)
        assert "finder › Looking it up for you. …" in shown
        assert shown.endswith("error › cancelled")
        assert not app.query_one("#chat-input", Input).disabled


async def choose(pilot, name: str) -> None:  # type: ignore[no-untyped-def]
    agents = pilot.app.query_one(AgentList)
    agents.focus()
    index = next(i for i in range(agents.option_count) if agents.get_option_at_index(i).id == name)
    agents.highlighted = index
    await pilot.press("enter")  # Confirmed: back to the chat input
    await wait_for(pilot, lambda: pilot.app.agent_name == name)


async def send(pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    chat_input = pilot.app.query_one("#chat-input", Input)
    await wait_for(pilot, lambda: not chat_input.disabled and pilot.app.focused is chat_input)
    chat_input.value = text
    await pilot.press("enter")


async def suspend_trip(pilot: Pilot[None], app: StudioApp, destination: str = "oslo") -> None:
    """The demo's trip_planner run in the chat until it suspends at its approval step."""
    await choose(pilot, "trip_planner")
    await send(pilot, f'{{"destination": "{destination}", "needs_approval": true}}')
    await wait_for(pilot, lambda: "suspended at approve" in transcript(app))


async def test_new_starts_a_new_conversation_with_an_agent_and_sends_it_nothing(
    store: Store,
) -> None:
    app = StudioApp(store, InProcessSession.recording(load_demo(), store.writer))
    async with app.run_test(size=(140, 45)) as pilot:
        await choose(pilot, "weather")
        await send(pilot, "weather in Paris?")
        await wait_for(pilot, lambda: not app.running and app.trace_id is not None, timeout=20)
        first_trace, first_thread = app.trace_id, app.conversations.thread_id("weather")
        assert app.conversations["weather"].history  # sent again with the next message

        await send(pilot, "/new")
        conversation = app.conversations["weather"]
        assert not app.running and app.last_input == ("weather", "weather in Paris?")
        assert conversation.history == () and conversation.thread_id not in (None, first_thread)
        hint = (f"New conversation (thread {conversation.thread_id}): the earlier messages are "
                "not sent.")
        assert conversation.turns == [("hint", hint)]
        await wait_for(pilot, lambda: transcript(app) == hint)  # the earlier turns are gone

        await send(pilot, "and in Rome?")
        await wait_for(pilot, lambda: not app.running and app.trace_id != first_trace,
                       timeout=20)
        second_trace = app.trace_id
    store.writer.flush()
    assert len(store.reader.list_traces()) == 2  # /new ran nothing
    spans = store.reader.trace_spans(second_trace)
    root = next(s for s in spans if s.parent_span_id is None)
    assert root.attributes[sc.CONVERSATION_ID] == conversation.thread_id
    sent = orjson.loads(next(s for s in spans if sc.INPUT_MESSAGES in s.attributes)
                        .attributes[sc.INPUT_MESSAGES])
    assert "Paris" not in str(sent) and "and in Rome?" in str(sent)


async def test_the_trip_planner_runs_from_the_chat_with_its_spans_in_the_tree(
    store: Store,
) -> None:
    app = StudioApp(store, InProcessSession.recording(load_demo(), store.writer))
    async with app.run_test(size=(140, 45)) as pilot:
        await choose(pilot, "trip_planner")
        assert "trip_planner is a workflow (plan → research → itinerary → approve)" in (
            transcript(app))
        await send(pilot, '{"destination": "paris", "days": 2}')
        await wait_for(pilot, lambda: "trip_planner › success · run " in transcript(app))
        assert "plan for Paris" in transcript(app) and "Day 2: " in transcript(app)

        tree = app.query_one(TraceWaterfall)
        await wait_for(pilot, lambda: any(s.name == "step approve" for s in tree.spans.values()))
        names = [tree.spans[r.span_id].name for r in tree.rows]
        assert names[0] == "invoke_workflow trip_planner"
        assert {"step plan", "step research", "step itinerary", "invoke_agent weather_scout",
                "invoke_agent sights_guide"} <= set(names)
        assert (store.path.parent / "workflows.db").is_file()


async def test_a_suspended_run_is_resumed_from_the_chat(store: Store) -> None:
    app = StudioApp(store, InProcessSession.recording(load_demo(), store.writer))
    async with app.run_test(size=(140, 45)) as pilot:
        await suspend_trip(pilot, app)
        assert '"question": "Book this trip?"' in transcript(app)
        assert "Your next message resumes this run" in transcript(app)
        chat_input = app.query_one("#chat-input", Input)
        await wait_for(pilot, lambda: not chat_input.disabled)
        assert chat_input.placeholder.startswith("JSON resume data for run ")

        await send(pilot, "yes")  # not JSON: refused before anything runs
        await wait_for(pilot, lambda: "resume data must be JSON" in transcript(app))
        await send(pilot, '{"approved": true}')
        await wait_for(pilot, lambda: "Approved: " in transcript(app))
        assert "trip_planner › success · run " in transcript(app)
        assert app.conversations["trip_planner"].suspended_run is None
        # The resumed run is a trace of its own: the tree and the detail both show it.
        tree, detail = app.query_one(TraceWaterfall), app.query_one(SpanDetail)
        await wait_for(pilot, lambda: any(s.name == "step approve" for s in tree.spans.values()))
        await wait_for(pilot, lambda: detail.span is not None
                       and detail.span.trace_id == tree.trace_id)


async def test_a_bad_workflow_input_shows_the_validation_message(store: Store) -> None:
    app = StudioApp(store, InProcessSession.recording(load_demo(), store.writer))
    async with app.run_test(size=(140, 45)) as pilot:
        await choose(pilot, "trip_planner")
        await send(pilot, '{"days": 3}')
        await wait_for(pilot, lambda: "error › " in transcript(app))
        assert ("workflow 'trip_planner' input is invalid (TripRequest): destination: Field "
                "required") in transcript(app)
        assert not app.running


async def test_a_run_suspended_in_an_earlier_session_is_offered_and_resumed(store: Store) -> None:
    first = StudioApp(store, InProcessSession.recording(load_demo(), store.writer))
    async with first.run_test(size=(140, 45)) as pilot:
        await suspend_trip(pilot, first, "rome")
        run_id = first.conversations["trip_planner"].suspended_run

    again = StudioApp(store, InProcessSession.recording(load_demo(), store.writer))
    async with again.run_test(size=(140, 45)) as pilot:
        await wait_for(pilot, lambda: again.conversations["trip_planner"].suspended_run == run_id)
        await choose(pilot, "trip_planner")
        said = transcript(again)
        assert said.index("trip_planner is a workflow") < said.index(
            f"a run from an earlier session is waiting at approve · run {run_id[:8]}")
        assert '"question": "Book this trip?"' in said
        assert again.query_one("#chat-input", Input).placeholder.startswith(
            f"JSON resume data for run {run_id[:8]}")
        await send(pilot, '{"approved": true}')
        await wait_for(pilot, lambda: "Approved: " in transcript(again))
        assert f"trip_planner › success · run {run_id[:8]}" in transcript(again)
        assert again.conversations["trip_planner"].suspended_run is None


async def test_a_suspended_run_in_the_workflows_own_file_is_offered_too(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = load_demo()
    # The user chose where its runs are saved: the studio leaves that file alone, and finds it.
    monkeypatch.setattr(catalog.workflows["trip_planner"], "store",
                        SnapshotStore(tmp_path / "trips.db"))
    first = StudioApp(store, InProcessSession.recording(catalog, store.writer))
    async with first.run_test(size=(140, 45)) as pilot:
        await suspend_trip(pilot, first, "rome")
        run_id = first.conversations["trip_planner"].suspended_run
    assert SnapshotStore(tmp_path / "trips.db").load(run_id) is not None

    again = StudioApp(store, InProcessSession.recording(catalog, store.writer))
    async with again.run_test(size=(140, 45)) as pilot:
        await wait_for(pilot, lambda: again.conversations["trip_planner"].suspended_run == run_id)


async def test_a_workflow_shows_its_steps_and_its_agents_text_while_it_runs(
    store: Store, release: threading.Event
) -> None:
    @step
    async def gather(ctx: StepContext) -> str:
        return "otters"

    @step
    async def wait_for_editor(ctx: StepContext) -> str:
        await asyncio.to_thread(release.wait, 60)
        return f"{ctx.input} approved"

    writer = Agent("writer", model=ScriptedModel(
        lambda messages, tools: f"A story about {messages[-1].text}.", chunk_delay=0.002))
    workflow = Workflow("stories", [gather, writer, wait_for_editor], store=":memory:")
    catalog = AgentCatalog("test", {}, {"stories": workflow})
    app = StudioApp(store, InProcessSession.recording(catalog, store.writer))
    async with app.run_test(size=(120, 40)) as pilot:
        await choose(pilot, "stories")
        await send(pilot, '"otters"')
        await wait_for(pilot, lambda: "▸ wait_for_editor" in streaming(app))
        live = streaming(app)  # the steps so far, and what the agent step wrote
        assert live.index("✓ gather") < live.index("A story about otters.")
        assert live.index("✓ writer") < live.index("▸ wait_for_editor")
        release.set()
        await wait_for(pilot, lambda: "stories › success" in transcript(app))
        said = transcript(app)
        assert said.index("✓ gather") < said.index("✓ writer") < said.index("✓ wait_for_editor")
        assert not streaming(app)


async def test_parallel_agent_steps_write_each_under_its_own_step(
    store: Store, release: threading.Event
) -> None:
    north = Agent("north", model=ScriptedModel(
        lambda messages, tools: "North wind is cold today.", chunk_delay=0.005))
    south = Agent("south", model=ScriptedModel(
        lambda messages, tools: "South sun is warm today.", chunk_delay=0.005))

    @step
    async def hold(ctx: StepContext) -> str:
        await asyncio.to_thread(release.wait, 60)
        return "done"

    workflow = Workflow("winds", [parallel(north, south), hold], store=":memory:")
    app = StudioApp(store, InProcessSession.recording(
        AgentCatalog("test", {}, {"winds": workflow}), store.writer))
    async with app.run_test(size=(120, 40)) as pilot:
        await choose(pilot, "winds")
        await send(pilot, '"go"')
        await wait_for(pilot, lambda: "▸ hold" in streaming(app))
        live = streaming(app)  # both wrote at once; each sentence stays whole, under its step
        assert "✓ north\nNorth wind is cold today." in live
        assert "✓ south\nSouth sun is warm today." in live
        release.set()
        await wait_for(pilot, lambda: "winds › success" in transcript(app))


async def test_escape_leaves_the_chat_input_so_letter_keys_act(store: Store) -> None:
    app = StudioApp(store, InProcessSession.recording(load_demo(), store.writer))
    async with app.run_test(size=(120, 40)) as pilot:
        chat_input = app.query_one("#chat-input", Input)
        await wait_for(pilot, lambda: app.focused is chat_input)
        await pilot.press("escape")
        assert app.focused is not None and app.focused.id == "transcript"
        await pilot.press("l")  # a letter key: the trace list, not an "l" in the input
        assert app.focused is not None and app.focused.id == "traces"
        assert chat_input.value == ""
        # Maximized: Escape leaves the input first, then (from the conversation) restores.
        chat_input.focus()
        await pilot.press("f6")
        assert app.screen.maximized is not None
        await pilot.press("escape")
        assert app.focused is not None and app.focused.id == "transcript"
        assert app.screen.maximized is not None
        await pilot.press("escape")
        assert app.screen.maximized is None


async def test_new_to_a_workflow_starts_its_chat_over_and_stops_offering_the_waiting_run(
    store: Store,
) -> None:
    app = StudioApp(store, InProcessSession.recording(load_demo(), store.writer))
    async with app.run_test(size=(140, 45)) as pilot:
        await suspend_trip(pilot, app)
        run_id = app.conversations["trip_planner"].suspended_run
        assert run_id is not None
        await send(pilot, "/new")
        await wait_for(pilot, lambda: "is no longer offered here" in transcript(app))
        shown = transcript(app)
        assert "you › /new" not in shown and "suspended at approve" not in shown
        assert shown.startswith("trip_planner is a workflow")
        assert f"Run {run_id[:8]} is no longer offered here; it stays saved" in shown
        assert app.conversations["trip_planner"].suspended_run is None
        chat_input = app.query_one("#chat-input", Input)
        assert not chat_input.placeholder.startswith("JSON resume data")
