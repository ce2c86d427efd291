from __future__ import annotations

import dataclasses

from lumos_studio.metrics import percentile, session_metrics
from lumos_studio.store import Store
from lumos_studio.store.connection import open_reader_connection
from lumos_studio.ui.widgets.metrics_strip import render_metrics, sparkline
from tests.builders import MS, T0, make_span, weather_trace


def test_percentiles_use_the_nearest_rank() -> None:
    values = list(range(1, 101))
    assert (percentile(values, 0.5), percentile(values, 0.95)) == (50, 95)
    assert percentile([7], 0.95) == 7


def test_session_metrics_per_agent_and_tool_with_errors_tokens_and_cost(store: Store) -> None:
    for i in range(10):
        spans = weather_trace(f"{i:032x}", T0 + i * 10**9)
        if i == 3:
            spans[2] = dataclasses.replace(spans[2], status_code="ERROR")
        end = spans[0].start_ns + (300 + 10 * i) * MS  # runs of 300, 310, ... 390 ms
        spans[0] = dataclasses.replace(spans[0], end_ns=end)
        spans[3] = dataclasses.replace(spans[3], end_ns=end)
        store.writer.submit_many(spans)
    store.writer.flush()

    metrics = store.reader.metrics()

    assert (metrics.runs, metrics.errors) == (10, 1)
    assert (metrics.p50_ns, metrics.p95_ns) == (340 * MS, 390 * MS)
    assert metrics.tokens == 10 * 39
    assert metrics.cost == 0  # the scripted model is free
    (agent,) = metrics.agents
    assert (agent.name, agent.count) == ("weather", 10)
    (tool,) = metrics.tools
    assert tool.name == "get_weather" and tool.count == 10
    assert len(metrics.recent_ns) == 10 and metrics.recent_ns[0] < metrics.recent_ns[-1]
    text = render_metrics(metrics).plain
    assert text.startswith("10 runs · 1 error · p50 340.0ms p95 390.0ms · 390 tokens ≈ $0")
    assert "weather 340.0ms/390.0ms" in text and "⚙ get_weather" in text
    assert store.reader.metrics(since_ns=T0 + 5 * 10**9).runs == 5


def test_a_run_without_an_agent_goes_by_its_root_span_name(store: Store) -> None:
    store.writer.submit_many([make_span("checkout", trace_id="e" * 32)])  # any OTel program's
    store.writer.flush()
    (run,) = store.reader.metrics().agents
    assert (run.name, run.count) == ("checkout", 1)


def test_sparkline_spans_the_range() -> None:
    assert sparkline((1, 5, 9)) == "▁▅█"
    assert sparkline(()) == ""


def test_metrics_cover_the_newest_runs_of_a_big_store_and_say_so(store: Store) -> None:
    for i in range(12):
        store.writer.submit_many(weather_trace(f"{i:032x}", T0 + i * 10**9))
    store.writer.flush()

    metrics = session_metrics(open_reader_connection(store.path), window=5)

    assert (metrics.runs, metrics.total_runs) == (5, 12)
    assert metrics.tokens == 5 * 39
    (tool,) = metrics.tools
    assert tool.count == 5  # only the tool calls of those five runs
    assert render_metrics(metrics).plain.startswith("last 5 of 12 runs · 0 errors")
