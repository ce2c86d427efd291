"""Agents: instructions, a model and tools, run in a tool-calling loop that emits GenAI spans."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from lumos_core.messages import (
    Message,
    ModelResponse,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    Usage,
    instructions_json,
    messages_json,
)
from lumos_core.models import Model, resolve_model
from lumos_core.telemetry import get_tracer
from lumos_core.telemetry import semconv as sc
from lumos_core.tools import Tool, ToolOutcome, as_tool


class AgentRunError(Exception):
    """A run could not complete; the message says why."""


class StepLimitExceeded(AgentRunError):
    """The model kept calling tools past the agent's ``max_steps``."""


@dataclass(frozen=True, slots=True)
class RunResult:
    """The outcome of one ``Agent.run``: the answer, the whole conversation, usage and trace id."""

    output: str
    messages: tuple[Message, ...]
    new_messages: tuple[Message, ...]
    usage: Usage
    steps: int
    trace_id: str | None


class Agent:
    """An LLM with instructions and tools. ``run`` answers one user message."""

    def __init__(
        self,
        name: str,
        instructions: str = "",
        model: Model | str = "scripted",
        tools: Sequence[Tool | Callable[..., Any] | Callable[..., Awaitable[Any]]] = (),
        *,
        description: str | None = None,
        max_steps: int = 10,
        tracer_provider: trace.TracerProvider | None = None,
    ) -> None:
        if not name or not name.strip():
            raise ValueError("an Agent needs a non-empty name")
        if max_steps < 1:
            raise ValueError("max_steps must be at least 1")
        self.name = name
        self.instructions = instructions
        self.model = resolve_model(model)
        self.tools = {t.name: t for t in map(as_tool, tools)}
        self.description = description
        self.max_steps = max_steps
        self.tracer_provider = tracer_provider
        self._tool_definitions = [t.definition() for t in self.tools.values()]

    def __repr__(self) -> str:
        return f"Agent(name={self.name!r}, model={self.model.model_name!r})"

    def run_sync(
        self,
        message: str,
        *,
        message_history: Sequence[Message] = (),
        tracer_provider: trace.TracerProvider | None = None,
    ) -> RunResult:
        """``run`` for code that is not async (scripts, threads)."""
        return asyncio.run(
            self.run(message, message_history=message_history, tracer_provider=tracer_provider)
        )

    async def run(
        self,
        message: str,
        *,
        message_history: Sequence[Message] = (),
        tracer_provider: trace.TracerProvider | None = None,
    ) -> RunResult:
        """Answer ``message``, calling tools as the model asks, within ``max_steps`` model calls."""
        tracer = get_tracer(tracer_provider or self.tracer_provider)
        model = self.model
        attributes: dict[str, Any] = {
            sc.OPERATION_NAME: sc.OP_INVOKE_AGENT,
            sc.AGENT_NAME: self.name,
            sc.PROVIDER_NAME: model.provider_name,
            sc.REQUEST_MODEL: model.model_name,
        }
        if self.description:
            attributes[sc.AGENT_DESCRIPTION] = self.description
        with tracer.start_as_current_span(
            sc.span_name(sc.OP_INVOKE_AGENT, self.name),
            kind=SpanKind.INTERNAL,
            attributes=attributes,
        ) as span:
            user = Message.user(message)
            history = list(message_history)
            recording = span.is_recording()
            if recording:
                if self.instructions:
                    span.set_attribute(sc.SYSTEM_INSTRUCTIONS, instructions_json(self.instructions))
                span.set_attribute(sc.INPUT_MESSAGES, messages_json([*history, user]))
            conversation = [*history, user]
            usage = Usage()
            step = 0
            while True:
                step += 1
                response = await self._chat(tracer, conversation)
                usage = usage + response.usage
                conversation.append(response.message)
                calls = response.message.tool_calls
                if not calls:
                    break
                if step == self.max_steps:
                    raise StepLimitExceeded(
                        f"agent {self.name!r} stopped after {self.max_steps} model calls that "
                        "all asked for tools; raise max_steps or check the tools' results"
                    )
                results = [await self._execute_tool(tracer, call) for call in calls]
                conversation.append(Message("tool", tuple(results)))
            answer = conversation[-1]
            if recording:
                span.set_attribute(sc.OUTPUT_MESSAGES, messages_json([answer]))
                span.set_attribute(sc.USAGE_INPUT_TOKENS, usage.input_tokens)
                span.set_attribute(sc.USAGE_OUTPUT_TOKENS, usage.output_tokens)
                span.set_attribute(sc.LUMOS_STEPS, step)
            context = span.get_span_context()
            return RunResult(
                output=answer.text,
                messages=tuple(conversation),
                new_messages=tuple(conversation[len(history) :]),
                usage=usage,
                steps=step,
                trace_id=format(context.trace_id, "032x") if context.is_valid else None,
            )

    async def _chat(self, tracer: trace.Tracer, conversation: list[Message]) -> ModelResponse:
        model = self.model
        attributes: dict[str, Any] = {
            sc.OPERATION_NAME: sc.OP_CHAT,
            sc.PROVIDER_NAME: model.provider_name,
            sc.REQUEST_MODEL: model.model_name,
            **model.server_attributes(),
        }
        with tracer.start_as_current_span(
            sc.span_name(sc.OP_CHAT, model.model_name),
            kind=SpanKind.CLIENT,
            attributes=attributes,
        ) as span:
            recording = span.is_recording()
            if recording:
                if self.instructions:
                    span.set_attribute(sc.SYSTEM_INSTRUCTIONS, instructions_json(self.instructions))
                span.set_attribute(sc.INPUT_MESSAGES, messages_json(conversation))
                if self._tool_definitions:
                    span.set_attribute(
                        sc.TOOL_DEFINITIONS, orjson.dumps(self._tool_definitions).decode()
                    )
            response = await model.request(
                self.instructions or None, conversation, self._tool_definitions
            )
            if recording:
                message = response.message
                span.set_attribute(sc.OUTPUT_MESSAGES, messages_json([message]))
                span.set_attribute(sc.RESPONSE_MODEL, response.model_name or model.model_name)
                span.set_attribute(sc.RESPONSE_FINISH_REASONS, [message.finish_reason or "stop"])
                span.set_attribute(sc.USAGE_INPUT_TOKENS, response.usage.input_tokens)
                span.set_attribute(sc.USAGE_OUTPUT_TOKENS, response.usage.output_tokens)
                if response.response_id:
                    span.set_attribute(sc.RESPONSE_ID, response.response_id)
            return response

    async def _execute_tool(self, tracer: trace.Tracer, call: ToolCallPart) -> ToolResultPart:
        chosen = self.tools.get(call.name)
        attributes: dict[str, Any] = {
            sc.OPERATION_NAME: sc.OP_EXECUTE_TOOL,
            sc.TOOL_NAME: call.name,
            sc.TOOL_CALL_ID: call.id,
            sc.TOOL_TYPE: "function",
        }
        if chosen is not None and chosen.description:
            attributes[sc.TOOL_DESCRIPTION] = chosen.description
        with tracer.start_as_current_span(
            sc.span_name(sc.OP_EXECUTE_TOOL, call.name),
            kind=SpanKind.INTERNAL,
            attributes=attributes,
        ) as span:
            recording = span.is_recording()
            if recording:
                span.set_attribute(sc.TOOL_CALL_ARGUMENTS, orjson.dumps(call.arguments).decode())
            if chosen is None:
                known = ", ".join(sorted(self.tools)) or "none"
                outcome = ToolOutcome(
                    f"Unknown tool {call.name!r}. Available tools: {known}.", True, "UnknownTool"
                )
            else:
                outcome = await chosen.invoke(call.arguments)
            if recording:
                span.set_attribute(sc.TOOL_CALL_RESULT, outcome.text)
                if outcome.is_error:
                    span.set_attribute(sc.ERROR_TYPE, outcome.error_type or "ToolError")
                    span.set_status(Status(StatusCode.ERROR, outcome.text))
            return ToolResultPart(call.id, call.name, outcome.text, outcome.is_error)


__all__ = ["Agent", "AgentRunError", "RunResult", "StepLimitExceeded", "TextPart"]
