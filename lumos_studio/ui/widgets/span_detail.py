"""What one span did, in whichever dialect it was written: its facts, the conversation it carried,
tool calls, errors, what the studio did not understand, and the attributes themselves.

Everything but the raw attribute table comes from the span's ``SpanView`` (``semantics``); every
piece of outside text goes through ``display``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, ClassVar

import orjson
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderableType
from rich.measure import Measurement
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static

from lumos_studio.display import (
    BODY_LIMIT,
    NAME_LIMIT,
    RAW_STRING_LIMIT,
    VALUE_LIMIT,
    clipboard_json,
    clipboard_str,
    fit_cells,
    safe_json,
    safe_str,
    safe_text,
)
from lumos_studio.present import KIND_STYLES, format_duration, more_line, status_text
from lumos_studio.pricing import format_cost, view_cost
from lumos_studio.records import LogRecord, SpanRecord
from lumos_studio.semantics import (
    ErrorInfo,
    MediaPart,
    Message,
    OperationKind,
    OtherPart,
    Part,
    ReasoningPart,
    SpanView,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    read_span,
    transcript_text,
    value_text,
)
from lumos_studio.semantics.keys import first_chunk_seconds, is_content_key, is_usage_key
from lumos_studio.semantics.workflow import step_span, workflow_status
from lumos_studio.ui.clipboard import copy_to_clipboard, nothing_to_copy
from lumos_studio.ui.widgets.folding_pane import FoldingPane

_ROLE_STYLES = {
    "user": "bold green",
    "assistant": "bold cyan",
    "tool": "bold yellow",
    "system": "bold magenta",
}
FOLD_AT = 400  # characters of an attribute shown before folding it
MAX_EVENTS = 50  # lines of span events shown; the raw view has them all
ONE_LINE_JSON = 80  # tool-call arguments up to this long stay on the call's line
# A model call's input messages shown, the newest; the earlier ones on ``m``. Each call of a long
# conversation sends its whole history: 500 messages (1 MB) took ~250 ms of the UI thread to lay
# out at every span the cursor reached.
MESSAGES_SHOWN = 12
# Attributes listed, in key order; past them the raw view (``r``). An OpenTelemetry SDK sends at
# most 128 a span; 2,000 took ~260 ms of the UI thread to lay out.
ATTRIBUTES_SHOWN = 200
DOCUMENTS_SHOWN = 20  # of a retrieval's, in the order found (each up to ``BODY_LIMIT``)
_RAW_SHOWS_ALL = " (r shows them all)"
_NOTHING_CHOSEN = "Select a span in the trace tree."


class SpanDetail(FoldingPane):
    """Renders a ``SpanRecord`` for reading, not as raw JSON (``r`` toggles the raw view)."""

    BORDER_TITLE = "Span"
    ALLOW_MAXIMIZE = True  # F6 fills the screen with the whole pane, not a part of it
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "toggle_raw", "Raw / readable"),
        Binding("m", "toggle_messages", "All messages"),
        Binding("y", "copy", "Copy"),
    ]
    FOLD_ACTION = "toggle_messages"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.span: SpanRecord | None = None
        self.logs: Sequence[LogRecord] = ()
        self.raw = False
        self.all_messages = False  # every input message of this span, not the newest alone

    def compose(self) -> ComposeResult:
        yield Static(Text(_NOTHING_CHOSEN, style="dim"), id="span-body")

    def clear(self) -> None:
        """Back to "select a span": the tree shows a trace none of whose spans is chosen yet
        (another span's detail beside it would be read as this trace's)."""
        self.span = None
        self.border_subtitle = ""
        self.query_one("#span-body", Static).update(Text(_NOTHING_CHOSEN, style="dim"))
        self.set_folds(False)

    def show(self, span: SpanRecord, logs: Sequence[LogRecord] | None = None) -> None:
        """Show ``span``; ``logs`` are its trace's log records (earlier GenAI forms carry the
        messages there), kept for the next spans shown until new ones are given."""
        if logs is not None:
            self.logs = logs
        if self.span is None or span.span_id != self.span.span_id:
            self.all_messages = False  # another span: its history folded again
        self.span = span
        self.border_subtitle = "raw" if self.raw else ""
        folds = False
        if self.raw:
            body = render_raw(span)
        else:
            view = read_span(span, tuple(self.logs))
            folds = len(view.input_messages) > MESSAGES_SHOWN
            body = render_span(span, view, all_messages=self.all_messages)
        self.query_one("#span-body", Static).update(body)
        self.set_folds(folds)  # ``m``: a span with more input messages than shown

    def action_toggle_raw(self) -> None:
        self.raw = not self.raw
        if self.span is not None:
            self.show(self.span)

    def action_toggle_messages(self) -> None:
        self.all_messages = not self.all_messages
        if self.span is not None:
            self.show(self.span)

    def action_copy(self) -> None:
        """The raw view: the span as JSON, every string whole. The readable one: what the span
        carried (every message, a tool's arguments and result...) as text to paste; a span that
        carried none of it, as JSON."""
        if self.span is None:
            nothing_to_copy(self.app, "select a span in the trace tree first")
            return
        content = "" if self.raw else transcript_text(read_span(self.span, tuple(self.logs)))
        if content:
            copy_to_clipboard(self.app, clipboard_str(content), "the span's content as text")
        else:
            copy_to_clipboard(self.app, clipboard_json(raw_fields(self.span)), "the span as JSON")


def render_span(
    span: SpanRecord, view: SpanView | None = None, logs: Iterable[LogRecord] = (),
    all_messages: bool = False,
) -> RenderableType:
    """The whole detail view of a span as one rich renderable (``view`` read here if not given);
    of its input messages the newest ``MESSAGES_SHOWN``, unless ``all_messages``."""
    if view is None:
        view = read_span(span, tuple(logs))
    parts: list[RenderableType] = [_facts(span, view)]
    error = view.error
    if error is not None and (error.type or error.message or error.stacktrace):
        parts.append(_error(error))  # (a bare status message is on the status line already)
    if view.system_instructions:
        parts.append(_section("System instructions", _parts("system", view.system_instructions)))
    if view.tool_call is not None:
        call = view.tool_call
        if call.arguments is not None:
            parts.append(_section("Arguments", _value(call.arguments)))
        if call.result is not None:
            parts.append(_section("Result", _value(call.result)))
    if view.query:
        parts.append(_section("Query", _body(view.query)))
    if view.documents:
        parts.append(_section("Documents", _documents(view)))
    if view.input_messages:
        parts.append(_section("Input messages", _input_messages(view.input_messages,
                                                                 all_messages)))
    if view.output_messages:
        parts.append(_section("Output messages", _messages(view.output_messages)))
    if view.tool_definitions:
        parts.append(_section("Tools offered", _tool_definitions(view)))
    if view.evaluations:
        parts.append(_section("Evaluations", _evaluations(view)))
    events = [e for e in span.events if e.name != "exception"]
    if events:
        parts.append(_section("Events", _events(span, events)))
    if view.unread_keys:
        parts.append(_section("Not understood", _unread(view)))
    parts.append(_section("Attributes", _attribute_table(span)))
    return Group(*parts)


# --- facts ---


def _facts(span: SpanRecord, view: SpanView) -> RenderableType:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="dim")
    grid.add_column()
    if span.running:
        status = status_text("RUNNING")
    elif _suspended(span):  # as the trace list says the run is (OTel has no word for it)
        status = status_text("SUSPENDED")
        status.append(f" (OTel: {span.status_code})", style="dim")
    else:
        status = status_text(span.status_code)
        if span.status_code == "UNSET":  # what the raw view (r) says
            status.append(" (UNSET)", style="dim")
    if span.status_message:
        status.append("  ")
        status.append(safe_text(span.status_message, limit=VALUE_LIMIT, style="red"))
    rows: list[tuple[str, RenderableType]] = [
        ("span", safe_text(span.name, style="bold")),
        ("status", status),
        ("duration", format_duration(span.duration_ns)),
        ("kind", safe_text(span.kind)),
        ("read as", _read_as(view)),
    ]
    if view.kind is not OperationKind.UNKNOWN:
        operation = Text(view.kind.value, style=KIND_STYLES.get(view.kind, ""))
        if view.operation_name and view.operation_name != view.kind.value:
            operation.append("  ")
            operation.append(safe_text(view.operation_name, style="dim"))
        rows.append(("operation", operation))
    if view.agent_name:
        rows.append(("agent", safe_text(view.agent_name)))
    if view.request_model:
        rows.append(("model", safe_text(view.request_model)))
    if view.response_model and view.response_model != view.request_model:
        rows.append(("answered by", safe_text(view.response_model)))
    if view.provider:
        rows.append(("provider", safe_text(view.provider)))
    settings = view.request_settings.as_dict()
    if settings:  # how the model was asked to answer: what the playground (P) sends again
        rows.append(("settings", safe_text(" · ".join(
            f"{name} {value_text(value)}" for name, value in settings.items()),
            limit=VALUE_LIMIT)))
    if view.tool_call is not None and view.tool_call.name:
        tool = safe_text(view.tool_call.name)
        if view.tool_call.id:
            tool.append(Text.assemble("  ", safe_text(view.tool_call.id, style="dim")))
        rows.append(("tool", tool))
    if view.conversation_id:
        rows.append(("conversation", safe_text(view.conversation_id)))
    first_chunk = first_chunk_seconds(span.attributes)
    if view.streaming or first_chunk is not None:
        rows.append(("streamed", _first_chunk(first_chunk)))
    unreadable = [key for key in view.unread_keys if is_usage_key(key)]
    if view.usage.known or unreadable:
        tokens = Text(_tokens(view))
        if unreadable:  # sent, but no count: say so rather than hide the row
            tokens.append("  (counts not readable: see Not understood)", style="dim")
        rows.append(("tokens", tokens))
    cost = view_cost(view)
    if cost is not None:
        rows.append(("cost", format_cost(cost.usd) if cost.recorded
                     else f"≈ {format_cost(cost.usd)}"))
    if view.finish_reasons:
        rows.append(("finished", safe_text(", ".join(view.finish_reasons), limit=VALUE_LIMIT)))
    rows.append(("ids", safe_text(f"{span.trace_id} / {span.span_id}", style="dim")))
    for label, value in rows:
        grid.add_row(label, value)
    return grid


def _suspended(span: SpanRecord) -> bool:
    """The span's workflow, or its step, stopped to wait for a person (``semantics.workflow``):
    the run is SUSPENDED in the trace list."""
    if workflow_status(span) == "suspended":
        return True
    step = step_span(span)
    return step is not None and step.status == "suspended"


def _read_as(view: SpanView) -> Text:
    """Which conventions the span was understood in (none: only its raw attributes are shown)."""
    if not view.dialects:
        return Text("no known convention", style="dim")
    return Text(", ".join(d.value for d in view.dialects))


def _tokens(view: SpanView) -> str:
    usage = view.usage
    shown = f"{usage.input_tokens or 0} in · {usage.output_tokens or 0} out"
    extra = [
        (usage.cache_read_tokens, "cache read"),
        (usage.cache_creation_tokens, "cache written"),
        (usage.reasoning_tokens, "reasoning"),
    ]
    shown += "".join(f" · {count} {label}" for count, label in extra if count)
    if usage.total_tokens is not None:
        shown += f" · {usage.total_tokens} total"
    return shown


def _first_chunk(seconds: float | None) -> str:
    """How long the model took to send its first piece (the wait a user feels)."""
    if seconds is None:
        return "yes"
    ns = seconds * 1e9
    return f"yes · first chunk after {format_duration(int(ns))}" if math.isfinite(ns) else "yes"


# --- sections ---


def _section(title: str, body: RenderableType) -> RenderableType:
    return Group(Text(""), Text(title, style="bold underline"), body)


def _error(error: ErrorInfo) -> RenderableType:
    trace = error.stacktrace or error.message or error.status_message
    title = Text.assemble("Exception: ", safe_text(error.type)) if error.type else Text("Error")
    return Panel(
        safe_text(trace, limit=BODY_LIMIT, style="red", multiline=True),
        title=title,
        title_align="left",
        border_style="red",
    )


def _body(value: Any) -> Text:
    """Text the span carried (a message, a result), as written."""
    return safe_text(value, limit=BODY_LIMIT, multiline=True)


def _value(value: Any) -> RenderableType:
    """A JSON value as pretty JSON; a string that holds JSON is shown as that JSON, once (never
    re-encoded); any other string as text."""
    if isinstance(value, str):
        parsed = _loads(value)
        if not isinstance(parsed, dict | list):
            return _body(value)
        value = parsed
    if isinstance(value, dict | list):
        return safe_json(value)
    return _body(_dumps(value))


def _input_messages(messages: Sequence[Message], all_messages: bool) -> RenderableType:
    """The newest ``MESSAGES_SHOWN`` of a call's input, under a line counting the earlier."""
    earlier = 0 if all_messages else len(messages) - MESSAGES_SHOWN
    if earlier <= 0:
        return _messages(messages)
    return Group(more_line(earlier, "earlier message", " · m (in this pane) shows them"),
                 _messages(messages[earlier:]))


def _messages(messages: Sequence[Message]) -> RenderableType:
    rendered: list[RenderableType] = []
    for message in messages:
        role = message.role or "?"
        if message.name:
            role = f"{role} ({message.name})"
        rendered.append(_parts(role, message.parts, message.role))
    return Group(*rendered)


def _parts(role: str, parts: Sequence[Part], style_role: str | None = None) -> RenderableType:
    style = _ROLE_STYLES.get(style_role or role, "bold")
    lines: list[RenderableType] = []
    for part in parts:
        line = Text.assemble(safe_text(role, style=style), " › ")
        below = _part(line, part)
        lines.append(line)
        if below is not None:
            lines.append(below)
    return Group(*lines)


def _part(line: Text, part: Part) -> RenderableType | None:
    """Append one part to its message line; what does not fit on a line comes back to go below."""
    match part:
        case TextPart(text=text):
            line.append(_body(text))
        case ReasoningPart(text=text):
            line.append("thinking ", style="italic dim")
            line.append(safe_text(text, limit=BODY_LIMIT, multiline=True, style="italic"))
        case ToolCallPart(name=name, arguments=arguments, id=call_id):
            line.append(Text.assemble("call ", safe_text(name), style="yellow"))
            below = _arguments(line, arguments)
            _call_id(line, call_id)
            return below
        case ToolResultPart(name=name, result=result, id=call_id):
            line.append(Text.assemble("result", *((" of ", safe_text(name)) if name else ()),
                                      style="yellow"))
            below = None
            if isinstance(result, dict | list):
                below = _arguments(line, result)
            else:
                line.append(" ")
                line.append(_body(result))
            _call_id(line, call_id)
            return below
        case MediaPart(mime_type=mime, uri=uri, blob=blob, file_id=file_id, modality=modality):
            what = modality or mime.partition("/")[0] or "media"
            line.append(safe_text(f"[{what}] ", style="magenta"))
            if uri:
                line.append(safe_text(uri, limit=VALUE_LIMIT))
            elif file_id:
                line.append(Text.assemble("file ", safe_text(file_id, limit=VALUE_LIMIT)))
            elif blob:
                line.append(f"inline data, {len(blob):,} characters", style="dim")
            if mime:
                line.append(Text.assemble("  ", safe_text(mime), style="dim"))
        case OtherPart(type=kind, value=value):
            line.append(Text.assemble(safe_text(kind or "part"), " ", style="dim"))
            line.append(safe_text(_dumps(value), limit=BODY_LIMIT, multiline=True))
    return None


def _call_id(line: Text, call_id: str) -> None:
    if call_id:
        line.append(Text.assemble("  ", safe_text(call_id, limit=NAME_LIMIT), style="dim"))


def _arguments(line: Text, arguments: Any) -> RenderableType | None:
    """A tool call's arguments: parsed JSON on the line when short, pretty below when long; a
    string that holds JSON counts as that JSON (shown once, never re-encoded)."""
    if isinstance(arguments, str):
        parsed = _loads(arguments)
        if isinstance(parsed, dict | list):
            arguments = parsed
        else:
            line.append(Text.assemble(" ", _body(arguments), style="dim"))
            return None
    compact = _dumps(arguments)
    if len(compact) <= ONE_LINE_JSON:
        line.append(Text.assemble(" ", safe_text(compact, limit=BODY_LIMIT), style="dim"))
        return None
    below = safe_json(arguments)
    below.pad_left(4)
    return below


def _tool_definitions(view: SpanView) -> RenderableType:
    lines: list[RenderableType] = []
    for tool in view.tool_definitions:
        line = Text.assemble(safe_text(tool.name, style="yellow"))
        if tool.description:
            line.append("  ")
            line.append(safe_text(tool.description, limit=VALUE_LIMIT, style="dim"))
        lines.append(line)
        if isinstance(tool.parameters, dict) and isinstance(tool.parameters.get("properties"),
                                                            dict):
            names = ", ".join(str(k) for k in tool.parameters["properties"])
            lines.append(Text.assemble("    (", safe_text(names, limit=VALUE_LIMIT), ")",
                                       style="dim"))
    return Group(*lines)


def _documents(view: SpanView) -> RenderableType:
    """The first ``DOCUMENTS_SHOWN`` documents a retrieval found, the rest counted."""
    lines: list[RenderableType] = []
    for document in view.documents[:DOCUMENTS_SHOWN]:
        line = Text()
        if document.score is not None and math.isfinite(document.score):
            line.append(f"{document.score:.3f}  ", style="green")
        if document.id:
            line.append(Text.assemble(safe_text(document.id), "  ", style="dim"))
        line.append(_body(document.content))
        lines.append(line)
    more = len(view.documents) - DOCUMENTS_SHOWN
    if more > 0:
        lines.append(more_line(more, "more document", _RAW_SHOWS_ALL))
    return Group(*lines)


def _evaluations(view: SpanView) -> RenderableType:
    lines: list[RenderableType] = []
    for evaluation in view.evaluations:
        line = Text.assemble(safe_text(evaluation.name, style="bold"))
        if evaluation.score is not None and math.isfinite(evaluation.score):
            line.append(f"  {evaluation.score:g}")
        if evaluation.label:
            line.append(Text.assemble("  ", safe_text(evaluation.label, style="cyan")))
        if evaluation.explanation:
            line.append("  ")
            line.append(safe_text(evaluation.explanation, limit=VALUE_LIMIT, style="dim"))
        lines.append(line)
    return Group(*lines)


def _events(span: SpanRecord, events: Sequence[Any]) -> RenderableType:
    """Span events other than exceptions (those have their own panel), in time order; a run of
    same-named events without attributes (stream chunks) is one line with its count."""
    runs: list[tuple[Any, int]] = []
    for event in events:
        attributes = event.attributes if isinstance(event.attributes, dict) else {}
        if runs and not attributes and runs[-1][0].name == event.name and not (
                runs[-1][0].attributes):
            runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        else:
            runs.append((event, 1))
    lines: list[RenderableType] = []
    for event, count in runs[:MAX_EVENTS]:
        at = event.time_ns - span.start_ns if isinstance(event.time_ns, int) else None
        line = Text(f"+{format_duration(at)}  " if at is not None and at >= 0 else "", style="dim")
        line.append(safe_text(event.name, style="cyan"))
        if count > 1:
            line.append(f" ×{count}", style="dim")
        attributes = event.attributes if isinstance(event.attributes, dict) else {}
        if attributes:
            text = _dumps(attributes)
            folded = len(text) > FOLD_AT
            line.append("  ")
            line.append(safe_text(f"{text[:FOLD_AT]}…" if folded else text, limit=None,
                                  multiline=True, style="dim"))
        lines.append(line)
    if len(runs) > MAX_EVENTS:
        lines.append(Text(f"… {len(runs) - MAX_EVENTS:,} more (r shows them)", style="dim"))
    return Group(*lines)


def _unread(view: SpanView) -> RenderableType:
    """Convention keys no reader understood: the span says more than the studio can show."""
    note = Text(
        "These attributes look like a known convention but were not understood; "
        "they are in the table below and in the raw view (r).",
        style="dim",
    )
    keys = [safe_text(key, limit=NAME_LIMIT, style="yellow") for key in view.unread_keys]
    return Group(note, *keys)


def _loads(value: str) -> Any:
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        return None


def _dumps(value: Any) -> str:
    """JSON text; stdlib ``json`` where orjson refuses (lone surrogates, huge integers)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, ensure_ascii=False, default=str)


# --- raw attributes ---


def _attribute_table(span: SpanRecord) -> RenderableType:
    """The attributes and resource attributes, the first ``ATTRIBUTES_SHOWN`` by key, but the
    conversation content shown above."""
    shown = {**span.resource, **span.attributes}
    keys = sorted(shown)
    listed = [key for key in keys if key not in span.attributes or not is_content_key(key)]
    rows: list[tuple[AttributeKey, Text]] = []
    for key in listed[:ATTRIBUTES_SHOWN]:
        value = shown[key]
        text = value if isinstance(value, str) else _dumps(value)
        folded = len(text) > FOLD_AT
        shown_value = safe_text(f"{text[:FOLD_AT]}…" if folded else text, limit=None,
                                multiline=True)
        if folded:
            raw = ("r shows it all" if len(text) <= RAW_STRING_LIMIT else
                   f"r shows {RAW_STRING_LIMIT:,}; lumos-studio export writes it whole")
            shown_value.append(f" ({len(text):,} chars; {raw})")
        rows.append((AttributeKey(key), shown_value))
    notes: list[RenderableType] = []
    more = len(listed) - ATTRIBUTES_SHOWN
    if more > 0:
        notes.append(more_line(more, "more attribute", _RAW_SHOWS_ALL))
    hidden = len(keys) - len(listed)
    if hidden:
        notes.append(Text(f"{hidden} attribute{'s' * (hidden != 1)} of conversation "
                          "content shown above (r shows them raw)", style="dim"))
    table = _AttributeTable(rows)
    return Group(table, *notes) if notes else table


class _AttributeTable:
    """Keys beside their values, laid out for the width given: dotted keys fit whole
    (llm.token_count.prompt_details.cache_read); longer ones break after a dot
    (``AttributeKey``), the key column keeping ``KEY_CELLS`` or half the width, whichever is
    less (and no more than the keys need), so a narrow pane shows ``lumos.workflow.`` whole
    and still leaves the values room."""

    KEY_CELLS = 16

    def __init__(self, rows: list[tuple[AttributeKey, Text]]) -> None:
        self.rows = rows

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Table]:
        table = Table.grid(padding=(0, 1))
        widest = max((cell_len(key.key) for key, _ in self.rows), default=1)
        keep = min(self.KEY_CELLS, widest, max(1, (options.max_width - 1) // 2))
        table.add_column(style="cyan", min_width=keep, max_width=48)
        table.add_column(overflow="fold")
        for key, value in self.rows:
            table.add_row(key, value)
        yield table


class AttributeKey:
    """An attribute's key in the key column: whole when it fits, else broken after its dots
    (``lumos.workflow.`` over ``loop.iterations``), never inside a word; a word wider than the
    column is cut with …. The raw view (``r``) shows every key whole."""

    def __init__(self, key: object) -> None:
        self.key = safe_str(key, limit=NAME_LIMIT)
        self.words: list[str] = re.findall(r"[^.]*\.|[^.]+", self.key) or [""]  # each with its dot

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        longest = max(cell_len(word) for word in self.words)
        return Measurement(min(longest, _AttributeTable.KEY_CELLS), cell_len(self.key)).clamp(
            max_width=options.max_width)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Text]:
        width = max(1, options.max_width)
        lines = [""]
        for word in self.words:
            if lines[-1] and cell_len(lines[-1] + word) > width:
                lines.append("")
            lines[-1] += word
        yield Text("\n".join(fit_cells(line, width) for line in lines))


def render_raw(span: SpanRecord) -> RenderableType:
    """Everything the span holds, as JSON: attributes, events, resource, ids, times; a line
    wider than the pane folds onto the next rather than being cut (the trace id, a prompt)."""
    text = safe_json(raw_fields(span))
    text.no_wrap, text.overflow = False, "fold"
    return text


def raw_fields(span: SpanRecord) -> dict[str, Any]:
    """What the raw view (``r``) shows of the span, as one JSON-ready value."""
    return {
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
    }

