"""The Vercel AI SDK's ``ai.*`` telemetry (also what Mastra emits).

``ai.generateText`` / ``ai.streamText`` (and the object variants) wrap a whole multi-step call and
read as agent spans; ``….doGenerate`` / ``….doStream`` are the model calls; ``ai.toolCall`` runs a
tool. Prompts are ``ai.prompt.messages`` (the SDK's message shape: ``tool-call`` parts with
``input``, ``tool-result`` parts with ``output``) or ``ai.prompt`` on the outer span; answers are
``ai.response.text`` and ``ai.response.toolCalls``.
"""

from __future__ import annotations

from typing import Any, Final

from lumos_studio.semantics._draft import MAX_MESSAGES, MAX_PARTS, Draft, as_str, maybe_json
from lumos_studio.semantics.parts import text_message, tool_definitions
from lumos_studio.semantics.view import (
    Dialect,
    MediaPart,
    Message,
    OperationKind,
    OtherPart,
    Part,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)

OPERATION_ID: Final = "ai.operationId"
MODEL_ID: Final = "ai.model.id"
RESPONSE_MODEL: Final = "ai.response.model"
TOOL_CALL_NAME: Final = "ai.toolCall.name"
OUTER: Final = ("ai.generateText", "ai.streamText", "ai.generateObject", "ai.streamObject")
USAGE: Final = (
    ("input_tokens", ("ai.usage.inputTokens", "ai.usage.promptTokens")),
    ("output_tokens", ("ai.usage.outputTokens", "ai.usage.completionTokens")),
    ("total_tokens", ("ai.usage.totalTokens",)),
    (
        "cache_read_tokens",
        ("ai.usage.inputTokenDetails.cacheReadTokens", "ai.usage.cachedInputTokens"),
    ),
    ("cache_creation_tokens", ("ai.usage.inputTokenDetails.cacheWriteTokens",)),
    (
        "reasoning_tokens",
        ("ai.usage.outputTokenDetails.reasoningTokens", "ai.usage.reasoningTokens"),
    ),
)
#: ``RequestSettings`` fields by the AI SDK's call settings that give them.
SETTING_KEYS: Final = (
    ("temperature", "ai.settings.temperature"),
    ("max_tokens", "ai.settings.maxOutputTokens"),
    ("max_tokens", "ai.settings.maxTokens"),
    ("top_p", "ai.settings.topP"),
    ("seed", "ai.settings.seed"),
    ("stop", "ai.settings.stopSequences"),
)
KNOWN_PREFIXES: Final = (
    "ai.operationId", "ai.settings.", "ai.request.headers.", "ai.telemetry.",
    "ai.usage.inputTokenDetails.noCache", "ai.usage.outputTokenDetails.text",
    "ai.response.id", "ai.response.timestamp", "ai.response.providerMetadata", "ai.response.ms",
    "ai.response.avg", "ai.prompt.toolChoice", "ai.stream.", "ai.schema", "ai.value",
    "ai.embedding",
)


def operation_kind(operation: str) -> OperationKind | None:
    """What an AI SDK span (by its ``ai.operationId`` or name) is."""
    if operation.endswith((".doGenerate", ".doStream")):
        return OperationKind.LLM
    if operation in OUTER:
        return OperationKind.AGENT
    if operation == "ai.toolCall":
        return OperationKind.TOOL
    if operation.startswith(("ai.embed", "ai.embedMany")):
        return OperationKind.EMBEDDING
    return None


def _tool_output(output: Any) -> Any:
    """A ``tool-result`` part's ``output``: ``{"type": "json"|"text", "value": …}`` → the value."""
    if isinstance(output, dict) and "value" in output and as_str(output.get("type")):
        return output["value"]
    return output


def _part(item: Any) -> Part | None:
    if isinstance(item, str):
        return TextPart(item)
    if not isinstance(item, dict):
        return None
    kind = as_str(item.get("type"))
    if kind == "text":
        return TextPart(as_str(item.get("text")))
    if kind == "reasoning":
        return ReasoningPart(as_str(item.get("text")))
    if kind == "tool-call":
        arguments = item["input"] if "input" in item else item.get("args")
        return ToolCallPart(
            as_str(item.get("toolCallId")), as_str(item.get("toolName")), maybe_json(arguments)
        )
    if kind == "tool-result":
        result = _tool_output(item["output"]) if "output" in item else item.get("result")
        return ToolResultPart(as_str(item.get("toolCallId")), as_str(item.get("toolName")), result)
    if kind in ("image", "file"):
        data = item.get("image", item.get("data"))
        text = as_str(data)
        is_uri = text.startswith(("http://", "https://", "data:", "file:"))
        return MediaPart(
            mime_type=as_str(item.get("mediaType", item.get("mimeType"))),
            uri=text if is_uri else "",
            blob="" if is_uri else text,
            modality="image" if kind == "image" else "",
        )
    return OtherPart(kind, item)


