"""Agents in agents: an ``Agent`` in another agent's ``tools=`` becomes a tool that runs it, and
``handoffs=[other]`` offers ``transfer_to_<name>`` tools that give the rest of the run to another
agent.

A sub-agent runs with its own instructions, model and tools inside the parent's ``execute_tool``
span, so its ``invoke_agent`` span nests there; its usage is added to the parent's run. A hand-off
runs the other agent (its ``invoke_agent`` span under the parent's) on the user's message and the
conversation before it; its answer is the run's answer and ``RunResult.agent`` names it.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from opentelemetry import trace

from lumos_core.memory.context import current_run
from lumos_core.messages import Message, ToolCallPart, Usage, messages_json
from lumos_core.run_results import RunResult
from lumos_core.telemetry import semconv as sc
from lumos_core.telemetry.content import capturing_spans
from lumos_core.tools import Tool, as_tool

if TYPE_CHECKING:
    from lumos_core.agent import Agent

#: Set on the parent's ``invoke_agent`` span: the agent the run was handed to.
HANDED_OFF_TO = "lumos.agent.handed_off_to"

MODEL_CHOICES = (
    '"scripted" (offline, deterministic), "openai:gpt-4o-mini" (OPENAI_API_KEY), '
    '"anthropic:claude-sonnet-4-5" (ANTHROPIC_API_KEY) or a Model instance'
)


def missing_model_message(agent_name: str) -> str:
    """Why an ``Agent`` without ``model=`` is refused, and what to pass."""
    return f"agent {agent_name!r} has no model: pass model= one of {MODEL_CHOICES}"


def build_tools(
    tools: Sequence[Any], handoffs: Sequence[Agent] = ()
) -> dict[str, Tool]:
    """An agent's tools by name: functions, ``Tool``s, agents as tools, hand-off tools."""
    from lumos_core.agent import Agent

    built: list[Tool] = [
        AgentTool(t) if isinstance(t, Agent) else as_tool(t) for t in tools
    ]
    built += [HandoffTool(target) for target in handoffs]
    by_name: dict[str, Tool] = {}
    for t in built:
        if t.name in by_name:
            raise ValueError(f"two tools are named {t.name!r}; give one another name")
        by_name[t.name] = t
    return by_name


def tool_name(agent_name: str) -> str:
    """A name providers accept for a tool (letters, digits, ``_`` and ``-``)."""
    return re.sub(r"[^A-Za-z0-9_-]+", "_", agent_name).strip("_") or "agent"


def agent_description(agent: Agent) -> str:
    """``description=``, else the first line of the agent's instructions."""
    if agent.description:
        return agent.description
    lines = agent.instructions.strip().splitlines()
    return lines[0].strip() if lines else f"Ask the {agent.name} agent."


class AgentTool(Tool):
    """A sub-agent as a tool: one ``input`` string in, the sub-agent's answer out."""

    def __init__(self, agent: Agent, *, description: str | None = None) -> None:
        async def run_agent(input: str) -> str:
            result = await agent.run(input)
            parent = current_run()
            if parent is not None:
                parent.sub_usage = parent.sub_usage + result.usage
            return result.output

        super().__init__(
            run_agent,
            name=tool_name(agent.name),
            description=description or agent_description(agent),
        )
        self.agent = agent

    def __repr__(self) -> str:
        return f"AgentTool({self.agent.name!r})"


class HandoffTool(Tool):
    """``transfer_to_<name>``: after this call the other agent answers for the rest of the run."""

    def __init__(self, target: Agent) -> None:
        def transfer() -> str:
            return f"Transferred to {target.name}."

        super().__init__(
            transfer,
            name=f"transfer_to_{tool_name(target.name)}",
            description=f"Hand the conversation to the {target.name} agent: "
            f"{agent_description(target)}",
        )
        self.target = target

    def __repr__(self) -> str:
        return f"HandoffTool({self.target.name!r})"


def handoff_target(tools: dict[str, Tool], calls: Sequence[ToolCallPart]) -> Agent | None:
    """The agent the model transferred to in this turn (the first, if it asked for several)."""
    for call in calls:
        chosen = tools.get(call.name)
        if isinstance(chosen, HandoffTool):
            return chosen.target
    return None


async def continue_with(
    target: Agent,
    span: trace.Span,
    conversation: list[Message],
    history_length: int,
    usage: Usage,
    steps: int,
    save: Callable[[list[Message]], Awaitable[None]] | None,
    emit: Callable[[Any], None] | None = None,
) -> RunResult[Any]:  # the other agent's answer, of its own output type
    """Finish a run with ``target``: it answers the user's message, seeing what came before it.

    ``conversation`` is the parent's (ending with the transfer's tool result); the result joins it
    with the other agent's messages, adds its usage and steps, and records all on ``span``.
    When the run streams (``emit``), the other agent's events go to the same stream.
    """
    history = conversation[:history_length]
    user = conversation[history_length]
    if emit is None:
        sub = await target.run(user.text, message_history=history)
    else:
        sub = await target._run(user.text, history, thread_id=None, resource_id=None,
                                tracer_provider=None, logger_provider=None, settings=None,
                                emit=emit)
    added = list(sub.new_messages[1:])  # the other agent's replies, after the shared user message
    messages = (*conversation, *added)
    run = current_run()
    total = usage + (run.sub_usage if run is not None else Usage()) + sub.usage
    if save is not None and added:
        await save(added)
    if span.is_recording():
        span.set_attribute(HANDED_OFF_TO, sub.agent or target.name)
        if capturing_spans():
            span.set_attribute(sc.OUTPUT_MESSAGES, messages_json(added[-1:]))
        span.set_attribute(sc.USAGE_INPUT_TOKENS, total.input_tokens)
        span.set_attribute(sc.USAGE_OUTPUT_TOKENS, total.output_tokens)
        span.set_attribute(sc.LUMOS_STEPS, steps + sub.steps)
    context = span.get_span_context()
    return RunResult(
        output=sub.output,
        messages=messages,
        new_messages=messages[history_length:],
        usage=total,
        steps=steps + sub.steps,
        trace_id=format(context.trace_id, "032x") if context.is_valid else None,
        thread_id=run.thread_id if run is not None else None,
        resource_id=None,
        agent=sub.agent or target.name,
    )
