"""The content capture switch: with it off, no text a user, model, tool or memory produced reaches
a span attribute, a span event or a log body; the run's shape (names, ids, usage) stays."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.trace import ReadableSpan

from lumos_core import (
    Agent,
    DocumentIndex,
    Memory,
    ScriptedModel,
    StepContext,
    Workflow,
    capture_content,
    configure,
    rebuild_memory_state,
    retrieve_tool,
    step,
    tool,
)
from lumos_core.telemetry import semconv as sc
from lumos_core.telemetry.content import CAPTURE_ENV, ContentCapture, content_capture
from lumos_core.testing import CapturedSpans, replay

# Words that appear only in content: if any shows up in telemetry, content leaked.
USER_SECRET = "zebra-question-17"
TOOL_ARGUMENT = "Quokkaville"
TOOL_RESULT = "ocelot-forecast-42"
ANSWER = "lynx-answer-99"
SUB_ANSWER = "heron-sub-answer-5"
MEMORY_NOTE = "tapir-note-23"
SECRETS = (USER_SECRET, TOOL_ARGUMENT, TOOL_RESULT, ANSWER, SUB_ANSWER, MEMORY_NOTE)


@pytest.fixture(autouse=True)
def _default_capture(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(CAPTURE_ENV, raising=False)
    configure(capture_content=None)
    yield
    configure(capture_content=None)


@pytest.fixture
def logs() -> Iterator[tuple[LoggerProvider, InMemoryLogRecordExporter]]:
    exporter = InMemoryLogRecordExporter()
    provider = LoggerProvider()
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


@tool
def forecast(city: str) -> str:
    """The forecast for a city."""
    return TOOL_RESULT


def weather_agent(**options: Any) -> Agent:
    model = ScriptedModel([ScriptedModel.call("forecast", city=TOOL_ARGUMENT), ANSWER])
    return Agent("weather", "Answer weather questions.", model, tools=[forecast], **options)


def telemetry_text(spans: list[ReadableSpan], exporter: InMemoryLogRecordExporter | None = None
                   ) -> str:
    """Every attribute, event and log body as one string, to search for content."""
    dumped: list[Any] = []
    for span in spans:
        dumped.append(dict(span.attributes or {}))
        dumped.append(span.status.description)
        dumped.extend(dict(event.attributes or {}) for event in span.events)
    if exporter is not None:
        dumped.extend(r.log_record.body for r in exporter.get_finished_logs())
    return orjson.dumps(dumped, default=str).decode()


def leaked(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


def test_content_is_recorded_by_default_for_local_development(
    captured_spans: CapturedSpans,
) -> None:
    weather_agent().run_sync(USER_SECRET)
    assert content_capture() == ContentCapture(spans=True, events=True)
    assert leaked(telemetry_text(captured_spans.spans)) == [USER_SECRET, TOOL_ARGUMENT,
                                                             TOOL_RESULT, ANSWER]


def test_configure_off_keeps_the_runs_shape_without_its_text(
    captured_spans: CapturedSpans,
) -> None:
    configure(capture_content=False)
    result = weather_agent().run_sync(USER_SECRET)
    assert result.output == ANSWER  # the run itself is unchanged
    assert leaked(telemetry_text(captured_spans.spans)) == []
    assert captured_spans.names() == ["invoke_agent weather", "chat scripted",
                                      "execute_tool forecast", "chat scripted"]
    root = captured_spans.of("invoke_agent")[0].attributes or {}
    for key in (sc.INPUT_MESSAGES, sc.OUTPUT_MESSAGES, sc.SYSTEM_INSTRUCTIONS):
        assert key not in root
    assert root[sc.USAGE_INPUT_TOKENS] == result.usage.input_tokens > 0
    chat = captured_spans.of("chat")[0].attributes or {}
    assert sc.TOOL_DEFINITIONS in chat  # schemas are not content
    tool_span = captured_spans.of("execute_tool")[0].attributes or {}
    assert tool_span[sc.TOOL_NAME] == "forecast" and tool_span[sc.TOOL_CALL_ID]
    assert sc.TOOL_CALL_ARGUMENTS not in tool_span and sc.TOOL_CALL_RESULT not in tool_span
    configure(capture_content=None)
    weather_agent().run_sync(USER_SECRET)  # back to the default: recorded again
    assert USER_SECRET in telemetry_text(captured_spans.spans)


@pytest.mark.parametrize(("value", "expected"), [
    ("false", ContentCapture(False, False)),
    ("NO_CONTENT", ContentCapture(False, False)),
    ("0", ContentCapture(False, False)),
    ("true", ContentCapture(True, True)),
    ("SPAN_ONLY", ContentCapture(True, False)),
    ("event_only", ContentCapture(False, True)),
    ("SPAN_AND_EVENT", ContentCapture(True, True)),
])
def test_the_otel_environment_variable_sets_the_default(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: ContentCapture
) -> None:
    monkeypatch.setenv(CAPTURE_ENV, value)
    configure(capture_content=None)  # the variable is read once; read it again
    assert content_capture() == expected


def test_an_unknown_variable_value_warns_and_records(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(CAPTURE_ENV, "sometimes")
    configure(capture_content=None)  # the variable is read once; read it again
    with caplog.at_level(logging.WARNING):
        assert content_capture() == ContentCapture(True, True)
    assert f"{CAPTURE_ENV}='sometimes' is not one of" in caplog.text


def test_the_variable_off_then_configure_and_an_agent_win_over_it(
    monkeypatch: pytest.MonkeyPatch, captured_spans: CapturedSpans
) -> None:
    monkeypatch.setenv(CAPTURE_ENV, "false")
    configure(capture_content=None)  # the variable is read once; read it again
    weather_agent().run_sync(USER_SECRET)
    assert leaked(telemetry_text(captured_spans.spans)) == []
    captured_spans.clear()
    weather_agent(capture_content=True).run_sync(USER_SECRET)
    assert USER_SECRET in telemetry_text(captured_spans.spans)
    captured_spans.clear()
    configure(capture_content=True)
    weather_agent().run_sync(USER_SECRET)
    assert USER_SECRET in telemetry_text(captured_spans.spans)


def test_per_agent_off_covers_its_sub_agents_but_not_other_agents(
    captured_spans: CapturedSpans,
) -> None:
    helper = Agent("helper", "Help.", ScriptedModel([SUB_ANSWER]))  # no choice of its own
    boss = Agent("boss", "Delegate.",
                 ScriptedModel([ScriptedModel.call("helper", input=USER_SECRET), ANSWER]),
                 tools=[helper], capture_content=False)
    assert boss.run_sync(USER_SECRET).output == ANSWER
    names = captured_spans.names()
    assert "invoke_agent helper" in names and "execute_tool helper" in names
    assert leaked(telemetry_text(captured_spans.spans)) == []
    captured_spans.clear()
    weather_agent().run_sync(USER_SECRET)  # another agent, same process: recorded
    assert USER_SECRET in telemetry_text(captured_spans.spans)


def test_a_hand_off_records_no_answer_with_capture_off(captured_spans: CapturedSpans) -> None:
    billing = Agent("billing", "Handle invoices.", ScriptedModel([SUB_ANSWER]))
    triage = Agent("triage", "Route.", ScriptedModel([ScriptedModel.call("transfer_to_billing")]),
                   handoffs=[billing])
    with capture_content(False):
        result = triage.run_sync(USER_SECRET)
    assert result.output == SUB_ANSWER and result.agent == "billing"
    assert leaked(telemetry_text(captured_spans.spans)) == []


def test_memory_spans_and_log_bodies_keep_ids_without_text(
    captured_spans: CapturedSpans, logs: tuple[LoggerProvider, InMemoryLogRecordExporter]
) -> None:
    provider, exporter = logs
    memory = Memory(":memory:")
    model = ScriptedModel([ScriptedModel.call("update_working_memory", memory=MEMORY_NOTE),
                           ANSWER, ANSWER])
    agent = Agent("assistant", "Be kind.", model, memory=memory, capture_content=False)
    agent.run_sync(USER_SECRET, thread_id="t1", resource_id="u1", logger_provider=provider)
    agent.run_sync(f"{USER_SECRET} again", thread_id="t1", logger_provider=provider)
    assert leaked(telemetry_text(captured_spans.spans, exporter)) == []
    bodies = [r.log_record.body for r in exporter.get_finished_logs()]
    upserts = [b for b in bodies if isinstance(b, dict) and b.get("op") == sc.OP_UPSERT_MEMORY]
    assert upserts and all(m["id"] and m["message"]["parts"] == []
                           for b in upserts for m in b["messages"])
    assert all(b["content_omitted"] is True for b in bodies if isinstance(b, dict))
    state = rebuild_memory_state(exporter.get_finished_logs())  # the shape still rebuilds
    assert [m.message.role for m in state.threads["t1"].messages] == [
        "user", "assistant", "tool", "assistant", "user", "assistant"]
    assert state.working_memory == {}  # its value was not recorded
    assert MEMORY_NOTE in (memory.working_memory(thread_id="t1") or "")  # but it was stored


def test_event_only_keeps_log_bodies_and_drops_span_content(
    monkeypatch: pytest.MonkeyPatch,
    captured_spans: CapturedSpans,
    logs: tuple[LoggerProvider, InMemoryLogRecordExporter],
) -> None:
    monkeypatch.setenv(CAPTURE_ENV, "EVENT_ONLY")
    configure(capture_content=None)  # the variable is read once; read it again
    provider, exporter = logs
    model = ScriptedModel([ANSWER])
    Agent("assistant", "Be kind.", model, memory=Memory(":memory:")).run_sync(
        USER_SECRET, thread_id="t1", logger_provider=provider)
    assert leaked(telemetry_text(captured_spans.spans)) == []
    assert USER_SECRET in telemetry_text([], exporter)


def test_workflows_and_retrieval_record_no_text_with_capture_off(
    tmp_path: Path, captured_spans: CapturedSpans
) -> None:
    index = DocumentIndex(name="kb")
    index.add(f"The {TOOL_RESULT} is kept here.", id="doc")

    @step
    def ask(ctx: StepContext) -> str:
        if not ctx.resumed:
            ctx.suspend({"question": TOOL_ARGUMENT})
        return f"{ctx.resume_data['ok']} {ANSWER}"

    reader = Agent("reader", "Use the docs.",
                   ScriptedModel([ScriptedModel.call("search_kb", query=TOOL_RESULT), ANSWER]),
                   tools=[retrieve_tool(index, name="search_kb")])
    flow = Workflow("flow", [reader, ask], store=tmp_path / "wf.db",
                    tracer_provider=captured_spans.provider)
    with capture_content(False):
        run = flow.run_sync(USER_SECRET)
        assert run.status == "suspended"
        resumed = flow.resume_sync(run.run_id, resume_data={"ok": MEMORY_NOTE})
    assert resumed.status == "success"
    names = captured_spans.names()
    assert "retrieval kb" in names and "step ask" in names
    assert leaked(telemetry_text(captured_spans.spans)) == []


def test_replaying_a_trace_recorded_without_content_says_why_it_cannot(
    captured_spans: CapturedSpans,
) -> None:
    weather_agent(capture_content=False).run_sync(USER_SECRET)
    with pytest.raises(ValueError, match="recorded without message content"):
        replay(captured_spans.records()).run(weather_agent())
