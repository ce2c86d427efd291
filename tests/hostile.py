"""Hostile strings, and records that carry them wherever outside text can go.

The shared corpus for every test of issue 13: what a careless or hostile sender can put in a span
name, an attribute key or value, an agent, tool or model name, or a log body. ``VISIBLE`` says
what each must look like on screen once ``lumos_studio.display`` has made it safe.
"""

from __future__ import annotations

import json
from typing import Any

from lumos_core.telemetry import semconv as sc
from lumos_studio.records import LogRecord, SpanEvent, SpanRecord
from tests.builders import MS, T0, make_span

ESC = "\x1b"
CSI_C1 = "\x9b"  # the one-byte CSI many terminals still obey

MARKUP_CLOSE = "[/] x"
MARKUP_STYLE = "[bold red]x"
MARKUP_LINK = "[link=https://example.com/evil]click[/link]"
TEXTUAL_VARIABLE = "$accent [$text]y"
CLEAR_SCREEN = f"a{ESC}[2J b"
COLOUR = f"{ESC}[31mred{ESC}[0m"
OSC52_CLIPBOARD = f"{ESC}]52;c;SGVsbG8=\x07"  # sets the terminal's clipboard to "Hello"
OSC8_LINK = f"{ESC}]8;;https://example.com/evil{ESC}\\text{ESC}]8;;{ESC}\\"
C0_CONTROLS = "bell\x07back\x08tab\tnl\ncr\rvt\x0bff\x0c"
C1_CONTROLS = f"c1{CSI_C1}2J\x85\x90end"
NUL = "nul\x00here"
DEL = "del\x7fhere"
BIDI_OVERRIDE = "abc\u202egnp.exe"  # reads "abcexe.png" where it is not neutralised
BIDI_ISOLATE = "x\u2066y\u2069z"
ZERO_WIDTH = "zero\u200bwidth\u200djoiner\ufeff"
LONE_SURROGATE = "bad\ud800utf"
INVALID_UTF8 = b"name \xff\xfe\xc3(".decode("utf-8", errors="replace")
SURROGATE_ESCAPED = b"raw \xff".decode("utf-8", errors="surrogateescape")
HUGE = "A" * 100_000

CORPUS: dict[str, str] = {
    "markup_close": MARKUP_CLOSE,
    "markup_style": MARKUP_STYLE,
    "markup_link": MARKUP_LINK,
    "textual_variable": TEXTUAL_VARIABLE,
    "clear_screen": CLEAR_SCREEN,
    "colour": COLOUR,
    "osc52": OSC52_CLIPBOARD,
    "osc8": OSC8_LINK,
    "c0": C0_CONTROLS,
    "c1": C1_CONTROLS,
    "nul": NUL,
    "del": DEL,
    "bidi_override": BIDI_OVERRIDE,
    "bidi_isolate": BIDI_ISOLATE,
    "zero_width": ZERO_WIDTH,
    "lone_surrogate": LONE_SURROGATE,
    "invalid_utf8": INVALID_UTF8,
    "surrogate_escaped": SURROGATE_ESCAPED,
    "huge": HUGE,
}

# What a store can hold: UTF-8 has no lone surrogates (ingest replaces them), the rest it keeps.
STORABLE: dict[str, str] = {
    key: text for key, text in CORPUS.items() if key not in ("lone_surrogate", "surrogate_escaped")
}

# What must be seen (literally) where each string is shown on one line.
VISIBLE: dict[str, str] = {
    "markup_close": "[/] x",
    "markup_style": "[bold red]x",
    "markup_link": "[link=https://example.com/evil]click[/link]",
    "textual_variable": "$accent [$text]y",
    "clear_screen": "a␛[2J b",
    "colour": "␛[31mred␛[0m",
    "osc52": "␛]52;c;SGVsbG8=␇",
    "osc8": "␛]8;;https://example.com/evil␛\\text",
    "c0": "bell␇back␈tab␉nl␊cr␍vt␋ff␌",
    "c1": "c1\\x9b2J\\x85\\x90end",
    "nul": "nul␀here",
    "del": "del␡here",
    "bidi_override": "abc\\u202egnp.exe",
    "bidi_isolate": "x\\u2066y\\u2069z",
    "zero_width": "zero\\u200bwidth\\u200djoiner\\ufeff",
    "lone_surrogate": "bad\ufffdutf",
    "invalid_utf8": "name \ufffd\ufffd\ufffd(",
    "surrogate_escaped": "raw \ufffd",
    "huge": "AAAAAAAAAA",
}

# Never to reach a terminal or a screen: they act on it, or hide what the text says.
FORBIDDEN = (
    "\x1b", "\x9b", "\x00", "\x07", "\x08", "\x7f", "\x85", "\x90", "\u202e", "\u2066", "\u200b",
    "\u200d", "\ufeff", "\ud800",
)

HOSTILE_TRACE = "00000000000000000000000000000bad"


