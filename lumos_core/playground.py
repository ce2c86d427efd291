"""One model call sent again outside any agent: the playground's.

A chat span recorded by any framework holds what its model was sent (instructions, messages,
tools, settings). ``try_model_call`` sends that request, edited or not, to any model (the
recorded one, another provider's, the scripted one) and returns the answer without running the
tools it asks for: the point is to see what the model says to this request. The call is traced
as an agent's model call is (a ``chat`` span in the GenAI conventions, in a trace of its own),
linked to the span it repeats (``lumos.chat.fork.of``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from opentelemetry import trace
from opentelemetry.trace import SpanKind

from lumos_core.messages import Message, MessagesJson, ModelResponse, instructions_json
from lumos_core.model_calls import response_attributes, streamed_response
from lumos_core.models import Model, resolve_model
from lumos_core.models.base import ModelStreamEvent, TextDelta, request_options
from lumos_core.models.presets import PRESETS
from lumos_core.run_request import chat_request_attributes
from lumos_core.settings import ModelSettings
from lumos_core.telemetry import semconv as sc
from lumos_core.telemetry.content import capturing_spans
from lumos_core.telemetry.providers import get_tracer
from lumos_core.telemetry.spans import current_span, link_to

__all__ = ["ModelCall", "ModelCallAnswer", "model_for", "try_model_call"]


@dataclass(frozen=True, slots=True)
class ModelCall:
    """A model request: the model (``"openai:gpt-4o-mini"``, ``"scripted"`` or a ``Model``),
    the instructions, the conversation, the tools on offer (as ``Tool.definition()`` writes
    them) and the settings."""

    model: str | Model
    messages: tuple[Message, ...]
    instructions: str | None = None
    tools: tuple[Mapping[str, Any], ...] = ()
    settings: ModelSettings | None = None


@dataclass(frozen=True, slots=True)
class ModelCallAnswer:
    """What the model answered, how long it took, and the trace it was recorded in (None when
    no tracer recorded it)."""

    response: ModelResponse
    seconds: float
    trace_id: str | None = None


async def try_model_call(
    call: ModelCall,
    *,
    repeats: tuple[str, str] | None = None,
    tracer_provider: trace.TracerProvider | None = None,
    on_text: Callable[[str], None] | None = None,
) -> ModelCallAnswer:
    """Send ``call`` once, in a ``chat`` span; ``repeats``: the trace and span ids of the
    recorded call this one tries again (a span link, and ``lumos.chat.fork.of``); ``on_text``:
    streamed (``Model.stream``), given each piece of the answer's text as it arrives.

    Raises ``ValueError`` for a model string no provider answers to, ``ModelError`` when the
    provider fails (no key, refused, unreachable): the message says which and what to set.
    """
    model = resolve_model(call.model)
    settings = model.effective_settings(call.settings)
    attributes = chat_request_attributes(model, settings)
    tools = [dict(tool) for tool in call.tools]
    as_json = MessagesJson() if capturing_spans() else None
    if as_json is not None:
        if call.instructions:
            attributes[sc.SYSTEM_INSTRUCTIONS] = instructions_json(call.instructions)
        attributes[sc.INPUT_MESSAGES] = as_json(call.messages)
        if tools:
            attributes[sc.TOOL_DEFINITIONS] = orjson.dumps(tools).decode()
    trace_id, span_id = repeats or (None, None)
    if span_id is not None:
        attributes[sc.LUMOS_CHAT_FORK_OF] = span_id
    links = link_to(trace_id, span_id, {sc.LUMOS_CHAT_FORK_OF: span_id})
    tracer = get_tracer(tracer_provider)
    name = sc.span_name(sc.OP_CHAT, model.model_name)
    with current_span(tracer, name, SpanKind.CLIENT, attributes, links) as span:
        started = time.perf_counter()
        if on_text is None:
            response = await model.request(call.instructions, call.messages, tools,
                                           **request_options(model, settings, None))
        else:
            def arrived(event: ModelStreamEvent) -> None:
                if isinstance(event, TextDelta) and event.content:
                    on_text(event.content)

            response = await streamed_response(model, model.stream(
                call.instructions, call.messages, tools,
                **request_options(model, settings, None, "stream")), arrived)
            span.set_attribute(sc.REQUEST_STREAM, True)
        seconds = time.perf_counter() - started
        recorded = span.is_recording()
        if recorded:
            span.set_attributes(response_attributes(response, model, as_json))
        context = span.get_span_context()
    return ModelCallAnswer(response, seconds, format(context.trace_id, "032x") if recorded
                           else None)


def model_for(provider: str, model_name: str) -> str | None:
    """The ``"<provider>:<model>"`` string that reaches the model a span names, from its
    provider as telemetry writes it (``gen_ai.provider.name``, OpenInference's ``llm.provider``,
    the AI SDK's ``ai.model.provider``); None when no preset answers to that provider."""
    wanted = provider.strip().lower()
    if wanted == "scripted":  # ours, offline: it answers to any name
        return "scripted"
    if not model_name:
        return None
    for preset in PRESETS.values():
        if wanted in (preset.name, preset.provider_name):
            return f"{preset.name}:{model_name}"
    alias = _PROVIDER_ALIASES.get(wanted)
    return f"{alias}:{model_name}" if alias else None


# Spellings of providers in other conventions, by the preset that reaches them.
_PROVIDER_ALIASES: Mapping[str, str] = {
    "azure": "azure-openai", "azure_openai": "azure-openai", "az.ai.openai": "azure-openai",
    "google": "gemini", "gcp.gen_ai": "gemini", "gcp.vertex_ai": "gemini", "vertex_ai": "gemini",
    "google-generative-ai": "gemini", "mistralai": "mistral", "x-ai": "xai",
    "openai.chat": "openai", "openai.responses": "openai",
}
