"""An agent's tool calls: each in an ``execute_tool`` span, a turn's calls side by side; and one
tool called by hand, outside a run (``call_tool``: a tool tried out, or a recorded call repeated
with its arguments edited)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
from opentelemetry import trace
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from lumos_core import debug_points
from lumos_core.debug import Debugger, current_debugger
from lumos_core.memory.context import RunContext, reset_current_run, set_current_run
from lumos_core.messages import ToolCallPart, ToolResultPart
from lumos_core.run_results import AgentStreamEvent, ToolCallFinished, ToolCallStarted
from lumos_core.telemetry import semconv as sc
from lumos_core.telemetry.content import capturing_spans, enter_capture, leave_capture
from lumos_core.telemetry.providers import get_tracer
from lumos_core.telemetry.spans import current_span, link_to
from lumos_core.tools import ToolOutcome
from lumos_core.toolsets import open_toolsets

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
    links: Sequence[Link] | None = None,
    started: Callable[[trace.Span], None] | None = None,
) -> ToolResultPart:
    """One tool call in an ``execute_tool`` span: the arguments and result recorded when content
    is, an unknown tool or a failing one answered as an error result the model reads.
    ``links`` and ``started`` (told the span as it starts) serve ``call_tool``."""
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
        tracer, sc.span_name(sc.OP_EXECUTE_TOOL, call.name), SpanKind.INTERNAL, attributes,
        links,
    ) as span:
        if started is not None:
            started(span)
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


@dataclass(frozen=True, slots=True)
class ToolCallResult:
    """A tool called by hand: its result as the model would read it, whether it was an error
    result (its arguments refused, a ``ToolError``, no such tool: ``text`` says why), and the
    call's trace. A tool that raises anything else raises here, as in a run."""

    text: str
    is_error: bool = False
    trace_id: str | None = None


async def call_tool(
    agent: Agent[Any],
    name: str,
    arguments: dict[str, Any],
    *,
    repeats: tuple[str, str] | None = None,
) -> ToolCallResult:
    """Call ``agent``'s tool ``name`` with ``arguments`` as a run would (its MCP servers' tools
    too), in an ``execute_tool`` span of a trace of its own; ``repeats``: the trace and span ids
    of the recorded call this one repeats (a span link, and ``lumos.tool.fork.of``)."""
    trace_id, span_id = repeats or (None, None)
    links = link_to(trace_id, span_id, {sc.LUMOS_TOOL_FORK_OF: span_id})
    trace_ids: list[str] = []

    def started(span: trace.Span) -> None:
        trace_ids.append(format(span.get_span_context().trace_id, "032x"))
        span.set_attribute(sc.LUMOS_TOOL_AGENT, agent.name)
        if span_id is not None:
            span.set_attribute(sc.LUMOS_TOOL_FORK_OF, span_id)

    call = ToolCallPart(f"call_by_hand_{name}", name, arguments)
    capture = enter_capture(agent.capture_content)
    token = set_current_run(RunContext(None))
    try:
        tracer = get_tracer()
        content = capturing_spans()
        async with AsyncExitStack() as servers:
            if agent.toolsets:  # as a run does: its servers opened for the call
                agent.tools, agent._tool_definitions = await servers.enter_async_context(
                    open_toolsets(agent.tools, agent.toolsets))
            result = await execute_tool(agent, tracer, call, None, current_debugger(), content,
                                        parallel=False, links=links, started=started)
    finally:
        reset_current_run(token)
        leave_capture(capture)
    return ToolCallResult(str(result.result), result.is_error, trace_ids[0] if trace_ids else None)
