"""An agent's model calls: each in a ``chat`` span, sent whole (``Model.request``) or streamed
(``Model.stream``, each piece passed on as it arrives), through the debugger when one is attached.

Beside ``lumos_core.tool_calls`` (the other half of a step); the loop (``lumos_core.agent_loop``)
calls these and leaves the chat spans' attributes to them.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

import orjson
from opentelemetry import trace
from opentelemetry.trace import SpanKind

from lumos_core import debug_points
from lumos_core.debug import Debugger
from lumos_core.memory.context import RunContext
from lumos_core.messages import Message, MessagesJson, ModelResponse
from lumos_core.models import Model, ModelError
from lumos_core.models.base import ModelStreamEvent, ResponseCompleted, request_options
from lumos_core.run_request import RunRequest, instructions_json_or_none
from lumos_core.telemetry import semconv as sc
from lumos_core.telemetry.metrics import client_instruments, measured_chat
from lumos_core.telemetry.spans import current_span

if TYPE_CHECKING:
    from lumos_core.agent import Agent
    from lumos_core.tool_calls import Emit


async def chat(
    agent: Agent[Any],
    tracer: trace.Tracer,
    conversation: list[Message],
    run: RunContext,
    request: RunRequest,
    emit: Emit | None,
    debugger: Debugger | None,
    recording: bool,
    as_json: MessagesJson | None,
) -> ModelResponse:
    """One model call in a chat span. When the run's span records, what the span says
    before the call goes in with its first attributes (one copy in the SDK, not a locked
    ``set_attribute`` each), so a live view shows the request while the model works."""
    model = agent.model
    attributes = request.chat_attributes
    instructions = agent.instructions
    sent = conversation
    turn = run.turn
    if turn is not None or run.thread_id or recording:
        attributes = attributes.copy()
        if turn is not None:
            # What the model sees: working memory in the instructions, recall before the
            # window.
            instructions = turn.instructions(instructions)
            if turn.prefix:
                sent = [*turn.prefix, *conversation]
            attributes[sc.LUMOS_MEMORY_WINDOW_COUNT] = len(turn.history)
            attributes[sc.LUMOS_MEMORY_RECALLED_COUNT] = turn.recalled_count
        if run.thread_id:
            attributes[sc.CONVERSATION_ID] = run.thread_id
        if as_json is not None:
            encoded = (
                request.instructions_json if turn is None
                else instructions_json_or_none(instructions)
            )
            if encoded:
                attributes[sc.SYSTEM_INSTRUCTIONS] = encoded
            attributes[sc.INPUT_MESSAGES] = as_json(sent)
        if recording:
            if request.tools_json is not None:
                attributes[sc.TOOL_DEFINITIONS] = request.tools_json
            summary = run.summary()
            if summary is not None:
                attributes[sc.LUMOS_CONTEXT_SUMMARY] = orjson.dumps(summary).decode()
    with current_span(tracer, request.chat_name, SpanKind.CLIENT, attributes) as span:
        if recording and not span.is_recording():  # a sampler dropped this one
            recording, as_json = False, None
        if debugger is not None:
            response = await debug_points.chat(
                debugger, agent, span, instructions or None, sent, request, emit
            )
        else:
            if emit is None:
                call = model.request(instructions or None, sent, request.tools,
                                     **request.options)
            else:
                call = stream_chat(agent, span, instructions or None, sent, request, emit)
            response = await (
                call if client_instruments() is None else measured_chat(model, call)
            )
        if recording:
            span.set_attributes(response_attributes(response, model, as_json))
        return response


def response_attributes(
    response: ModelResponse, model: Model, as_json: MessagesJson | None
) -> dict[str, Any]:
    """What a chat span says of the model's answer: its message (when content is recorded),
    the model that answered, why it stopped, its tokens."""
    message = response.message
    ended: dict[str, Any] = {sc.OUTPUT_MESSAGES: as_json([message])} if as_json is not None else {}
    ended[sc.RESPONSE_MODEL] = response.model_name or model.model_name
    ended[sc.RESPONSE_FINISH_REASONS] = [message.finish_reason or "stop"]
    ended[sc.USAGE_INPUT_TOKENS] = response.usage.input_tokens
    ended[sc.USAGE_OUTPUT_TOKENS] = response.usage.output_tokens
    if response.response_id:
        ended[sc.RESPONSE_ID] = response.response_id
    return ended


async def stream_chat(
    agent: Agent[Any],
    span: trace.Span,
    instructions: str | None,
    sent: list[Message],
    request: RunRequest,
    emit: Emit,
) -> ModelResponse:
    """One model call through ``Model.stream``, each piece passed on as it arrives."""
    model = agent.model
    started = time.perf_counter()
    first_chunk: float | None = None

    def arrived(event: ModelStreamEvent) -> None:
        nonlocal first_chunk
        if first_chunk is None and not isinstance(event, ResponseCompleted):
            first_chunk = time.perf_counter() - started
        emit(event)

    options = request_options(model, request.settings, request.output, "stream")
    response = await streamed_response(
        model, model.stream(instructions, sent, request.tools, **options), arrived)
    if span.is_recording():
        span.set_attribute(sc.REQUEST_STREAM, True)
        if first_chunk is not None:
            span.set_attribute(sc.RESPONSE_TIME_TO_FIRST_CHUNK, first_chunk)
    return response


async def streamed_response(
    model: Model, events: AsyncIterator[ModelStreamEvent],
    arrived: Callable[[ModelStreamEvent], None],
) -> ModelResponse:
    """The whole reply of a ``Model.stream``, each event given to ``arrived`` as it comes (the
    last, ``ResponseCompleted``, too); the stream is closed however it ends."""
    response: ModelResponse | None = None
    try:
        async for event in events:
            if isinstance(event, ResponseCompleted):
                response = event.response
            arrived(event)
    finally:
        close = getattr(events, "aclose", None)
        if close is not None:
            await close()
    if response is None:
        raise ModelError(
            f"{model!r} ended its stream without the whole reply; a Model.stream must end "
            "with ResponseCompleted"
        )
    return response
