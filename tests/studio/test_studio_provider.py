"""The provider ``studio_tracer_provider`` builds: the SDK's default decisions, made cheaper."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from lumos_core.telemetry.sampling import ParentBasedAlwaysOn
from lumos_studio.ingest import studio_tracer_provider
from lumos_studio.store import Store


def test_it_samples_as_the_sdk_default_does(store: Store, monkeypatch: pytest.MonkeyPatch
                                            ) -> None:
    monkeypatch.delenv("OTEL_TRACES_SAMPLER", raising=False)
    provider = studio_tracer_provider(store.writer)
    assert isinstance(provider.sampler, ParentBasedAlwaysOn)
    tracer = provider.get_tracer("t")
    unsampled = SpanContext(0x1F, 0x2F, is_remote=True, trace_flags=TraceFlags(0))
    with trace.use_span(NonRecordingSpan(unsampled)):
        assert not tracer.start_span("follows its unsampled parent").is_recording()
    root = tracer.start_span("root")
    assert root.is_recording()
    root.end()
    provider.shutdown()
    assert [t.root_name for t in store.reader.list_traces()] == ["root"]


def test_a_sampler_named_in_the_environment_is_the_sdks_choice(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_off")
    provider = studio_tracer_provider(store.writer)
    assert not provider.get_tracer("t").start_span("dropped").is_recording()
