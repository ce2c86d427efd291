"""A tool called by hand (``Agent.call_tool``): as a run calls it, in an ``execute_tool`` span of
a trace of its own, linked to the recorded call it repeats; error results come back, bugs raise;
an MCP server's tool is reached through a real server process."""

from __future__ import annotations

import json

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from lumos_core import Agent, ToolCallResult, ToolError, tool
from lumos_core.telemetry import semconv as sc
from tests.core.test_mcp import stdio_server


@tool
def get_weather(city: str) -> str:
    """Current weather for a city."""
    if city == "Atlantis":
        raise ToolError("no weather under the sea")
    if city == "bug":
        raise ZeroDivisionError("division by zero")
    return f"Sunny in {city}"


def weather(tracer_provider: TracerProvider) -> Agent:
    return Agent("weather", model="scripted", tools=[get_weather],
                 tracer_provider=tracer_provider)


async def test_a_tool_called_by_hand_is_a_span_of_a_trace_of_its_own(
    tracer_provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    result = await weather(tracer_provider).call_tool("get_weather", {"city": "Oslo"})
    (span,) = exporter.get_finished_spans()
    assert result == ToolCallResult("Sunny in Oslo", False, format(span.context.trace_id, "032x"))
    assert span.name == "execute_tool get_weather" and span.parent is None
    assert span.attributes[sc.LUMOS_TOOL_AGENT] == "weather"  # no invoke_agent span says it
    assert span.attributes[sc.TOOL_CALL_ARGUMENTS] == '{"city":"Oslo"}'
    assert span.attributes[sc.TOOL_CALL_RESULT] == "Sunny in Oslo"
    assert not span.links and sc.LUMOS_TOOL_FORK_OF not in span.attributes


async def test_a_repeated_call_links_to_the_call_it_repeats(
    tracer_provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    origin = ("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331")
    await weather(tracer_provider).call_tool("get_weather", {"city": "Rome"}, repeats=origin)
    (span,) = exporter.get_finished_spans()
    assert span.attributes[sc.LUMOS_TOOL_FORK_OF] == origin[1]
    assert [(format(link.context.trace_id, "032x"), format(link.context.span_id, "016x"))
            for link in span.links] == [origin]


@pytest.mark.parametrize(("arguments", "name", "said"), [
    ({"city": "Atlantis"}, "get_weather", "no weather under the sea"),
    ({}, "get_weather", "Invalid arguments for tool 'get_weather': city: Field required"),
    ({"city": "Rome"}, "get_forecast", "Unknown tool 'get_forecast'. Available tools: "
                                       "get_weather."),
])
def test_an_error_result_comes_back_as_the_model_would_read_it(
    tracer_provider: TracerProvider, exporter: InMemorySpanExporter,
    arguments: dict[str, str], name: str, said: str,
) -> None:
    result = weather(tracer_provider).call_tool_sync(name, arguments)
    assert result.is_error and result.text.startswith(said)
    (span,) = exporter.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR


def test_a_tool_that_raises_raises_and_its_span_says_so(
    tracer_provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    with pytest.raises(ZeroDivisionError):
        weather(tracer_provider).call_tool_sync("get_weather", {"city": "bug"})
    (span,) = exporter.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.events[0].name == "exception"


async def test_an_mcp_servers_tool_is_called_through_the_server(
    tracer_provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    agent = Agent("weather", model="scripted", tracer_provider=tracer_provider,
                  tools=[stdio_server()])
    result = await agent.call_tool("get_weather", {"city": "Paris"})
    assert result == ToolCallResult("Sunny and 21 °C in Paris", False, result.trace_id)
    (span,) = [s for s in exporter.get_finished_spans() if s.name == "execute_tool get_weather"]
    assert json.loads(span.attributes[sc.TOOL_CALL_ARGUMENTS]) == {"city": "Paris"}
    assert span.attributes[sc.LUMOS_MCP_SERVER] == "weather"
    assert span.attributes[sc.MCP_METHOD_NAME] == "tools/call"


async def test_an_mcp_tool_called_twice_opens_its_server_each_time(
    tracer_provider: TracerProvider,
) -> None:
    """The first call's server is closed after it: the second must not call a closed one."""
    agent = Agent("weather", model="scripted", tracer_provider=tracer_provider,
                  tools=[stdio_server()])
    first = await agent.call_tool("server_pid")
    second = await agent.call_tool("server_pid")
    assert not first.is_error and not second.is_error
    assert first.text != second.text  # a server process each call
