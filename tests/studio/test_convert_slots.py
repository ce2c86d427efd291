"""``span_to_record`` fills the record slot by slot: it must be the record ``SpanRecord(...)``
makes, as frozen, for an agent's spans as for any other."""

from __future__ import annotations

import dataclasses

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from lumos_core import Agent, ScriptedModel, tool
from lumos_studio.ingest.convert import _record_from_properties, span_to_record


@tool
def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"Sunny in {city}."


async def test_an_agent_runs_spans_become_the_records_the_constructor_makes(
    tracer_provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    agent = Agent("weather", model=ScriptedModel(), tools=[get_weather])
    await agent.run("What is the weather in Paris?", tracer_provider=tracer_provider)
    spans = exporter.get_finished_spans()
    assert len(spans) == 4
    for span in spans:
        record = span_to_record(span)
        rebuilt = dataclasses.replace(record)  # through SpanRecord.__init__
        assert record == rebuilt == _record_from_properties(span)
        with pytest.raises(dataclasses.FrozenInstanceError):
            record.name = "changed"  # type: ignore[misc]
    chat = next(span_to_record(s) for s in spans if s.name.startswith("chat"))
    assert chat.attributes["gen_ai.response.finish_reasons"] == ["tool_calls"]
