"""``telemetry.sampling.ParentBasedAlwaysOn`` decides as the SDK's default sampler does, which it
replaces in the providers the core and the studio build."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased, SamplingResult
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, TraceState

from lumos_core.telemetry.export import configure_otlp
from lumos_core.telemetry.sampling import ParentBasedAlwaysOn, default_sampler

TRACE_ID = 0x0AF7651916CD43DD8448EB211C80319C


def _parent(*, remote: bool, sampled: bool, state: TraceState | None = None) -> Context:
    context = SpanContext(
        TRACE_ID, 0x00F067AA0BA902B7, is_remote=remote,
        trace_flags=TraceFlags(TraceFlags.SAMPLED if sampled else TraceFlags.DEFAULT),
        trace_state=state,
    )
    return trace.set_span_in_context(NonRecordingSpan(context))


PARENTS: dict[str, Context | None] = {
    "none": None,
    "empty context": Context(),
    "invalid parent": trace.set_span_in_context(trace.INVALID_SPAN),
    "local sampled": _parent(remote=False, sampled=True),
    "local not sampled": _parent(remote=False, sampled=False),
    "remote sampled": _parent(remote=True, sampled=True, state=TraceState([("vendor", "x1")])),
    "remote not sampled": _parent(remote=True, sampled=False, state=TraceState([("v", "2")])),
}


def _as_tuple(result: SamplingResult) -> tuple[object, ...]:
    return result.decision, dict(result.attributes), result.trace_state


@pytest.mark.parametrize("parent", list(PARENTS))
def test_each_parent_gets_the_sdk_default_samplers_decision_attributes_and_state(
    parent: str,
) -> None:
    attributes = {"gen_ai.operation.name": "chat", "n": 3}
    ours = ParentBasedAlwaysOn().should_sample(PARENTS[parent], TRACE_ID, "chat", None,
                                               attributes)
    sdk = ParentBased(ALWAYS_ON).should_sample(PARENTS[parent], TRACE_ID, "chat", None,
                                               attributes)
    assert _as_tuple(ours) == _as_tuple(sdk)


def test_it_describes_itself_as_the_sdk_default() -> None:
    assert ParentBasedAlwaysOn().get_description() == ParentBased(ALWAYS_ON).get_description()


def test_the_current_span_is_the_parent_when_no_context_is_given() -> None:
    provider = TracerProvider(sampler=ParentBasedAlwaysOn())
    tracer = provider.get_tracer("t")
    with trace.use_span(NonRecordingSpan(SpanContext(
        TRACE_ID, 0x00F067AA0BA902B7, is_remote=True, trace_flags=TraceFlags(TraceFlags.DEFAULT),
    ))):
        assert not tracer.start_span("child").is_recording()
    assert tracer.start_span("root").is_recording()


def test_another_sampler_named_in_the_environment_is_left_to_the_sdk(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OTEL_TRACES_SAMPLER", raising=False)
    assert isinstance(default_sampler(), ParentBasedAlwaysOn)
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "ParentBased_Always_On")
    assert isinstance(default_sampler(), ParentBasedAlwaysOn)
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_off")
    assert default_sampler() is None
    assert not TracerProvider(sampler=default_sampler()).get_tracer("t").start_span(
        "dropped").is_recording()


def test_the_otlp_provider_the_core_builds_uses_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_TRACES_SAMPLER", raising=False)
    telemetry = configure_otlp("http://127.0.0.1:9", "svc", capture_logging=False,
                               set_global=False)
    try:
        assert isinstance(telemetry.tracer_provider.sampler, ParentBasedAlwaysOn)
    finally:
        telemetry.shutdown()
