"""The studio's breakpoints: kept per project (a damaged file gives none), conditions that pause
only on the value asked for (through a real in-process run), and the spans a breakpoint marks."""

from __future__ import annotations

from pathlib import Path

import pytest

from lumos_core import Agent, ScriptedModel, tool
from lumos_core.debug import Continue, PausePoint
from lumos_core.messages import Message, ToolCallPart
from lumos_core.worker_protocol import BreakAt, Paused
from lumos_studio.semantics import read_span
from lumos_studio.sessions.discovery import AgentCatalog
from lumos_studio.sessions.in_process import InProcessSession
from lumos_studio.store import Store
from lumos_studio.ui.breakpoints import (
    BreakCondition,
    Breakpoints,
    BreakpointSpec,
    node_breakpoint,
)


def test_breakpoints_are_saved_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / ".lumos" / "breakpoints.json"
    kept = Breakpoints.load(path)
    on_rome = BreakpointSpec("weather", PausePoint.BEFORE_TOOL, "get_weather",
                             BreakCondition("city", "Rome"))
    before_plan = BreakpointSpec("trip", PausePoint.BEFORE_STEP, "plan")
    assert kept.toggle(on_rome) and kept.toggle(before_plan)
    again = Breakpoints.load(path)
    assert again.specs == (on_rome, before_plan)
    assert again.wire("weather") == (BreakAt("before_tool", "get_weather", "city", "Rome"),)
    assert again.owners() == {"weather", "trip"}
    assert not again.toggle(on_rome)  # set again: removed
    assert Breakpoints.load(path).specs == (before_plan,)


@pytest.mark.parametrize("content", ["not json", "[1, 2]", '{"breakpoints": [{"owner": 3}]}',
                                     '{"breakpoints": [{"owner": "a", "point": "nowhere"}]}'])
def test_a_damaged_file_gives_no_breakpoints(tmp_path: Path, content: str) -> None:
    path = tmp_path / "breakpoints.json"
    path.write_text(content)
    assert Breakpoints.load(path).specs == ()


def test_a_condition_reads_field_equals_value() -> None:
    assert BreakCondition.parse(" city = Rome ") == BreakCondition("city", "Rome")
    assert BreakCondition.parse("") is None
    with pytest.raises(ValueError, match="field=value"):
        BreakCondition.parse("Rome")


def test_a_conditional_breakpoint_pauses_only_where_it_holds(store: Store) -> None:
    @tool
    def get_weather(city: str, days: int = 1) -> str:
        """Weather for a city."""
        return f"Sunny in {city}"

    asks = Message("assistant", (ToolCallPart("c1", "get_weather", {"city": "Rome"}),
                                 ToolCallPart("c2", "get_weather", {"city": "Oslo", "days": 2})))
    agent = Agent("weather", model=ScriptedModel([asks, "done", asks, "done"]), tools=[get_weather])
    session = InProcessSession.recording(AgentCatalog("test", {"weather": agent}), store.writer)
    shown: list[Paused] = []

    def on_pause(paused: Paused) -> Continue:
        shown.append(paused)
        return Continue()

    for condition in (BreakCondition("city", "Oslo"), BreakCondition("days", "2")):
        spec = BreakpointSpec("weather", PausePoint.BEFORE_TOOL, None, condition)
        outcome = session.run("weather", "weather?", (), breakpoints=(spec.wire(),),
                              on_pause=on_pause)
        assert outcome.error is None, outcome.error
    assert [p.value for p in shown] == [{"city": "Oslo", "days": 2}] * 2

    store.writer.flush()
    trace = store.reader.list_traces()[0]
    spans = {s.span_id: s for s in store.reader.trace_spans(trace.trace_id)}
    views = {i: read_span(s) for i, s in spans.items()}
    kept = Breakpoints([BreakpointSpec("weather", PausePoint.BEFORE_TOOL, "get_weather")])
    assert {spans[i].name for i in kept.marked_spans("weather", spans, views)} == {
        "execute_tool get_weather"}
    assert kept.marked_spans("other", spans, views) == frozenset()


@pytest.mark.parametrize(("node", "workflow", "point", "target"), [
    ("research", True, PausePoint.BEFORE_STEP, "research"),
    ("model", False, PausePoint.BEFORE_MODEL, None),
    ("tool:get_weather", False, PausePoint.BEFORE_TOOL, "get_weather"),
    ("agent:critic", False, PausePoint.BEFORE_MODEL, "critic"),
])
def test_a_graph_node_stands_for_a_breakpoint_and_back(
    node: str, workflow: bool, point: PausePoint, target: str | None
) -> None:
    spec = node_breakpoint("owner", node, workflow)
    assert (spec.point, spec.target) == (point, target)
    kept = Breakpoints()
    kept.put(spec, True)
    kept.put(spec, True)  # already set: stays once
    assert kept.specs == (spec,) and kept.node_ids("owner", workflow) == {node}
    kept.put(spec, False)
    assert kept.specs == ()
