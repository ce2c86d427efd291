"""What one span did: its facts, the conversation it carried, tool calls, errors, attributes."""

from __future__ import annotations

import json
import math
from typing import Any, ClassVar

import orjson
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from lumos_core.telemetry import semconv as sc
from lumos_studio.display import BODY_LIMIT, NAME_LIMIT, VALUE_LIMIT, safe_json, safe_text
from lumos_studio.present import (
    format_duration,
    parse_json_attribute,
    status_text,
    token_count,
)
from lumos_studio.pricing import estimate_cost, format_cost
from lumos_studio.records import SpanRecord

# Shown in their own sections, so left out of the attribute table.
_SECTIONED = {
    sc.SYSTEM_INSTRUCTIONS,
    sc.INPUT_MESSAGES,
    sc.OUTPUT_MESSAGES,
    sc.TOOL_CALL_ARGUMENTS,
    sc.TOOL_CALL_RESULT,
    sc.TOOL_DEFINITIONS,
}
_ROLE_STYLES = {
    "user": "bold green",
    "assistant": "bold cyan",
    "tool": "bold yellow",
    "system": "bold magenta",
}


FOLD_AT = 400  # characters of an attribute shown before folding it


class SpanDetail(VerticalScroll):
    """Renders a ``SpanRecord`` for reading, not as raw JSON (``r`` toggles the raw view)."""

    BORDER_TITLE = "Span"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("r", "toggle_raw", "Raw / readable")]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.span: SpanRecord | None = None
        self.raw = False

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static(Text("Select a span in the trace tree.", style="dim"), id="span-body")

    def show(self, span: SpanRecord) -> None:
        self.span = span
        self.border_subtitle = "raw" if self.raw else ""
        body = render_raw(span) if self.raw else render_span(span)
        self.query_one("#span-body", Static).update(body)

    def action_toggle_raw(self) -> None:
        self.raw = not self.raw
        if self.span is not None:
            self.show(self.span)


def render_span(span: SpanRecord) -> RenderableType:
    """The whole detail view of a span as one rich renderable."""
    attributes = span.attributes
    parts: list[RenderableType] = [_facts(span)]
    if sc.SYSTEM_INSTRUCTIONS in attributes:
        instructions = parse_json_attribute(attributes[sc.SYSTEM_INSTRUCTIONS])
        system = [{"role": "system", "parts": instructions}]
        parts.append(_section("System instructions", _messages_text(system)))
    if sc.TOOL_CALL_ARGUMENTS in attributes:
        parts.append(_section("Arguments", _json(attributes[sc.TOOL_CALL_ARGUMENTS])))
    if sc.TOOL_CALL_RESULT in attributes:
        parts.append(_section("Result", _json(attributes[sc.TOOL_CALL_RESULT])))
    conversation = (("Input messages", sc.INPUT_MESSAGES), ("Output messages", sc.OUTPUT_MESSAGES))
    for title, key in conversation:
        if key in attributes:
            messages = _messages_text(parse_json_attribute(attributes[key]))
            parts.append(_section(title, messages))
    for event in span.events:
        if event.name == "exception":
            trace = event.attributes.get("exception.stacktrace") or event.attributes.get(
                "exception.message", ""
            )
            kind = event.attributes.get("exception.type", "")
            title = Text.assemble("Exception: ", safe_text(kind))
            parts.append(
                Panel(
                    safe_text(trace, limit=BODY_LIMIT, style="red", multiline=True),
                    title=title,
                    title_align="left",
                    border_style="red",
                )
            )
    parts.append(_section("Attributes", _attribute_table(span)))
    return Group(*parts)


def _facts(span: SpanRecord) -> RenderableType:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="dim")
    grid.add_column()
    status = status_text("RUNNING" if span.running else span.status_code)
    if span.status_message:
        status.append("  ")
        status.append(safe_text(span.status_message, limit=VALUE_LIMIT, style="red"))
    rows: list[tuple[str, RenderableType]] = [
        ("span", safe_text(span.name, style="bold")),
        ("status", status),
        ("duration", format_duration(span.duration_ns)),
        ("kind", safe_text(span.kind)),
    ]
    attributes = span.attributes
    for label, key in (
        ("agent", sc.AGENT_NAME),
        ("model", sc.REQUEST_MODEL),
        ("provider", sc.PROVIDER_NAME),
        ("tool", sc.TOOL_NAME),
    ):
        if key in attributes:
            rows.append((label, safe_text(attributes[key])))
    if attributes.get(sc.REQUEST_STREAM) or sc.RESPONSE_TIME_TO_FIRST_CHUNK in attributes:
        rows.append(("streamed", _first_chunk(attributes.get(sc.RESPONSE_TIME_TO_FIRST_CHUNK))))
    if sc.USAGE_INPUT_TOKENS in attributes or sc.USAGE_OUTPUT_TOKENS in attributes:
        tokens_in = token_count(attributes.get(sc.USAGE_INPUT_TOKENS))
        tokens_out = token_count(attributes.get(sc.USAGE_OUTPUT_TOKENS))
        rows.append(("tokens", f"{tokens_in} in · {tokens_out} out"))
        model = attributes.get(sc.RESPONSE_MODEL) or attributes.get(sc.REQUEST_MODEL)
        cost = estimate_cost(str(model) if model else None, tokens_in, tokens_out)
        if cost is not None:
            rows.append(("cost", f"≈ {format_cost(cost)}"))
    rows.append(("ids", safe_text(f"{span.trace_id} / {span.span_id}", style="dim")))
    for label, value in rows:
        grid.add_row(label, value)
    return grid


