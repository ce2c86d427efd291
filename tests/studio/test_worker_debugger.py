"""Breakpoints in a worker process: each pause comes to the studio, whose decision goes back;
parallel tool calls pause one at a time, each answer reaching the call it was shown."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from lumos_core.debug import Decision, Edit, Skip
from lumos_core.messages import ToolResultPart
from lumos_core.worker_protocol import BreakAt, Paused
from lumos_studio.sessions.base import RunOutcome
from lumos_studio.sessions.worker import WorkerSession
from tests.studio.test_worker_session import wait_until

AGENTS = '''
import time
from lumos_core import Agent, ScriptedModel, tool
from lumos_core.messages import Message, ToolCallPart

@tool
def get_weather(city: str) -> str:
    """Current weather for a city."""
    time.sleep(0.05)
    return f"Sunny in {city}"

both = Message("assistant", (ToolCallPart("c1", "get_weather", {"city": "Rome"}),
                             ToolCallPart("c2", "get_weather", {"city": "Oslo"})))
pair = Agent(name="pair", model=ScriptedModel([both, "done"]), tools=[get_weather])
'''


def run_pair(tmp_path: Path, on_pause: Callable[[Paused], Decision]) -> RunOutcome:
    """The ``pair`` agent run in a real worker process, paused before each tool call."""
    path = tmp_path / "agents.py"
    path.write_text(AGENTS)
    session = WorkerSession(path, None, watch=False)
    session.start()
    try:
        wait_until(lambda: session.agents)
        return session.run("pair", "weather?", (), breakpoints=(BreakAt("before_tool"),),
                           on_pause=on_pause)
    finally:
        session.stop()


def test_parallel_tool_calls_pause_one_at_a_time_in_the_worker(tmp_path: Path) -> None:
    shown: list[Paused] = []
    lock = threading.Lock()

    def on_pause(paused: Paused) -> Edit | Skip:
        with lock:
            shown.append(paused)
        if paused.value == {"city": "Rome"}:
            return Edit({"city": "Lima"})
        return Skip("Fog (stub)")

    outcome = run_pair(tmp_path, on_pause)
    assert outcome.error is None, outcome.error
    assert sorted(p.value["city"] for p in shown) == ["Oslo", "Rome"]
    assert all(p.point == "before_tool" and p.agent == "pair" for p in shown)
    results = {part.id: part.result for m in outcome.messages for part in m.parts
               if isinstance(part, ToolResultPart)}
    assert results == {"c1": "Sunny in Lima", "c2": "Fog (stub)"}


def test_a_refused_edit_is_asked_again_before_the_other_parallel_call_pauses(
        tmp_path: Path) -> None:
    """The studio takes a pause of another call as the sign that an edit before it was taken:
    so a refused edit's pause comes back first. (The other call, waiting its turn, went first,
    and the studio noted the refused edit as taken.)"""
    shown: list[Paused] = []

    def on_pause(paused: Paused) -> Edit:
        shown.append(paused)
        if len(shown) == 1:
            return Edit({"town": "Lima"})  # no city: the tool's arguments refuse it
        return Edit({"city": "Lima"})

    outcome = run_pair(tmp_path, on_pause)
    assert outcome.error is None, outcome.error
    assert len(shown) == 3
    first, again, other = shown
    assert first.refused is None and again.refused is not None and "city" in again.refused
    assert again.value == first.value and other.value != first.value
