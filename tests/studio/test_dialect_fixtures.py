"""The captured dialect fixtures stay readable and stay what they claim to be.

tests/fixtures/dialects holds spans the real instrumentation packages emitted against a stand-in
OpenAI server (scripts/dialect_fixtures). Semantics tests build on them; these tests only guard the
files: each loads as OTLP JSON lines with our reader, without a problem line, and holds spans from
the instrumentation scope its name promises, in the form (attributes or log-record events) that
makes it that dialect, so a careless regeneration or hand edit is caught here first.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from lumos_studio.otlp import FileRecords, read_records

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "dialects"


@dataclass(frozen=True)
class Dialect:
    """What one fixture file must hold."""

    scope: str  #: instrumentation scope of its LLM spans
    marker: str  #: an attribute key only this form puts on those spans
    log_events: bool = False  #: messages travel as log-record events
    span_events: bool = False  #: messages travel as span events


DIALECTS: dict[str, Dialect] = {
    "openinference-openai.jsonl": Dialect(
        "openinference.instrumentation.openai", "llm.input_messages.0.message.role"
    ),
    "openllmetry-attributes.jsonl": Dialect(
        "opentelemetry.instrumentation.openai.v1", "gen_ai.input.messages"
    ),
    "openllmetry-events.jsonl": Dialect(
        "opentelemetry.instrumentation.openai.v1", "gen_ai.usage.input_tokens", log_events=True
    ),
    "otel-genai-openai-v2.jsonl": Dialect(
        "opentelemetry.instrumentation.openai_v2", "gen_ai.system", log_events=True
    ),
    "otel-genai-openai-v2-latest.jsonl": Dialect(
        "opentelemetry.util.genai.handler", "gen_ai.output.messages"
    ),
    "pydantic-ai-v2.jsonl": Dialect("pydantic-ai", "tool_arguments"),
    "pydantic-ai-v5.jsonl": Dialect("pydantic-ai", "gen_ai.tool.call.arguments"),
    "pydantic-ai-v6.jsonl": Dialect("pydantic-ai", "pydantic_ai.all_messages"),
    "openinference-pydantic-ai.jsonl": Dialect("pydantic-ai", "openinference.span.kind"),
    "logfire.jsonl": Dialect("logfire.openai", "logfire.msg_template"),
    "azure-ai-inference.jsonl": Dialect(
        "azure.core.tracing.ext.opentelemetry_span", "gen_ai.system", span_events=True
    ),
    "vercel-ai-sdk.jsonl": Dialect("ai", "ai.prompt.messages"),
    # Earlier forms, from older releases (capture.py --legacy)
    "openllmetry-flattened.jsonl": Dialect(
        "opentelemetry.instrumentation.openai.v1", "gen_ai.prompt.0.content"
    ),
    "pydantic-ai-v1-attributes.jsonl": Dialect("pydantic-ai", "events"),
    "pydantic-ai-v1-logs.jsonl": Dialect("pydantic-ai", "all_messages_events", log_events=True),
}


def _load(name: str) -> FileRecords:
    records = read_records(FIXTURES / name)
    assert records.problems == [], f"{name}: {records.problems}"
    return records


def test_every_fixture_file_has_an_expectation() -> None:
    on_disk = {path.name for path in FIXTURES.glob("*.jsonl")}
    assert on_disk == set(DIALECTS)


@pytest.mark.parametrize("name", sorted(DIALECTS))
def test_fixture_holds_spans_of_its_instrumentation(name: str) -> None:
    dialect = DIALECTS[name]
    records = _load(name)
    ours = [span for span in records.spans if span.scope_name == dialect.scope]
    assert ours, f"{name}: no span from scope {dialect.scope!r}"
    assert any(dialect.marker in span.attributes for span in ours), dialect.marker
    # One plain turn and one streamed turn, each its own trace with one root.
    roots = [span for span in records.spans if span.parent_span_id is None]
    assert len(roots) == 2
    assert {span.trace_id for span in records.spans} == {root.trace_id for root in roots}


@pytest.mark.parametrize("name", sorted(n for n, d in DIALECTS.items() if d.log_events))
def test_event_forms_carry_their_messages_as_log_records_tied_to_spans(name: str) -> None:
    records = _load(name)
    span_ids = {span.span_id for span in records.spans}
    # The event name is the record's own field, or (older convention) its event.name attribute.
    events = {log.event_name or log.attributes.get("event.name") for log in records.logs}
    assert {"gen_ai.user.message", "gen_ai.tool.message", "gen_ai.choice"} <= events
    assert all(log.span_id in span_ids for log in records.logs)


@pytest.mark.parametrize("name", sorted(n for n, d in DIALECTS.items() if d.span_events))
def test_span_event_forms_carry_their_messages_as_span_events(name: str) -> None:
    records = _load(name)
    events = [event for span in records.spans for event in span.events]
    assert {"gen_ai.user.message", "gen_ai.tool.message", "gen_ai.choice"} <= {
        event.name for event in events
    }
    assert all("gen_ai.event.content" in event.attributes for event in events)
