"""One agent run: its ``invoke_agent`` span and context, then the tool-calling loop (a model
call, the tools it asks for, the answer validated into ``output_type``, each step saved to memory,
a hand-off) until the model answers.

Apart from ``Agent`` (``lumos_core.agent``), which holds what users call (``run``, ``stream`` and
their sync forms); every one of those runs through ``invoke_agent``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind

from lumos_core.agent_fork import AgentFork
from lumos_core.debug import Debugger, current_debugger
from lumos_core.memory.context import RunContext, Turn, reset_current_run, set_current_run
from lumos_core.messages import Message, MessagesJson, Usage
from lumos_core.model_calls import chat
from lumos_core.output import FINAL_RESULT_TOOL, OutputValidationError, answered_calls, correction
from lumos_core.run_request import RunRequest, instructions_json_or_none
from lumos_core.run_results import OutputT, RunResult, StepLimitExceeded
from lumos_core.subagents import continue_with, handoff_target
from lumos_core.telemetry import get_tracer
from lumos_core.telemetry import semconv as sc
from lumos_core.telemetry.content import capturing_spans, enter_capture, leave_capture
from lumos_core.telemetry.spans import current_span
from lumos_core.tool_calls import Emit, execute_tool, execute_tools
from lumos_core.toolsets import open_toolsets

if TYPE_CHECKING:
    from lumos_core.agent import Agent


async def invoke_agent(
    agent: Agent[OutputT],
    message: str,
    message_history: Sequence[Message],
    thread_id: str | None,
    resource_id: str | None,
    request: RunRequest,
    emit: Emit | None,
    fork: AgentFork | None = None,
) -> RunResult[OutputT]:
    """A run in its ``invoke_agent`` span, with the run's context (thread, debugger, content
    capture) set around it and the agent's toolsets (MCP servers) open for it."""
    tracer = get_tracer()
    memory = agent.memory
    if memory is not None and not thread_id:
        from lumos_core.memory import new_thread_id

        thread_id = new_thread_id()
    attributes = request.invoke_attributes
    if thread_id:
        attributes = {**attributes, sc.CONVERSATION_ID: thread_id}
    if fork is not None and fork.span_id:
        attributes = {**attributes, sc.LUMOS_AGENT_FORK_OF: fork.span_id}
    run = RunContext(thread_id)
    debugger = current_debugger()  # read once a run; None costs one check a pause point
    token = set_current_run(run)
    capture = enter_capture(agent.capture_content)
    try:
        with current_span(
            tracer,
            request.invoke_name,
            SpanKind.INTERNAL,
            attributes,
            fork.links() if fork is not None else None,
        ) as span:
            if not agent.toolsets:
                return await _loop(
                    agent, tracer, span, run, message, message_history, resource_id, request,
                    emit, debugger, fork,
                )
            async with open_toolsets(agent.tools, agent.toolsets) as (tools, definitions):
                agent.tools, agent._tool_definitions = tools, definitions
                request = agent._request(request.asked)  # with the servers' tools
                return await _loop(
                    agent, tracer, span, run, message, message_history, resource_id, request,
                    emit, debugger, fork,
                )
    finally:
        leave_capture(capture)
        reset_current_run(token)


