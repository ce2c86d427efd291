"""The agent loop's pause points, taken only when a debugger is attached: ``Agent`` checks
``debugger is None`` once per model call and once per tool call and otherwise runs as it always
did; with one, the model call or the tool call goes through here instead.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import orjson
from opentelemetry import trace
from pydantic import ValidationError

from lumos_core import model_calls
from lumos_core.debug import Debugger, EditRefused, ModelCall, PausePoint, PauseRequest
from lumos_core.messages import (
    Message,
    ModelResponse,
    ToolCallPart,
    Usage,
    message_from_dict,
    message_to_dict,
    messages_json,
)
from lumos_core.models.base import request_options
from lumos_core.telemetry import semconv as sc
from lumos_core.telemetry.content import capturing_spans
from lumos_core.telemetry.metrics import measured_chat
from lumos_core.tools import Tool, ToolOutcome

if TYPE_CHECKING:
    from lumos_core.agent import Agent
    from lumos_core.run_request import RunRequest
    from lumos_core.tool_calls import Emit


async def chat(
    debugger: Debugger,
    agent: Agent[Any],
    span: trace.Span,
    instructions: str | None,
    sent: list[Message],
    request: RunRequest,
    emit: Emit | None,
) -> ModelResponse:
    """One model call with a pause before it (the request; an edit sends other messages, a
    skip answers with the stub text) and after it (the answer, editable)."""
    model = agent.model
    settings = request.settings
    call = ModelCall(
        instructions,
        tuple(message_to_dict(m) for m in sent),
        tuple(request.tools),
        {k: v for k, v in dataclasses.asdict(settings).items() if v is not None}
        if settings is not None else {},
    )
    before = await debugger.pause(
        PauseRequest(PausePoint.BEFORE_MODEL, agent.name, call, agent=agent.name),
        validate=_messages,
        stub=_answer,
    )
    if before.skipped:
        response = ModelResponse(before.value, Usage(), model.model_name)
    else:
        if before.value is not call:
            sent = list(before.value)
            if span.is_recording() and capturing_spans():
                span.set_attribute(sc.INPUT_MESSAGES, messages_json(sent))
        if emit is None:
            response = await measured_chat(model, model.request(
                instructions, sent, request.tools,
                **request_options(model, request.settings, request.output),
            ))
        else:
            response = await measured_chat(
                model, model_calls.stream_chat(agent, span, instructions, sent, request, emit)
            )
    after = await debugger.pause(
        PauseRequest(
            PausePoint.AFTER_MODEL, agent.name, message_to_dict(response.message), agent=agent.name
        ),
        validate=_answer,
    )
    if isinstance(after.value, Message):
        response = dataclasses.replace(response, message=after.value)
    return response


async def tool(
    debugger: Debugger, agent: Agent[Any], span: trace.Span, call: ToolCallPart,
    chosen: Tool | None, parallel: bool,
) -> ToolOutcome:
    """One tool call with a pause before it (the arguments, checked against the tool's argument
    model when edited; a skip stands the stub in for the result) and after it (the result text)."""

    def arguments(value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise EditRefused(f"a tool's arguments are a JSON object, not {type(value).__name__}")
        if chosen is not None:
            try:
                chosen.arguments_model.model_validate(value)
            except ValidationError as exc:
                raise EditRefused(_first_error(exc)) from None
        return value

    before = await debugger.pause(
        PauseRequest(PausePoint.BEFORE_TOOL, call.name, call.arguments, agent=agent.name),
        validate=arguments,
        stub=lambda result: ToolOutcome(result if isinstance(result, str) else _json(result)),
    )
    if before.skipped:
        outcome: ToolOutcome = before.value
    else:
        if before.value is not call.arguments:
            call = dataclasses.replace(call, arguments=before.value)
            if span.is_recording() and capturing_spans():
                span.set_attribute(sc.TOOL_CALL_ARGUMENTS, _json(call.arguments))
        if chosen is None:
            known = ", ".join(sorted(agent.tools)) or "none"
            outcome = ToolOutcome(
                f"Unknown tool {call.name!r}. Available tools: {known}.", True, "UnknownTool"
            )
        else:
            in_thread = parallel and not chosen.is_async
            outcome = await chosen.invoke(call.arguments, in_thread=in_thread)
    after = await debugger.pause(
        PauseRequest(PausePoint.AFTER_TOOL, call.name, outcome.text, agent=agent.name),
        validate=_text,
    )
    if after.value is not outcome.text:
        outcome = ToolOutcome(after.value)
    return outcome


def _messages(value: Any) -> list[Message]:
    if not isinstance(value, list | tuple) or not value:
        raise EditRefused("the request's messages are a non-empty list of messages")
    return [_message(m, f"message {i + 1}") for i, m in enumerate(value)]


def _answer(value: Any) -> Message:
    """A model answer: a message dict, or plain text for an assistant message."""
    if isinstance(value, str):
        return Message.assistant(value)
    message = _message(value, "the answer")
    if message.role != "assistant":
        raise EditRefused(f"the answer must be an assistant message, not {message.role!r}")
    return message


def _message(value: Any, what: str) -> Message:
    if not isinstance(value, dict) or "role" not in value:
        raise EditRefused(f"{what} is not a message (an object with a role and parts)")
    try:
        return message_from_dict(value)
    except (KeyError, TypeError, ValueError) as exc:
        raise EditRefused(f"{what} is not a message: {exc}") from None


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise EditRefused(f"a tool's result is text, not {type(value).__name__}")
    return value


def _json(value: Any) -> str:
    return orjson.dumps(value, default=str).decode()


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error["loc"]) or "arguments"
    return f"{where}: {error['msg']}"
