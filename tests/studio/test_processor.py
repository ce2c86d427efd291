from __future__ import annotations

import threading

from opentelemetry.sdk.trace import TracerProvider

from lumos_core import Agent, ScriptedModel, tool
from lumos_studio.ingest import studio_tracer_provider
from lumos_studio.ingest.processor import started_or_superseded
from lumos_studio.store import Store


async def test_running_spans_are_stored_before_they_end(store: Store) -> None:
    release = threading.Event()
    seen_running: list[list[str]] = []

    @tool
    def slow_lookup(city: str) -> str:
        """Slow lookup of a city."""
        store.writer.flush()
        trace = store.reader.list_traces()[0]
        seen_running.append([s.name for s in store.reader.trace_spans(trace.trace_id)
                             if s.running])
        release.set()
        return "ok"

    agent = Agent("slow", model=ScriptedModel(), tools=[slow_lookup])
    provider = studio_tracer_provider(store.writer)
    result = await agent.run("slow lookup for Rome", tracer_provider=provider)
    store.writer.flush()

    assert release.is_set()
    assert seen_running == [["invoke_agent slow", "execute_tool slow_lookup"]]
    spans = store.reader.trace_spans(result.trace_id)
    assert [s.name for s in spans] == [
        "invoke_agent slow", "chat scripted", "execute_tool slow_lookup", "chat scripted",
    ]
    assert not any(s.running for s in spans)
    assert spans[0].attributes["gen_ai.agent.name"] == "slow"
    assert spans[0].resource["service.name"] == "lumos"


def test_a_started_span_is_read_when_the_writer_gets_to_it() -> None:
    span = TracerProvider().get_tracer("t").start_span("work", attributes={"a": 1})
    # Queued at start, nothing copied on the agent's thread; read when the writer gets to it.
    span.set_attribute("b", 2)
    record = started_or_superseded(span)
    assert record is not None and record.running
    assert record.attributes == {"a": 1, "b": 2}  # what is known when the writer converts
    span.end()
    assert started_or_superseded(span) is None  # ended meanwhile: its finished copy follows
