"""The earlier GenAI forms: messages as events, flattened prompt keys, JSON prompt attributes.

- span events ``gen_ai.{system,user,assistant,tool}.message`` and ``gen_ai.choice``, with the
  body as attributes or as JSON in ``gen_ai.event.content`` (Azure AI Inference);
- log records of the same names (the name in ``event_name`` or in an ``event.name`` attribute;
  bodies decoded dicts or JSON text), see ``logs_for_span`` for which records belong to a span;
- pydantic-ai format 1's ``events`` attribute, a JSON list of such events;
- span events ``gen_ai.content.prompt`` / ``gen_ai.content.completion`` and span attributes
  ``gen_ai.prompt`` / ``gen_ai.completion`` (JSON message lists or plain text);
- flattened ``gen_ai.prompt.N.*`` / ``gen_ai.completion.N.*`` and ``llm.request.functions.N.*``
  (OpenLLMetry before its GenAI attributes).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from lumos_core.telemetry import semconv as sc
from lumos_studio.records import LogRecord, SpanEvent, SpanRecord
from lumos_studio.semantics._draft import (
    MAX_MESSAGES,
    Draft,
    as_float,
    as_str,
    indexed,
    loads,
    maybe_json,
)
from lumos_studio.semantics.genai import read_genai_content
from lumos_studio.semantics.parts import (
    openai_message,
    openai_messages,
    text_message,
    tool_definitions,
)
from lumos_studio.semantics.view import (
    Dialect,
    Evaluation,
    Message,
    ToolCallPart,
    ToolDefinition,
)

MESSAGE_EVENTS: Final[dict[str, str]] = {
    "gen_ai.system.message": "system",
    "gen_ai.user.message": "user",
    "gen_ai.assistant.message": "assistant",
    "gen_ai.tool.message": "tool",
    "gen_ai.choice": "assistant",
}
CHOICE: Final = "gen_ai.choice"
EVALUATION: Final = "gen_ai.evaluation.result"


def log_event_name(log: LogRecord) -> str:
    """A log record's event name: its own field, or (older SDKs) its ``event.name`` attribute."""
    if log.event_name:
        return log.event_name
    attributes = log.attributes if isinstance(log.attributes, dict) else {}
    return as_str(attributes.get("event.name"))


def logs_for_span(
    span: SpanRecord, logs: Iterable[LogRecord], is_model_call: bool
) -> list[LogRecord]:
    """The message log records that belong to ``span``, in time order.

    The rule: a message record belongs to the span it is tied to; but a ``gen_ai.choice`` (an
    answer) belongs to a model call. A span that is not a model call leaves its choice records to
    its model-call child; a model-call span with no choice of its own takes the choice records
    tied to its PARENT whose time falls within its own start..end (OpenLLMetry's streamed calls
    tie the choice to the parent span).
    """
    own: list[LogRecord] = []
    from_parent: list[LogRecord] = []
    parent = span.parent_span_id
    end = span.end_ns if span.end_ns is not None else 2**63
    for log in logs:
        if not isinstance(log, LogRecord) or (log.trace_id and log.trace_id != span.trace_id):
            continue
        if not isinstance(log.time_ns, int):
            continue
        if log.span_id == span.span_id:
            name = log_event_name(log)
            if (name in MESSAGE_EVENTS and (is_model_call or name != CHOICE)) or name == EVALUATION:
                own.append(log)
        elif (
            is_model_call
            and parent
            and log.span_id == parent
            and log_event_name(log) == CHOICE
            and span.start_ns <= log.time_ns <= end
        ):
            from_parent.append(log)
    if from_parent and not any(log_event_name(log) == CHOICE for log in own):
        own.extend(from_parent)
    own.sort(key=lambda log: log.time_ns)
    return own


def _fields(body: Any, attributes: dict[str, Any]) -> dict[str, Any] | None:
    """An event's fields: its body (dict or JSON), or ``gen_ai.event.content``, or attributes."""
    if isinstance(body, str) and body.lstrip().startswith("{"):
        body = loads(body)
    if isinstance(body, dict):
        return body
    content = attributes.get("gen_ai.event.content")
    if isinstance(content, str):
        parsed = loads(content)
        return parsed if isinstance(parsed, dict) else None
    if isinstance(content, dict):
        return content
    return attributes if attributes else None


