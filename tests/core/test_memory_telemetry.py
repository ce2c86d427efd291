"""Memory is observable: a span per operation, a log record per change, which rebuild it."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from lumos_core import Agent, Memory, ScriptedModel, WorkingMemory, rebuild_memory_state
from lumos_core.memory import MemoryState, StoredMessage
from lumos_core.messages import Message
from lumos_core.telemetry import semconv as sc

MEMORY_OPERATIONS = {sc.OP_SEARCH_MEMORY, sc.OP_UPSERT_MEMORY, sc.OP_UPDATE_MEMORY,
                     sc.OP_DELETE_MEMORY}


@pytest.fixture
def log_exporter() -> InMemoryLogRecordExporter:
    return InMemoryLogRecordExporter()


@pytest.fixture
def logger_provider(log_exporter: InMemoryLogRecordExporter) -> LoggerProvider:
    provider = LoggerProvider()
    provider.add_log_record_processor(SimpleLogRecordProcessor(log_exporter))
    return provider


def remembering_agent(memory: Memory) -> Agent:
    model = ScriptedModel([
        ScriptedModel.call("update_working_memory", memory="# User\n- Name: Ada"),
        "Noted.",
    ])
    return Agent("assistant", "Be kind.", model, memory=memory)


def test_every_memory_operation_is_a_span_and_every_change_a_log_record_in_it(
    tracer_provider: TracerProvider,
    exporter: InMemorySpanExporter,
    logger_provider: LoggerProvider,
    log_exporter: InMemoryLogRecordExporter,
) -> None:
    memory = Memory(":memory:", store_id="test-store")
    result = remembering_agent(memory).run_sync(
        "I am Ada", thread_id="t1", resource_id="u1",
        tracer_provider=tracer_provider, logger_provider=logger_provider,
    )
    spans = exporter.get_finished_spans()
    by_id = {s.context.span_id: s for s in spans}
    root = spans[-1]
    assert root.name == "invoke_agent assistant"
    assert root.attributes[sc.CONVERSATION_ID] == "t1"
    assert root.attributes[sc.LUMOS_MEMORY_RESOURCE_ID] == "u1"
    assert all(s.attributes[sc.CONVERSATION_ID] == "t1" for s in spans if s.name.startswith("chat"))

    memory_spans = [s for s in spans if s.attributes.get(sc.OPERATION_NAME) in MEMORY_OPERATIONS]
    assert [(s.name, s.attributes[sc.LUMOS_MEMORY_KIND]) for s in memory_spans] == [
        ("search_memory", "messages"),        # the window
        ("search_memory", "working_memory"),  # what the instructions show
        ("search_memory", "recall"),
        ("upsert_memory", "messages"),        # the user's message, before the model runs
        ("update_memory", "working_memory"),  # from the tool
        ("upsert_memory", "messages"),        # the tool call and its result
        ("upsert_memory", "messages"),        # the answer
    ]
    for span in memory_spans:
        assert span.name == span.attributes[sc.OPERATION_NAME]
        assert span.attributes[sc.MEMORY_STORE_ID] == "test-store"
        assert span.attributes[sc.CONVERSATION_ID] == "t1"
        assert span.context.trace_id == root.context.trace_id
    update = memory_spans[4]
    assert by_id[update.parent.span_id].name == "execute_tool update_working_memory"
    assert update.attributes[sc.MEMORY_RECORD_ID] == "resource:u1"
    recall = memory_spans[2]
    assert recall.attributes[sc.MEMORY_QUERY_TEXT] == "I am Ada"
    saved = json.loads(memory_spans[5].attributes[sc.MEMORY_RECORDS])
    assert [r["content"]["role"] for r in saved] == ["assistant", "tool"]

    logs = [record.log_record for record in log_exporter.get_finished_logs()]
    assert [r.event_name for r in logs] == [
        "lumos.memory.upsert_memory", "lumos.memory.update_memory",
        "lumos.memory.upsert_memory", "lumos.memory.upsert_memory",
    ]
    changes = [s for s in memory_spans if s.name != "search_memory"]
    for record, span in zip(logs, changes, strict=True):
        assert record.span_id == span.context.span_id  # emitted inside the operation's span
        assert record.trace_id == root.context.trace_id
        assert record.event_name == sc.EVENT_MEMORY_PREFIX + span.name
        assert record.attributes[sc.CONVERSATION_ID] == "t1"
    assert logs[1].body["value"] == "# User\n- Name: Ada\n"
    assert logs[1].body["scope"] == "resource" and logs[1].body["key"] == "u1"
    assert logs[3].body["messages"][0]["message"]["parts"][0]["content"] == result.output


def test_memory_events_rebuild_exactly_the_stored_state(
    logger_provider: LoggerProvider, log_exporter: InMemoryLogRecordExporter
) -> None:
    memory = Memory(":memory:", logger_provider=logger_provider)
    agent = remembering_agent(memory)
    agent.run_sync("I am Ada", thread_id="t1", resource_id="u1")
    Agent("echo", model="scripted", memory=memory).run_sync("hello", thread_id="t2",
                                                            resource_id="u2")
    memory.save_messages("t3", [Message.user("doomed")], resource_id="u1")
    first = memory.messages("t2")[0]
    memory.save_messages("t2", [StoredMessage(first.id, "t2", first.seq, Message.user("hi!"),
                                              first.created_ns)])
    memory.update_working_memory("- likes tea", resource_id="u2")
    memory.update_working_memory("- scratch", resource_id="u3")
    memory.delete_working_memory(resource_id="u3")
    memory.delete_thread("t3")

    records = log_exporter.get_finished_logs()
    stored = memory.snapshot()
    assert set(stored.threads) == {"t1", "t2"} and len(stored.working_memory) == 2
    assert rebuild_memory_state(records) == stored
    # The bodies alone, after a trip through JSON (as OTLP files carry them), rebuild it too.
    bodies = [orjson.loads(orjson.dumps(r.log_record.body)) for r in records]
    assert rebuild_memory_state(bodies) == stored
    # Replaying twice (overlapping batches) changes nothing.
    assert rebuild_memory_state(bodies + bodies) == stored


def test_replaying_a_prefix_of_the_events_shows_memory_as_it_was(
    logger_provider: LoggerProvider, log_exporter: InMemoryLogRecordExporter
) -> None:
    memory = Memory(":memory:", logger_provider=logger_provider,
                    working_memory=WorkingMemory(scope="thread"))
    memory.update_working_memory("v1", thread_id="t1", resource_id="u1")
    memory.save_messages("t1", [Message.user("a")])
    memory.update_working_memory("v2", thread_id="t1")
    bodies: list[Any] = [r.log_record.body for r in log_exporter.get_finished_logs()]

    earlier = rebuild_memory_state(bodies[:1])
    assert earlier.threads == {} and earlier.working_memory_of("t1") == "v1\n"
    middle = rebuild_memory_state(bodies[:2])
    assert middle.working_memory_of("t1") == "v1\n"
    assert [m.message.text for m in middle.threads["t1"].messages] == ["a"]
    assert rebuild_memory_state(bodies).working_memory_of("t1") == "v2\n"
    # Folding onto an existing state continues from it.
    assert rebuild_memory_state(bodies[2:], middle) == memory.snapshot()
    assert rebuild_memory_state([{"unrelated": True}, {"op": "x", "kind": "y"}]) == MemoryState()


def test_an_agent_without_memory_emits_what_it_always_did(
    tracer_provider: TracerProvider,
    exporter: InMemorySpanExporter,
    logger_provider: LoggerProvider,
    log_exporter: InMemoryLogRecordExporter,
) -> None:
    agent = Agent("echo", "Echo.", "scripted")
    result = agent.run_sync("hi", tracer_provider=tracer_provider, logger_provider=logger_provider)
    assert result.thread_id is None and result.resource_id is None
    spans: list[ReadableSpan] = list(exporter.get_finished_spans())
    assert [s.name for s in spans] == ["chat scripted", "invoke_agent echo"]
    for span in spans:
        assert sc.CONVERSATION_ID not in span.attributes
        assert sc.LUMOS_CONTEXT_SUMMARY not in span.attributes
    assert log_exporter.get_finished_logs() == ()
    labelled = agent.run_sync("hi", thread_id="ext-1", tracer_provider=tracer_provider)
    assert labelled.thread_id == "ext-1"
    assert exporter.get_finished_spans()[-1].attributes[sc.CONVERSATION_ID] == "ext-1"


def test_a_run_passes_its_providers_to_memory_operations(
    tracer_provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    memory = Memory(":memory:")  # no provider of its own: it uses the run's
    Agent("echo", model="scripted", memory=memory).run_sync(
        "hi", thread_id="t1", tracer_provider=tracer_provider
    )
    names = [s.name for s in exporter.get_finished_spans()]
    assert names.count("upsert_memory") == 2 and names[-1] == "invoke_agent echo"
    exporter.clear()
    memory.save_messages("t1", [Message.user("outside a run")])  # global provider: not ours
    assert exporter.get_finished_spans() == ()
