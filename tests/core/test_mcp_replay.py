"""Replaying a run that used MCP tools takes their results from the trace: no server is started,
unless a tool named in ``real_tools`` must run for real."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from lumos_core import Agent, ScriptedModel
from lumos_core.mcp import MCPServerError, MCPServerStdio
from lumos_core.messages import Message, ToolResultPart
from lumos_core.telemetry import semconv as sc
from lumos_core.testing import CapturedSpans, TraceDivergence, replay

pytestmark = pytest.mark.timeout(90)

SERVER = Path(__file__).parent / "data" / "weather_mcp_server.py"
MISSING = "/nonexistent/mcp-weather-server"  # starting this would fail the run at once


def weather_agent(server: MCPServerStdio, *script: object) -> Agent:
    return Agent("weather", "Answer weather questions.", ScriptedModel(list(script)),
                 tools=[server])


async def record(captured: CapturedSpans, *script: object) -> Agent:
    """One run against the real server; the spans are in ``captured``."""
    agent = weather_agent(MCPServerStdio(sys.executable, [str(SERVER)]), *script)
    await agent.run("Weather in Paris, and station XYZ?")
    return agent


PARIS_AND_STATION = (
    Message("assistant", (*ScriptedModel.call("get_weather", city="Paris").parts,
                          *ScriptedModel.call("lookup_station", code="XYZ").parts),
            finish_reason="tool_calls"),  # two calls in one turn
    "Sunny in Paris; no station XYZ.",
)


async def test_a_replay_answers_mcp_tools_from_the_trace_without_the_server(
    captured_spans: CapturedSpans,
) -> None:
    recorded_agent = await record(captured_spans, *PARIS_AND_STATION)
    spans = captured_spans.records()
    captured_spans.clear()
    # The agent as the code now defines it: its server could not even start.
    results = await replay(spans).arun(weather_agent(MCPServerStdio(MISSING), "unused"))
    [result] = results
    assert result.output == "Sunny in Paris; no station XYZ."
    outcomes = {p.name: p for m in result.messages for p in m.parts
                if isinstance(p, ToolResultPart)}
    assert outcomes["get_weather"].result == "Sunny and 21 °C in Paris"
    assert outcomes["lookup_station"].is_error
    assert "no station with code 'XYZ'" in outcomes["lookup_station"].result
    # The replayed calls are traced like the originals: the server named, the result recorded.
    [span] = [s for s in captured_spans.of("execute_tool")
              if (s.attributes or {})[sc.TOOL_NAME] == "get_weather"]
    attributes = span.attributes or {}
    assert attributes[sc.LUMOS_MCP_SERVER] == "weather"
    assert attributes[sc.LUMOS_MCP_TRANSPORT] == "stdio"
    assert attributes[sc.TOOL_TYPE] == "extension"
    # The model was offered the server's tools as recorded.
    [chat, *_] = captured_spans.of("chat")
    offered = (chat.attributes or {})[sc.TOOL_DEFINITIONS]
    assert '"name":"get_weather"' in offered and '"name":"server_pid"' in offered
    # The agent that recorded (its tools now include the server's) replays as well.
    recorded_server = recorded_agent.toolsets[0]
    assert isinstance(recorded_server, MCPServerStdio)
    recorded_server.command = MISSING
    assert (await replay(spans).arun(recorded_agent))[0].output == result.output


async def test_a_tool_named_in_real_tools_runs_on_a_started_server(
    captured_spans: CapturedSpans,
) -> None:
    await record(captured_spans, ScriptedModel.call("server_pid"), "done")
    spans = captured_spans.records()
    agent = weather_agent(MCPServerStdio(sys.executable, [str(SERVER)]), "unused")
    assert (await replay(spans).arun(agent))[0].output == "done"  # the recorded pid
    with pytest.raises(TraceDivergence, match="message 3 of the conversation differs"):
        await replay(spans).arun(agent, real_tools=["server_pid"])  # a new server, a new pid
    with pytest.raises(MCPServerError, match="could not start"):  # a real tool needs its server
        await replay(spans).arun(weather_agent(MCPServerStdio(MISSING), "unused"),
                                 real_tools=["server_pid"])