def hostile_spans(
    trace_id: str = HOSTILE_TRACE, corpus: dict[str, str] = STORABLE
) -> list[SpanRecord]:
    """One agent run whose every outside string is hostile: names, keys, values, messages.

    The root is an agent span named by the first corpus entry; each entry then names a child
    span, a tool, a model, an attribute key and value, and a message of the conversation.
    """
    agent = MARKUP_CLOSE
    messages = [
        {"role": "user", "parts": [{"type": "text", "content": text}]} for text in corpus.values()
    ]
    reply = [{"role": "assistant", "parts": [
        {"type": "tool_call", "id": "c1", "name": CLEAR_SCREEN, "arguments": {OSC52_CLIPBOARD: 1}},
        {"type": "text", "content": COLOUR},
    ]}]
    root_attributes: dict[str, Any] = {
        sc.OPERATION_NAME: "invoke_agent",
        sc.AGENT_NAME: agent,
        sc.REQUEST_MODEL: MARKUP_STYLE,
        sc.CONVERSATION_ID: f"thread {CLEAR_SCREEN}",
        sc.INPUT_MESSAGES: _json(messages),
        sc.OUTPUT_MESSAGES: _json(reply),
        sc.SYSTEM_INSTRUCTIONS: _json([{"type": "text", "content": OSC8_LINK}]),
        **{f"{key} {value[:50]}": value for key, value in corpus.items()},
    }
    root_id = "b000000000000001"
    spans = [
        SpanRecord(
            trace_id=trace_id, span_id=root_id, parent_span_id=None, name=f"invoke_agent {agent}",
            start_ns=T0, end_ns=T0 + 500 * MS, status_code="ERROR",
            status_message=f"failed: {OSC52_CLIPBOARD}", attributes=root_attributes,
            events=(SpanEvent("exception", T0 + 400 * MS, {
                "exception.type": MARKUP_LINK, "exception.message": CLEAR_SCREEN,
                "exception.stacktrace": f"Traceback\n  {C1_CONTROLS}\n{MARKUP_CLOSE}"}),),
            resource={"service.name": MARKUP_STYLE, BIDI_OVERRIDE: ZERO_WIDTH},
            scope_name=CLEAR_SCREEN,
        )
    ]
    for index, (key, text) in enumerate(corpus.items(), start=2):
        tool = key in ("osc52", "c1", "bidi_override")
        chat = key in ("colour", "markup_style")
        attributes: dict[str, Any] = {text[:300]: text, "corpus.key": key}
        if tool:
            attributes |= {sc.OPERATION_NAME: "execute_tool", sc.TOOL_NAME: text,
                           sc.TOOL_CALL_ARGUMENTS: _json({text[:50]: text}),
                           sc.TOOL_CALL_RESULT: text}
        elif chat:
            attributes |= {sc.OPERATION_NAME: "chat", sc.REQUEST_MODEL: text,
                           sc.USAGE_INPUT_TOKENS: 3, sc.USAGE_OUTPUT_TOKENS: 2}
        spans.append(make_span(
            text, trace_id=trace_id, span_id=f"b{index:015x}", parent=root_id,
            start=T0 + index * 10 * MS, duration_ms=5, attributes=attributes,
            status="ERROR" if key == "nul" else "UNSET",
        ))
    return spans


def hostile_logs(
    trace_id: str = HOSTILE_TRACE, corpus: dict[str, str] = STORABLE
) -> list[LogRecord]:
    """Log records with hostile bodies, levels, loggers, event names and attributes."""
    logs = [
        LogRecord(
            time_ns=T0 + index * MS, body=text, severity_number=17, severity_text=CLEAR_SCREEN,
            trace_id=trace_id, span_id="b000000000000001", event_name=MARKUP_CLOSE,
            attributes={text[:50]: text}, resource={"service.name": OSC52_CLIPBOARD},
            scope_name=MARKUP_LINK,
        )
        for index, text in enumerate(corpus.values())
    ]
    # Memory events: the memory pane rebuilds the thread and its working memory from these.
    thread = f"thread {CLEAR_SCREEN}"
    messages = [
        {"id": f"m{seq}", "seq": seq, "created_ns": T0 + seq,
         "message": {"role": "user", "parts": [{"type": "text", "content": text}]}}
        for seq, text in enumerate(corpus.values())
    ]
    bodies: list[dict[str, Any]] = [
        {"op": sc.OP_UPSERT_MEMORY, "kind": "messages", "thread_id": thread,
         "resource_id": MARKUP_LINK, "messages": messages},
        {"op": sc.OP_UPDATE_MEMORY, "kind": "working_memory", "scope": "thread", "key": thread,
         "value": f"# notes {MARKUP_CLOSE}\n- {COLOUR}\n- {OSC52_CLIPBOARD}"},
        # Malformed: no value, and messages that are not a list.
        {"op": sc.OP_UPDATE_MEMORY, "kind": "working_memory", "scope": "thread", "key": thread},
        {"op": sc.OP_UPSERT_MEMORY, "kind": "messages", "thread_id": thread,
         "resource_id": MARKUP_LINK, "messages": 5},
    ]
    logs += [
        LogRecord(time_ns=T0 + (300 + i) * MS, body=body, severity_number=9, trace_id=trace_id,
                  span_id="b000000000000001", event_name=sc.EVENT_MEMORY_PREFIX + body["op"])
        for i, body in enumerate(bodies)
    ]
    return logs


def bad_otlp_lines() -> str:
    """OTLP JSON lines a decoder refuses, each problem quoting hostile text."""
    lines = []
    for text in (MARKUP_CLOSE, CLEAR_SCREEN, OSC52_CLIPBOARD, f"[bold red]x{CSI_C1}"):
        span = {"traceId": "ab" * 16, "spanId": "cd" * 8, "name": text,
                "startTimeUnixNano": "1", "endTimeUnixNano": "2",
                "attributes": [{"key": text, "value": {"bytesValue": text}}]}
        lines.append(_json({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}))
    return "\n".join(lines) + "\n"


def _json(value: Any) -> str:
    """JSON as an exporter would send it; unlike orjson, it writes lone surrogates too."""
    return json.dumps(value, ensure_ascii=False)
