"""An agent's tool calls: each in an ``execute_tool`` span, a turn's calls side by side."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from lumos_core import debug_points
from lumos_core.debug import Debugger
from lumos_core.messages import ToolCallPart, ToolResultPart
from lumos_core.run_results import AgentStreamEvent, ToolCallFinished, ToolCallStarted
from lumos_core.telemetry import semconv as sc
from lumos_core.telemetry.spans import current_span
from lumos_core.tools import ToolOutcome

if TYPE_CHECKING:
    from lumos_core.agent import Agent

Emit = Callable[[AgentStreamEvent], None]


async def execute_tools(
    agent: Agent[Any],
    tracer: trace.Tracer,
    calls: list[ToolCallPart],
    emit: Emit | None,
    debugger: Debugger | None,
    content: bool,
) -> list[ToolResultPart]:
    """Run one turn's tool calls side by side, results in call order."""
    tasks = [
        asyncio.ensure_future(
            execute_tool(agent, tracer, call, emit, debugger, content, parallel=True)
        )
        for call in calls
    ]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        raise


async def execute_tool(
    agent: Agent[Any],
    tracer: trace.Tracer,
    call: ToolCallPart,
    emit: Emit | None,
    debugger: Debugger | None,
    content: bool,
    *,
    parallel: bool,
) -> ToolResultPart:
    """One tool call in an ``execute_tool`` span: the arguments and result recorded when content
    is, an unknown tool or a failing one answered as an error result the model reads."""
    if emit is not None:
        emit(ToolCallStarted(call))
    chosen = agent.tools.get(call.name)
    attributes: dict[str, Any] = {
        sc.OPERATION_NAME: sc.OP_EXECUTE_TOOL,
        sc.TOOL_NAME: call.name,
        sc.TOOL_CALL_ID: call.id,
        sc.TOOL_TYPE: "function",
    }
    if chosen is not None and chosen.description:
        attributes[sc.TOOL_DESCRIPTION] = chosen.description
    if content:
        attributes[sc.TOOL_CALL_ARGUMENTS] = orjson.dumps(call.arguments).decode()
    with current_span(
        tracer, sc.span_name(sc.OP_EXECUTE_TOOL, call.name), SpanKind.INTERNAL, attributes
    ) as span:
        recording = span.is_recording()
        content = content and recording
        if debugger is not None:
            outcome = await debug_points.tool(debugger, agent, span, call, chosen, parallel)
        elif chosen is None:
            known = ", ".join(sorted(agent.tools)) or "none"
            outcome = ToolOutcome(
                f"Unknown tool {call.name!r}. Available tools: {known}.", True, "UnknownTool"
            )
        elif parallel and not chosen.is_async:
            outcome = await chosen.invoke(call.arguments, in_thread=True)
        else:
            outcome = await chosen.invoke(call.arguments)
        if recording:
            if content:
                span.set_attribute(sc.TOOL_CALL_RESULT, outcome.text)
            if outcome.is_error:
                error_type = outcome.error_type or "ToolError"
                span.set_attribute(sc.ERROR_TYPE, error_type)
                span.set_status(
                    Status(StatusCode.ERROR, outcome.text if content else error_type)
                )
    result = ToolResultPart(call.id, call.name, outcome.text, outcome.is_error)
    if emit is not None:
        emit(ToolCallFinished(result))
    return result
