"""The in-process log processor: SDK log records (and Python logging) into the studio's store."""

from __future__ import annotations

import logging
import threading
import warnings

import pytest
from opentelemetry import trace
from opentelemetry._logs import SeverityNumber
from opentelemetry.sdk._logs import LoggingHandler
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind

from lumos_core.telemetry import semconv as sc
from lumos_studio.ingest import (
    StudioSpanProcessor,
    log_processor,
    studio_logger_provider,
    studio_tracer_provider,
)
from lumos_studio.store import Store


def test_logs_are_stored_with_the_span_they_ran_in(store: Store) -> None:
    tracer = studio_tracer_provider(store.writer, "agents").get_tracer("t")
    logger = studio_logger_provider(store.writer, "agents").get_logger("my.scope")
    with tracer.start_as_current_span("invoke_agent weather") as span:
        logger.emit(
            body={"text": "looking up", "raw": b"\x00\x01", "items": (1, 2)},
            severity_number=SeverityNumber.WARN,
            severity_text="WARN",
            attributes={"city": "Paris", "tries": (1, 2)},
            event_name="lumos.memory.add",
        )
    logger.emit(body="outside any span")
    store.writer.flush()

    inside, outside = store.reader.logs()
    context = span.get_span_context()
    assert inside.trace_id == format(context.trace_id, "032x")
    assert inside.span_id == format(context.span_id, "016x")
    assert inside.body == {"text": "looking up", "raw": "AAE=", "items": [1, 2]}
    assert (inside.severity_number, inside.severity_text) == (13, "WARN")
    assert inside.attributes == {"city": "Paris", "tries": [1, 2]}
    assert inside.event_name == "lumos.memory.add" and inside.scope_name == "my.scope"
    assert inside.service_name == "agents" and inside.time_ns > 0
    assert inside.observed_time_ns >= inside.time_ns
    assert outside.body == "outside any span" and outside.trace_id is outside.span_id is None
    assert store.reader.logs(span_id=inside.span_id) == [inside]


def test_conversion_happens_on_the_writer_thread(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[str] = []
    convert = log_processor.sdk_log_to_record

    def spy(record: log_processor.ReadWriteLogRecord) -> log_processor.LogRecord:
        threads.append(threading.current_thread().name)
        return convert(record)

    monkeypatch.setattr(log_processor, "sdk_log_to_record", spy)
    studio_logger_provider(store.writer).get_logger("x").emit(body="hi")
    assert store.writer.flush()
    assert threads == ["lumos-store-writer"]


def test_a_started_event_is_stored_as_a_running_span_until_the_span_ends(store: Store) -> None:
    provider = TracerProvider()  # spans stored only when they end, as over OTLP
    provider.add_span_processor(StudioSpanProcessor(store.writer, live=False))
    tracer = provider.get_tracer("t")
    logger = studio_logger_provider(store.writer).get_logger("lumos_core")
    span = tracer.start_span("chat scripted", kind=SpanKind.CLIENT)
    context = span.get_span_context()
    logger.emit(
        context=trace.set_span_in_context(span),
        event_name=sc.EVENT_SPAN_STARTED,
        body={"name": "chat scripted", "kind": "CLIENT", "parent_span_id": None,
              "start_time_unix_nano": 123, "attributes": {sc.OPERATION_NAME: "chat"}},
    )
    store.writer.flush()
    trace_id, span_id = format(context.trace_id, "032x"), format(context.span_id, "016x")
    running = store.reader.span(trace_id, span_id)
    assert running is not None and running.running
    assert (running.kind, running.start_ns, running.service_name) == ("CLIENT", 123, "lumos")
    assert running.attributes == {sc.OPERATION_NAME: "chat"}

    span.end()
    store.writer.flush()

    finished = store.reader.span(trace_id, span_id)
    assert finished is not None and not finished.running and finished.start_ns != 123
    assert store.reader.logs() == []  # the event became a span, not a log line


def test_python_logging_reaches_the_store_through_the_sdk_handler(store: Store) -> None:
    tracer = studio_tracer_provider(store.writer).get_tracer("t")
    provider = studio_logger_provider(store.writer)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # moving to instrumentation-logging
        handler = LoggingHandler(level=logging.INFO, logger_provider=provider)
    user_logger = logging.getLogger("user.agents")
    user_logger.addHandler(handler)
    user_logger.setLevel(logging.INFO)
    try:
        with tracer.start_as_current_span("execute_tool lookup") as span:
            user_logger.warning("city %s not cached", "Paris")
    finally:
        user_logger.removeHandler(handler)
    store.writer.flush()

    [log] = store.reader.logs()
    assert log.body == "city Paris not cached"
    assert (log.severity_number, log.severity_text) == (13, "WARN")
    assert log.span_id == format(span.get_span_context().span_id, "016x")
    assert log.scope_name == "user.agents" and log.attributes["code.function.name"]