def vercel_messages(value: Any) -> tuple[Message, ...] | None:
    if not isinstance(value, list):
        return None
    out: list[Message] = []
    for item in value[:MAX_MESSAGES]:
        if not isinstance(item, dict):
            continue
        content = item.get("content")
        items = content if isinstance(content, list) else [content] if content is not None else []
        parts = tuple(p for p in (_part(c) for c in items[:MAX_PARTS]) if p is not None)
        out.append(Message(as_str(item.get("role")), parts))
    return tuple(out)


def _outer_prompt(d: Draft, prompt: Any) -> None:
    """``ai.prompt``: ``{"system", "prompt", "messages"}`` on the outer span."""
    if not isinstance(prompt, dict):
        return
    system = prompt.get("system")
    if isinstance(system, str) and system and not d.system_instructions:
        d.system_instructions = (TextPart(system),)
    if d.input_messages:
        return
    messages = vercel_messages(prompt.get("messages"))
    text = prompt.get("prompt")
    if messages:
        d.input_messages = messages
    elif isinstance(text, str):
        d.input_messages = (text_message("user", text),)
    elif isinstance(text, list):
        d.input_messages = vercel_messages(text) or ()


def _output(d: Draft) -> None:
    a = d.attrs
    parts: list[Part] = []
    for key in ("ai.response.reasoningText", "ai.response.reasoning"):
        if isinstance(a.get(key), str) and a[key]:
            parts.append(ReasoningPart(a[key]))
            d.read.add(key)
    for key in ("ai.response.text", "ai.response.object"):
        if isinstance(a.get(key), str):
            d.read.add(key)
            if a[key]:
                parts.append(TextPart(a[key]))
    calls = d.json("ai.response.toolCalls") if "ai.response.toolCalls" in a else None
    if isinstance(calls, list):
        d.read.add("ai.response.toolCalls")
        for call in calls[:MAX_PARTS]:
            if isinstance(call, dict):
                arguments = call["input"] if "input" in call else call.get("args")
                parts.append(
                    ToolCallPart(
                        as_str(call.get("toolCallId")),
                        as_str(call.get("toolName")),
                        maybe_json(arguments),
                    )
                )
    reason = d.take_str("ai.response.finishReason")
    if reason and not d.finish_reasons:
        d.finish_reasons = (reason,)
    if parts and not d.output_messages:
        d.output_messages = (Message("assistant", tuple(parts), finish_reason=reason),)


def read_vercel_ai(d: Draft, keys: list[str], span_name: str) -> None:
    a = d.attrs
    before = len(d.read)
    operation = d.take_str(OPERATION_ID) or span_name
    kind = operation_kind(operation)
    d.set_kind(kind)
    d.operation_name = d.operation_name or operation
    if operation.startswith("ai.") and d.streaming is None and kind is not OperationKind.TOOL:
        d.streaming = ".stream" in operation or operation.startswith("ai.stream")
    d.fill("request_model", MODEL_ID)
    d.fill("response_model", RESPONSE_MODEL)
    provider = d.take_str("ai.model.provider")
    if provider and (not d.provider or d.provider == provider):
        d.provider = provider.partition(".")[0]  # "openai.chat" names the provider's API too
    d.fill("response_id", "ai.response.id")
    for setting, key in SETTING_KEYS:
        if key in a:
            d.set_setting(setting, a[key])
    if kind is OperationKind.AGENT:
        d.agent_name = d.agent_name or as_str(a.get("ai.telemetry.functionId"))
    for field, names in USAGE:
        for key in names:
            d.set_usage(field, key)
    if "ai.prompt.messages" in a and not d.input_messages:
        messages = vercel_messages(d.json("ai.prompt.messages"))
        if messages is not None:
            d.input_messages = messages
            d.read.add("ai.prompt.messages")
    if "ai.prompt" in a:
        prompt = d.json("ai.prompt")
        if isinstance(prompt, dict):
            _outer_prompt(d, prompt)
            d.read.add("ai.prompt")
    if "ai.prompt.tools" in a:
        tools = tool_definitions(d.json("ai.prompt.tools"))
        if tools is not None:
            d.read.add("ai.prompt.tools")
            d.tool_definitions = d.tool_definitions or tools
    _output(d)
    if kind is OperationKind.TOOL or "ai.toolCall.name" in a:
        d.has_tool = True
        d.fill("tool_name", "ai.toolCall.name")
        d.fill("tool_id", "ai.toolCall.id")
        for key in ("ai.toolCall.args", "ai.toolCall.input"):
            if key in a and d.tool_arguments is None:
                d.tool_arguments = maybe_json(a[key])
                d.read.add(key)
        for key in ("ai.toolCall.result", "ai.toolCall.output"):
            if key in a and d.tool_result is None:
                d.tool_result = a[key]
                d.read.add(key)
    for key in keys:
        if key.startswith(KNOWN_PREFIXES):
            d.read.add(key)
    if len(d.read) > before:
        d.add_dialect(Dialect.VERCEL_AI)