def event_message(name: str, fields: dict[str, Any]) -> tuple[bool, Message]:
    """(is output, message) for one message event's fields."""
    role = MESSAGE_EVENTS[name]
    if name != CHOICE:
        fields = dict(fields)
        if isinstance(fields.get("tool_calls"), str):
            fields["tool_calls"] = maybe_json(fields["tool_calls"])
        if role == "tool" and "role" not in fields:
            fields["role"] = "tool"
        return False, openai_message(fields, role)
    message = maybe_json(fields.get("message"))  # a flat span event carries it as JSON text
    merged = dict(message) if isinstance(message, dict) else {}
    if "tool_calls" not in merged and "tool_calls" in fields:
        merged["tool_calls"] = fields["tool_calls"]
    if isinstance(merged.get("tool_calls"), str):
        merged["tool_calls"] = maybe_json(merged["tool_calls"])
    if isinstance(message, str):
        merged["content"] = message
    return True, openai_message(merged, "assistant", as_str(fields.get("finish_reason")))


def _messages_from_events(
    items: Iterable[tuple[str, dict[str, Any]]],
) -> tuple[list[Message], list[Message]]:
    inputs: list[Message] = []
    outputs: list[Message] = []
    for name, fields in items:
        if len(inputs) + len(outputs) >= MAX_MESSAGES:
            break
        is_output, message = event_message(name, fields)
        (outputs if is_output else inputs).append(message)
    return inputs, outputs


def read_evaluation(fields: dict[str, Any]) -> Evaluation | None:
    name = as_str(fields.get("gen_ai.evaluation.name"))
    if not name:
        return None
    return Evaluation(
        name,
        score=as_float(fields.get("gen_ai.evaluation.score.value")),
        label=as_str(fields.get("gen_ai.evaluation.score.label")),
        explanation=as_str(fields.get("gen_ai.evaluation.explanation")),
        passed=passed if isinstance(passed := fields.get(sc.LUMOS_EVALUATION_PASSED), bool)
        else None,
        source=as_str(fields.get(sc.LUMOS_EVALUATION_SOURCE)),
    )


def read_events(d: Draft, span: SpanRecord, logs: list[LogRecord]) -> None:
    """Messages from span events, tied log records and pydantic-ai format 1's ``events``;
    evaluation results from events and records named ``gen_ai.evaluation.result``."""
    items: list[tuple[str, dict[str, Any]]] = []
    events = span.events if isinstance(span.events, tuple | list) else ()
    for event in events:
        if not isinstance(event, SpanEvent):
            continue
        if event.name == EVALUATION and isinstance(event.attributes, dict):
            evaluation = read_evaluation(event.attributes)
            if evaluation is not None and len(d.evaluations) < MAX_MESSAGES:
                d.evaluations.append(evaluation)
        elif event.name in MESSAGE_EVENTS:
            attributes = event.attributes if isinstance(event.attributes, dict) else {}
            fields = _fields(None, attributes)
            if fields is not None:
                items.append((event.name, fields))
        elif event.name in ("gen_ai.content.prompt", "gen_ai.content.completion"):
            _content_event(d, event)
    for log in logs:
        attributes = log.attributes if isinstance(log.attributes, dict) else {}
        name = log_event_name(log)
        if name == EVALUATION:
            evaluation = read_evaluation(attributes)
            if evaluation is not None and len(d.evaluations) < MAX_MESSAGES:
                d.evaluations.append(evaluation)
            continue
        fields = _fields(log.body, attributes)
        if fields is not None:
            items.append((name, fields))
    if "events" in d.attrs:
        parsed = d.json("events")
        if isinstance(parsed, list):
            d.read.add("events")
            for item in parsed[:MAX_MESSAGES]:
                if isinstance(item, dict) and as_str(item.get("event.name")) in MESSAGE_EVENTS:
                    items.append((item["event.name"], item))
    if not items:
        return
    inputs, outputs = _messages_from_events(items)
    if inputs and not d.input_messages:
        d.input_messages = tuple(inputs)
    if outputs and not d.output_messages:
        d.output_messages = tuple(outputs)
    d.add_dialect(Dialect.GENAI_EVENTS)


def _prompt_value(value: Any, role: str) -> tuple[Message, ...] | None:
    """``gen_ai.prompt`` / ``gen_ai.completion``: a JSON message list, one message, or text."""
    parsed = maybe_json(value)
    if isinstance(parsed, dict):
        parsed = [parsed]
    if isinstance(parsed, list):
        return openai_messages(parsed)
    if isinstance(parsed, str):
        return (text_message(role, parsed),)
    return None