def _first_chunk(seconds: Any) -> str:
    """How long the model took to send its first piece (the wait a user feels)."""
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        return "yes"
    ns = seconds * 1e9
    return f"yes · first chunk after {format_duration(int(ns))}" if math.isfinite(ns) else "yes"


def _section(title: str, body: RenderableType) -> RenderableType:
    return Group(Text(""), Text(title, style="bold underline"), body)



def _json(value: Any) -> RenderableType:
    parsed = parse_json_attribute(value)
    if isinstance(parsed, dict | list):
        return safe_json(parsed)
    return _body(parsed)


def _body(value: Any) -> Text:
    """Text the span carried (a message, a result), as written."""
    return safe_text(value, limit=BODY_LIMIT, multiline=True)


def _messages_text(messages: Any) -> RenderableType:
    if not isinstance(messages, list):
        return _body(messages)
    rendered: list[RenderableType] = []
    for message in messages:
        if not isinstance(message, dict):
            rendered.append(_body(message))
            continue
        role = str(message.get("role", "?"))
        for part in message.get("parts") or []:
            rendered.append(_part_text(role, part))
    return Group(*rendered)


def _part_text(role: str, part: Any) -> RenderableType:
    line = Text.assemble(safe_text(role, style=_ROLE_STYLES.get(role, "bold")), " › ")
    kind = part.get("type") if isinstance(part, dict) else None
    if kind == "text":
        line.append(_body(part.get("content", "")))
    elif kind == "tool_call":
        line.append(Text.assemble("call ", safe_text(part.get("name")), style="yellow"))
        line.append(Text.assemble(" ", _compact_json(part.get("arguments", {})), style="dim"))
    elif kind == "tool_call_response":
        line.append(_body(part.get("response", "")))
    else:
        line.append(_compact_json(part) if isinstance(part, dict) else _body(part))
    return line


def _compact_json(value: Any) -> Text:
    """A small JSON value on one line, as the span carried it."""
    return safe_text(_dumps(value), limit=BODY_LIMIT, multiline=True)


def _dumps(value: Any) -> str:
    """JSON text; stdlib ``json`` where orjson refuses (lone surrogates, huge integers)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, ensure_ascii=False, default=str)


def _attribute_table(span: SpanRecord) -> RenderableType:
    table = Table.grid(padding=(0, 1))
    # Long keys (lumos.workflow.suspended_steps) wrap rather than leave the values no room.
    table.add_column(style="cyan", overflow="fold", max_width=30)
    table.add_column(overflow="fold")
    shown = {**span.resource, **span.attributes}
    for key in sorted(shown):
        if key in _SECTIONED:
            continue
        value = shown[key]
        text = value if isinstance(value, str) else _dumps(value)
        folded = len(text) > FOLD_AT
        shown_value = safe_text(f"{text[:FOLD_AT]}…" if folded else text, limit=None,
                                multiline=True)
        if folded:
            shown_value.append(f" ({len(text):,} chars; r shows it all)")
        table.add_row(safe_text(key, limit=NAME_LIMIT), shown_value)
    return table


def render_raw(span: SpanRecord) -> RenderableType:
    """Everything the span holds, as JSON: attributes, events, resource, ids, times."""
    return safe_json({
        "name": span.name,
        "trace_id": span.trace_id,
        "span_id": span.span_id,
        "parent_span_id": span.parent_span_id,
        "kind": span.kind,
        "start_ns": span.start_ns,
        "end_ns": span.end_ns,
        "status": {"code": span.status_code, "message": span.status_message},
        "attributes": span.attributes,
        "events": [{"name": e.name, "time_ns": e.time_ns, "attributes": e.attributes}
                   for e in span.events],
        "resource": span.resource,
        "scope": {"name": span.scope_name, "version": span.scope_version},
    })
