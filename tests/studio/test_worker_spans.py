"""What a worker said of its spans: the tool a run is in, read in any dialect."""

from __future__ import annotations

from typing import Any

from lumos_core.worker_protocol import SpanEnded, SpanStarted
from lumos_studio.sessions.worker_spans import ReportedSpans
from tests.builders import T0

TRACE = "1" * 32


def started(span_id: str, run: int, attributes: dict[str, Any]) -> SpanStarted:
    return SpanStarted(TRACE, span_id, "step", T0, run=run, attributes=attributes)


def test_the_running_tool_is_the_latest_open_tool_span_of_the_run() -> None:
    spans = ReportedSpans()
    spans.heard(started("a" * 16, 1, {"gen_ai.operation.name": "invoke_agent"}))
    spans.heard(started("b" * 16, 1, {"gen_ai.tool.name": "get_weather"}))
    spans.heard(started("c" * 16, 2, {"tool.name": "search_docs"}))  # OpenInference's key
    spans.heard(started("d" * 16, 2, {"tool.name": ["not", "a", "name"]}))

    assert spans.running_tool(1) == "get_weather"
    assert spans.running_tool(2) == "search_docs"
    spans.heard(SpanEnded(TRACE, "b" * 16, T0 + 1))
    assert spans.running_tool(1) is None
    assert spans.running_tool(3) is None