def _content_event(d: Draft, event: SpanEvent) -> None:
    attributes = event.attributes if isinstance(event.attributes, dict) else {}
    if event.name == "gen_ai.content.prompt" and not d.input_messages:
        messages = _prompt_value(attributes.get("gen_ai.prompt"), "user")
        if messages:
            d.input_messages = messages
            d.add_dialect(Dialect.GENAI_EVENTS)
    elif event.name == "gen_ai.content.completion" and not d.output_messages:
        messages = _prompt_value(attributes.get("gen_ai.completion"), "assistant")
        if messages:
            d.output_messages = messages
            d.add_dialect(Dialect.GENAI_EVENTS)


def _flattened_message(d: Draft, fields: dict[str, str], default_role: str) -> Message:
    a = d.attrs
    item: dict[str, Any] = {}
    calls: dict[int, dict[str, Any]] = {}
    for rest, key in fields.items():
        if rest.startswith("tool_calls."):
            number, _, field = rest[len("tool_calls."):].partition(".")
            if number.isdigit() and len(number) <= 4:
                calls.setdefault(int(number), {})[field] = a[key]
                d.read.add(key)
        elif rest in ("role", "content", "tool_call_id", "finish_reason", "name"):
            item[rest] = a[key]
            d.read.add(key)
    content = item.get("content")
    if isinstance(content, str) and content.lstrip().startswith("[{"):
        item["content"] = maybe_json(content)  # multimodal content written as JSON
    message = openai_message(item, default_role)
    tool_parts = tuple(
        ToolCallPart(as_str(c.get("id")), as_str(c.get("name")), maybe_json(c.get("arguments")))
        for _, c in sorted(calls.items())
    )
    if tool_parts:
        message = Message(
            message.role, message.parts + tool_parts, message.finish_reason, message.name
        )
    return message


_FLATTENED_HEADS: Final = ("gen_ai.prompt", "gen_ai.completion")


def read_flattened(d: Draft, gen_ai_keys: list[str], llm_keys: list[str]) -> None:
    """Flattened ``gen_ai.prompt.N.*`` / ``gen_ai.completion.N.*``, their JSON forms, functions."""
    found = False
    # One scan picks the few keys of these forms; most spans have none, and stop here.
    flat = [key for key in gen_ai_keys if key.startswith(_FLATTENED_HEADS)]
    if not flat and not llm_keys:
        return
    for prefix, role in (("gen_ai.prompt.", "user"), ("gen_ai.completion.", "assistant")):
        groups = indexed(flat, prefix)
        if not groups:
            continue
        messages = tuple(_flattened_message(d, fields, role) for fields in groups.values())
        if role == "user" and not d.input_messages:
            d.input_messages = messages
        elif role == "assistant" and not d.output_messages:
            d.output_messages = messages
            reasons = tuple(m.finish_reason for m in messages if m.finish_reason)
            d.finish_reasons = d.finish_reasons or reasons
        found = True
    for key, role in (("gen_ai.prompt", "user"), ("gen_ai.completion", "assistant")):
        if key in d.attrs:
            prompt = _prompt_value(d.attrs[key], role)
            if prompt is not None:
                d.read.add(key)
                found = True
                if role == "user" and not d.input_messages:
                    d.input_messages = prompt
                elif role == "assistant" and not d.output_messages:
                    d.output_messages = prompt
    functions = indexed(llm_keys, "llm.request.functions.")
    if functions:
        tools: list[ToolDefinition] = []
        for fields in functions.values():
            item = {rest: d.attrs[key] for rest, key in fields.items()}
            parsed = tool_definitions([item])
            if parsed:
                tools.extend(parsed)
                d.read.update(fields.values())
        if tools and not d.tool_definitions:
            d.tool_definitions = tuple(tools)
        found = found or bool(tools)
    if found:
        d.add_dialect(Dialect.GENAI_EVENTS)


def read_operation_details(d: Draft, span: SpanRecord, logs: Iterable[LogRecord]) -> None:
    """``gen_ai.client.inference.operation.details`` records carry the content attributes."""
    for log in logs:
        if (
            isinstance(log, LogRecord)
            and log.span_id == span.span_id
            and log_event_name(log) == "gen_ai.client.inference.operation.details"
            and isinstance(log.attributes, dict)
        ):
            inner = Draft(log.attributes)
            read_genai_content(inner)
            d.input_messages = d.input_messages or inner.input_messages
            d.output_messages = d.output_messages or inner.output_messages
            d.system_instructions = d.system_instructions or inner.system_instructions
            d.tool_definitions = d.tool_definitions or inner.tool_definitions

