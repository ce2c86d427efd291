"""Compare, pricing, playback and metrics over spans captured from the real instrumentation
libraries (tests/fixtures/dialects): every dialect counts the same turn the same way."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from lumos_studio.otlp import read_records
from lumos_studio.pricing import Cost, view_cost
from lumos_studio.records import LogRecord, SpanRecord
from lumos_studio.replay.compare import compare_runs, run_totals
from lumos_studio.replay.timeline import span_at
from lumos_studio.semantics import OperationKind, read_span, read_trace
from lumos_studio.store import Store

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "dialects"
ALL = sorted(p.stem for p in FIXTURES.glob("*.jsonl"))
WITH_TOOL_SPANS = ("openinference-openai", "openinference-pydantic-ai", "pydantic-ai-v1-logs",
                   "pydantic-ai-v1-attributes", "pydantic-ai-v2", "pydantic-ai-v5",
                   "pydantic-ai-v6", "vercel-ai-sdk")
RECORDED_COST = ("logfire", "openinference-pydantic-ai", "pydantic-ai-v1-attributes",
                 "pydantic-ai-v1-logs", "pydantic-ai-v2", "pydantic-ai-v5", "pydantic-ai-v6")


def first_turn(name: str) -> tuple[list[SpanRecord], list[LogRecord]]:
    """The file's first trace (the turn run plainly): its spans and log records."""
    records = read_records(FIXTURES / f"{name}.jsonl")
    spans = list(records.spans)
    trace_id = spans[0].trace_id
    return ([s for s in spans if s.trace_id == trace_id],
            [log for log in records.logs if log.trace_id == trace_id])


@pytest.mark.parametrize("name", ALL)
def test_run_totals_count_the_turn_in_every_dialect(name: str) -> None:
    spans, logs = first_turn(name)
    totals = run_totals(spans, read_trace(spans, logs))
    assert (totals.tokens, totals.model_calls) == (100 + 17 + 118 + 14, 2)
    assert totals.tool_calls == (1 if name in WITH_TOOL_SPANS else 0)


def test_a_turn_compared_with_itself_in_another_dialect_has_the_same_totals() -> None:
    left, left_logs = first_turn("openinference-openai")
    right, right_logs = first_turn("openllmetry-events")
    comparison = compare_runs(left, right, left_logs, right_logs)
    assert comparison.summary.startswith("tokens ±0 %")
    assert (comparison.left.model_calls, comparison.right.model_calls) == (2, 2)


def test_compare_diffs_messages_arguments_and_usage_read_from_openinference() -> None:
    spans, _ = first_turn("openinference-openai")
    changed = []
    for span in spans:
        attributes = dict(span.attributes)
        for key, value in span.attributes.items():
            if isinstance(value, str) and "Paris" in value:
                attributes[key] = value.replace("Paris", "Lyon")
        if read_span(span).kind is OperationKind.LLM:
            attributes["llm.token_count.prompt"] = "lots"  # no count: must not crash
        changed.append(dataclasses.replace(span, attributes=attributes))
    comparison = compare_runs(spans, changed)
    diffs = [d for row in comparison.rows for d in row.diffs]

    def sides(field: str) -> list[tuple[str | None, str | None]]:
        return [(d.left, d.right) for d in diffs if d.field == field]

    assert ('assistant: call get_weather({"city":"Paris"})',
            'assistant: call get_weather({"city":"Lyon"})') in sides("output messages")
    assert sides("tool arguments") == [('{"city":"Paris"}', '{"city":"Lyon"}')]
    assert sides("tool result") == [(
        '{"city": "Paris", "temperature_c": 18, "conditions": "partly cloudy"}',
        '{"city": "Lyon", "temperature_c": 18, "conditions": "partly cloudy"}')]
    assert sorted(sides("input tokens")) == [("100", None), ("118", None)]
    assert comparison.right.tokens < comparison.left.tokens


@pytest.mark.parametrize("name", ALL)
def test_a_model_call_is_priced_from_its_recorded_cost_or_its_model_and_usage(name: str) -> None:
    spans, logs = first_turn(name)
    views = read_trace(spans, logs)
    costs = [view_cost(views[s.span_id]) for s in spans
             if views[s.span_id].kind is OperationKind.LLM]
    recorded = name in RECORDED_COST
    # gpt-4o-mini at $0.15 / $0.60 per million tokens, as the libraries that record cost say too
    assert costs == [Cost(pytest.approx(2.52e-05), recorded), Cost(pytest.approx(2.61e-05),
                                                                    recorded)]


@pytest.mark.parametrize("name", ["openinference-openai", "vercel-ai-sdk", "pydantic-ai-v6",
                                  "openllmetry-attributes"])
def test_a_model_call_still_running_in_playback_has_no_answer_or_usage_yet(name: str) -> None:
    spans, _ = first_turn(name)
    chat = next(s for s in spans if read_span(s).kind is OperationKind.LLM)
    assert chat.end_ns is not None
    running = read_span(span_at(chat, (chat.start_ns + chat.end_ns) // 2))  # type: ignore[arg-type]
    assert running.input_messages or running.kind is OperationKind.LLM
    assert not running.output_messages and not running.usage.known
    assert not running.response_model and not running.finish_reasons


@pytest.mark.parametrize("name", ["openinference-openai", "openllmetry-flattened",
                                  "vercel-ai-sdk", "pydantic-ai-v5", "openllmetry-events",
                                  "logfire"])
def test_metrics_count_tokens_and_cost_of_every_dialect(store: Store, name: str) -> None:
    records = read_records(FIXTURES / f"{name}.jsonl")
    store.writer.submit_many([*records.spans, *records.logs])
    store.writer.flush()
    metrics = store.reader.metrics()
    assert metrics.runs == 2 and metrics.tokens == 2 * 249
    assert metrics.cost == pytest.approx(2 * (2.52e-05 + 2.61e-05))
