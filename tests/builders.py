"""Small builders for records, so tests say only what matters to them."""

from __future__ import annotations

from typing import Any

import orjson

from lumos_core.telemetry import semconv as sc
from lumos_studio.records import SpanEvent, SpanRecord

T0 = 1_764_000_000_000_000_000  # 2025-11-24 16:00:00 UTC
MS = 1_000_000


def make_span(
    name: str = "span",
    *,
    trace_id: str = "0af7651916cd43dd8448eb211c80319c",
    span_id: str = "b7ad6b7169203331",
    parent: str | None = None,
    start: int = T0,
    duration_ms: float | None = 10,
    status: str = "UNSET",
    attributes: dict[str, Any] | None = None,
    events: tuple[SpanEvent, ...] = (),
    kind: str = "INTERNAL",
) -> SpanRecord:
    return SpanRecord(
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=parent,
        name=name,
        start_ns=start,
        end_ns=None if duration_ms is None else start + int(duration_ms * MS),
        kind=kind,
        status_code=status,
        attributes=attributes or {},
        events=events,
        resource={"service.name": "tests"},
        scope_name="lumos_core",
        scope_version="0.1.0",
    )


def weather_trace(trace_id: str = "0af7651916cd43dd8448eb211c80319c", start: int = T0
                  ) -> list[SpanRecord]:
    """The four spans of a weather agent turn, as the core emits them."""
    user = '[{"role":"user","parts":[{"type":"text","content":"weather in Paris?"}]}]'
    call = ('[{"role":"assistant","parts":[{"type":"tool_call","id":"call_1","name":"get_weather",'
            '"arguments":{"city":"Paris"}}],"finish_reason":"tool_calls"}]')
    answer = ('[{"role":"assistant","parts":[{"type":"text","content":"Sunny, 18 °C in Paris."}],'
              '"finish_reason":"stop"}]')
    agent = {sc.OPERATION_NAME: "invoke_agent", sc.AGENT_NAME: "weather",
             sc.REQUEST_MODEL: "scripted", sc.INPUT_MESSAGES: user, sc.OUTPUT_MESSAGES: answer,
             sc.USAGE_INPUT_TOKENS: 30, sc.USAGE_OUTPUT_TOKENS: 9}
    chat = {sc.OPERATION_NAME: "chat", sc.REQUEST_MODEL: "scripted", sc.PROVIDER_NAME: "scripted"}
    return [
        make_span("invoke_agent weather", trace_id=trace_id, span_id="a000000000000001",
                  start=start, duration_ms=300, attributes=agent),
        make_span("chat scripted", trace_id=trace_id, span_id="a000000000000002",
                  parent="a000000000000001", start=start + 1 * MS, duration_ms=150, kind="CLIENT",
                  attributes={**chat, sc.INPUT_MESSAGES: user, sc.OUTPUT_MESSAGES: call,
                              sc.USAGE_INPUT_TOKENS: 20, sc.USAGE_OUTPUT_TOKENS: 4}),
        make_span("execute_tool get_weather", trace_id=trace_id, span_id="a000000000000003",
                  parent="a000000000000001", start=start + 152 * MS, duration_ms=0.3,
                  attributes={sc.OPERATION_NAME: "execute_tool", sc.TOOL_NAME: "get_weather",
                              sc.TOOL_CALL_ID: "call_1",
                              sc.TOOL_CALL_ARGUMENTS: '{"city":"Paris"}',
                              sc.TOOL_CALL_RESULT: "Sunny, 18 °C in Paris."}),
        make_span("chat scripted", trace_id=trace_id, span_id="a000000000000004",
                  parent="a000000000000001", start=start + 153 * MS, duration_ms=146,
                  kind="CLIENT",
                  attributes={**chat, sc.OUTPUT_MESSAGES: answer, sc.USAGE_INPUT_TOKENS: 10,
                              sc.USAGE_OUTPUT_TOKENS: 5}),
    ]



def three_texts(trace_id: str = "0af7651916cd43dd8448eb211c80319c", start: int = T0
                ) -> list[SpanRecord]:
    """The weather turn without its tool call: its agent span and two chats hold messages, 3
    texts to index (what the index's counting tests count in)."""
    return [span for span in weather_trace(trace_id, start) if span.span_id != "a000000000000003"]

def agent_run(
    n: int,
    *,
    agent: str = "weather",
    model: str = "scripted",
    tool: str | None = None,
    said: str = "hello",
    answer: str = "hi",
    conversation: str | None = None,
    duration_ms: float = 100,
    status: str = "OK",
    tokens: int = 10,
    running: bool = False,
) -> list[SpanRecord]:
    """One agent run: an agent span over one chat span (and a tool span when ``tool``)."""
    trace_id = f"{n:032x}"
    start = T0 + n * 10**9
    message = [{"role": "user", "parts": [{"type": "text", "content": said}]}]
    reply = [{"role": "assistant", "parts": [{"type": "text", "content": answer}]}]
    root = {sc.OPERATION_NAME: "invoke_agent", sc.AGENT_NAME: agent, sc.REQUEST_MODEL: model,
            sc.INPUT_MESSAGES: orjson.dumps(message).decode(),
            sc.OUTPUT_MESSAGES: orjson.dumps(reply).decode()}
    if conversation:
        root[sc.CONVERSATION_ID] = conversation
    spans = [
        make_span(f"invoke_agent {agent}", trace_id=trace_id, span_id=f"{n:08x}00000001",
                  start=start, duration_ms=None if running else duration_ms, status=status,
                  attributes=root),
        make_span(f"chat {model}", trace_id=trace_id, span_id=f"{n:08x}00000002",
                  parent=f"{n:08x}00000001", start=start + MS, duration_ms=duration_ms / 2,
                  attributes={sc.OPERATION_NAME: "chat", sc.REQUEST_MODEL: model,
                              sc.USAGE_INPUT_TOKENS: tokens, sc.USAGE_OUTPUT_TOKENS: 0,
                              sc.OUTPUT_MESSAGES: orjson.dumps(reply).decode()}),
    ]
    if tool:
        spans.append(make_span(f"execute_tool {tool}", trace_id=trace_id,
                               span_id=f"{n:08x}00000003", parent=f"{n:08x}00000001",
                               start=start + 2 * MS, duration_ms=1,
                               attributes={sc.OPERATION_NAME: "execute_tool",
                                           sc.TOOL_NAME: tool}))
    return spans
