"""In the studio: a crashed or cancelled run ends in the chat and in the trace list, and the
next message works without touching the file. Real worker, receiver and store."""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Input

from lumos_studio.app import StudioApp
from lumos_studio.sessions.worker import WorkerSession
from lumos_studio.store import Store
from lumos_studio.ui.widgets.agent_list import AgentList
from tests.ui.helpers import wait_for, worker_studio

AGENTS = '''
import asyncio, os
from lumos_core import Agent, tool

@tool
def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"Sunny in {city}"

@tool
def exit_now(city: str) -> str:
    """Exit the process for a city."""
    os._exit(3)

@tool
async def wait_long(city: str) -> str:
    """Wait a long time for a city."""
    await asyncio.sleep(600)
    return "late"

crasher = Agent(name="crasher", model="scripted", tools=[exit_now])
waiter = Agent(name="waiter", model="scripted", tools=[wait_long])
weather = Agent(name="weather", model="scripted", tools=[get_weather])
'''


def transcript(app: StudioApp) -> str:
    return "\n".join(str(w.content) for w in app.query(".turn"))


async def say(pilot: Pilot[None], app: StudioApp, text: str) -> None:
    """Type ``text`` into the chat once it takes input again (after a crash, the turn ends
    a moment after the transcript says so: keys typed before went to the agent list)."""
    chat_input = app.query_one("#chat-input", Input)
    await wait_for(pilot, lambda: not chat_input.disabled and app.focused is chat_input,
                   timeout=20)
    await pilot.press(*text, "enter")


def statuses(store: Store) -> dict[str, str]:
    store.writer.flush()
    return {t.root_name: t.status for t in store.reader.list_traces()}


async def test_a_crash_and_a_cancel_end_their_runs_and_the_chat_goes_on(
    store: Store, tmp_path: Path
) -> None:
    agent_file = tmp_path / "agents.py"
    agent_file.write_text(AGENTS)
    with worker_studio(store, agent_file) as app:
        session = app.session
        assert isinstance(session, WorkerSession)
        async with app.run_test(size=(120, 40)) as pilot:
            agents = app.query_one(AgentList)
            await wait_for(pilot, lambda: app.loads == 1 and agents.option_count == 3,
                           timeout=20)
            agents.highlighted = 0  # crasher
            await say(pilot, app, "for the city of Paris")
            crashed = "the worker exited with code 3 while running tool 'exit_now'; restarted"
            await wait_for(pilot, lambda: crashed in transcript(app), timeout=20)
            await wait_for(pilot, lambda: statuses(store).get("invoke_agent crasher") == "ERROR",
                           timeout=20)
            assert "not loaded" not in transcript(app)

            agents.highlighted = 1  # waiter
            await say(pilot, app, "for the city of Rome")
            await wait_for(pilot, lambda: session.current is not None and any(
                "wait_long" in s.name for s in session.current.spans.open.values()),
                timeout=20)
            await pilot.press("ctrl+x")
            await wait_for(pilot, lambda: statuses(store).get("invoke_agent waiter") == "ERROR",
                           timeout=20)
            trace = next(t for t in store.reader.list_traces()
                         if t.root_name == "invoke_agent waiter")
            assert {s.status_message for s in store.reader.trace_spans(trace.trace_id)
                    if s.name != "chat scripted"} == {"cancelled"}

            agents.highlighted = 2  # weather
            await say(pilot, app, "for the city of Oslo")
            await wait_for(pilot, lambda: "Sunny in Oslo" in transcript(app), timeout=20)
