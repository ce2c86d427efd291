"""What a worker said of its spans: the tool a run is in, read in any dialect."""

from __future__ import annotations

from lumos_studio.sessions.worker_spans import ReportedSpans
from tests.builders import T0


def started(span_id: str, run: int, attributes: object) -> dict[str, object]:
    return {"type": "span_started", "trace_id": "1" * 32, "span_id": span_id, "run": run,
            "name": "step", "start_ns": T0, "attributes": attributes}


def test_the_running_tool_is_the_latest_open_tool_span_of_the_run() -> None:
    spans = ReportedSpans()
    spans.heard(started("a" * 16, 1, {"gen_ai.operation.name": "invoke_agent"}))
    spans.heard(started("b" * 16, 1, {"gen_ai.tool.name": "get_weather"}))
    spans.heard(started("c" * 16, 2, {"tool.name": "search_docs"}))  # OpenInference's key
    spans.heard(started("d" * 16, 2, ["not", "a", "mapping"]))

    assert spans.running_tool(1) == "get_weather"
    assert spans.running_tool(2) == "search_docs"
    spans.heard({"type": "span_ended", "span_id": "b" * 16, "end_ns": T0 + 1})
    assert spans.running_tool(1) is None
    assert spans.running_tool(3) is None