async def _loop(
    agent: Agent[OutputT],
    tracer: trace.Tracer,
    span: trace.Span,
    run: RunContext,
    message: str,
    message_history: Sequence[Message],
    resource_id: str | None,
    request: RunRequest,
    emit: Emit | None,
    debugger: Debugger | None,
    fork: AgentFork | None = None,
) -> RunResult[OutputT]:
    if fork is not None:  # the model answers the fork's messages; memory is left alone
        history, user = list(fork.messages[:-1]), fork.messages[-1]
    else:
        history, user = list(message_history), Message.user(message)
    memory = agent.memory
    turn: Turn | None = None
    if memory is not None and run.thread_id and fork is None:
        turn = await asyncio.to_thread(
            memory.begin_turn, run.thread_id, resource_id, user,
            history if message_history else None,
        )
        run.turn = turn
        history = turn.history
        span.set_attribute(sc.LUMOS_MEMORY_RESOURCE_ID, turn.resource_id)
    recording = span.is_recording()
    # Read once a run: content capture changes only between runs (an agent's own choice is
    # set around its whole run).
    content = recording and capturing_spans()
    conversation = [*history, user]
    as_json = MessagesJson() if content else None
    if as_json is not None:
        instructions = (
            request.instructions_json if turn is None
            else instructions_json_or_none(turn.instructions(agent.instructions))
        )
        if instructions:
            span.set_attributes({
                sc.SYSTEM_INSTRUCTIONS: instructions,
                sc.INPUT_MESSAGES: as_json(conversation),
            })
        else:
            span.set_attribute(sc.INPUT_MESSAGES, as_json(conversation))
    saved = len(conversation)
    usage = Usage()
    step = 0
    output: Any = None
    corrected = False
    while True:
        step += 1
        response = await chat(
            agent, tracer, conversation, run, request, emit, debugger, recording, as_json
        )
        usage = usage + response.usage
        answer = response.message
        conversation.append(answer)
        calls = answer.tool_calls
        if agent._output is not None:
            final = next((c for c in calls if c.name == FINAL_RESULT_TOOL), None)
            if final is not None or not calls:
                try:
                    output = (
                        agent._output.validate_json(answer.text) if final is None
                        else agent._output.validate_object(final.arguments)
                    )
                except ValueError as exc:
                    if corrected or step == agent.max_steps:
                        raise OutputValidationError(
                            f"agent {agent.name!r}: the model's answer did not match "
                            f"{agent._output.schema.name} ({exc}), also after being told "
                            "why; check output_type and the instructions"
                        ) from None
                    corrected = True
                    conversation.append(correction(answer, final, f"{exc}."))
                    if turn is not None:
                        await _save(turn, conversation[saved:])
                        saved = len(conversation)
                    continue
                if final is not None:
                    conversation.append(answered_calls(calls, final))
                break
        elif not calls:
            output = answer.text
            break
        if step == agent.max_steps:
            raise StepLimitExceeded(
                f"agent {agent.name!r} stopped after {agent.max_steps} model calls that "
                "all asked for tools; raise max_steps or check the tools' results"
            )
        if len(calls) == 1:
            results = [await execute_tool(
                agent, tracer, calls[0], emit, debugger, content, parallel=False
            )]
        else:
            results = await execute_tools(agent, tracer, calls, emit, debugger, content)
        conversation.append(Message("tool", tuple(results)))
        if turn is not None:
            await _save(turn, conversation[saved:])
            saved = len(conversation)
        if (target := handoff_target(agent.tools, calls)) is not None:
            save = partial(_save, turn) if turn is not None else None
            return await continue_with(target, span, conversation, len(history), usage, step,
                                       save, emit)
    sub_usage = run.sub_usage
    if sub_usage.input_tokens or sub_usage.output_tokens:
        usage = usage + sub_usage
    if turn is not None:
        await _save(turn, conversation[saved:])
    if recording:
        ended: dict[str, Any] = (
            {sc.OUTPUT_MESSAGES: as_json([answer])} if as_json is not None else {}
        )
        ended[sc.USAGE_INPUT_TOKENS] = usage.input_tokens
        ended[sc.USAGE_OUTPUT_TOKENS] = usage.output_tokens
        ended[sc.LUMOS_STEPS] = step
        span.set_attributes(ended)
    context = span.get_span_context()
    return RunResult(
        output=output,
        messages=tuple(conversation),
        new_messages=tuple(conversation[len(history) :]),
        usage=usage,
        steps=step,
        trace_id=format(context.trace_id, "032x") if context.is_valid else None,
        thread_id=run.thread_id,
        resource_id=turn.resource_id if turn is not None else None,
        agent=agent.name,
    )


async def _save(turn: Turn, messages: list[Message]) -> None:
    """Save a finished step (a tool call with its results, or the answer) as it happens."""
    await asyncio.to_thread(
        turn.memory.save_messages, turn.thread_id, messages, resource_id=turn.resource_id
    )
