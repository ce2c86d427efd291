"""GenAI client metrics: token usage and operation duration of each model call, read back with
the SDK's InMemoryMetricReader; nothing is measured when no MeterProvider is set."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
from opentelemetry import metrics

from lumos_core import Agent, ModelHTTPError, ScriptedModel, configure, tool
from lumos_core.models.openai import OpenAIChatModel
from lumos_core.telemetry import semconv as sc
from lumos_core.telemetry.metrics import (
    DURATION_BUCKETS,
    OPERATION_DURATION,
    TOKEN_BUCKETS,
    TOKEN_USAGE,
    client_instruments,
)
from lumos_core.testing import CapturedMetrics
from tests.core.provider_server import ProviderServer, running_server
from tests.core.test_openai_model import completion

TOKEN_TYPE = "gen_ai.token.type"


@tool
def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"Sunny in {city}"


@pytest.fixture
def server() -> Iterator[ProviderServer]:
    with running_server() as state:
        yield state


def test_without_a_meter_provider_nothing_is_measured() -> None:
    assert not isinstance(metrics.get_meter_provider(), metrics.NoOpMeterProvider)  # the proxy
    assert client_instruments() is None
    model = ScriptedModel([ScriptedModel.call("get_weather", city="Paris"), "Sunny."])
    assert Agent("weather", "", model, tools=[get_weather]).run_sync("weather?").output == "Sunny."
    proxy_meters = getattr(metrics.get_meter_provider(), "_meters", [])
    assert all(meter.name != "lumos_core" for meter in proxy_meters)  # never even asked


def test_each_model_call_records_its_tokens_and_duration(
    captured_metrics: CapturedMetrics,
) -> None:
    model = ScriptedModel([ScriptedModel.call("get_weather", city="Paris"), "Sunny in Paris."])
    result = Agent("weather", "Answer.", model, tools=[get_weather]).run_sync("weather?")
    [duration] = captured_metrics.points(OPERATION_DURATION)
    assert duration.count == 2  # two chat calls; the tool call is not a client operation
    assert dict(duration.attributes or {}) == {
        sc.OPERATION_NAME: "chat", sc.PROVIDER_NAME: "scripted", sc.REQUEST_MODEL: "scripted",
        sc.RESPONSE_MODEL: "scripted",
    }
    assert list(duration.explicit_bounds) == list(DURATION_BUCKETS)
    assert 0 < duration.sum < 5
    tokens = captured_metrics.points(TOKEN_USAGE)
    assert sorted(dict(p.attributes or {})[TOKEN_TYPE] for p in tokens) == ["input", "output"]
    assert all(p.count == 2 and list(p.explicit_bounds) == list(TOKEN_BUCKETS) for p in tokens)
    assert captured_metrics.sum(TOKEN_USAGE, gen_ai__token__type="input") == (
        result.usage.input_tokens)
    assert captured_metrics.sum(TOKEN_USAGE, gen_ai__token__type="output") == (
        result.usage.output_tokens)


def test_a_remote_model_adds_its_server_and_response_model(
    server: ProviderServer, captured_metrics: CapturedMetrics
) -> None:
    server.reply(completion("Hi.", prompt_tokens=12, completion_tokens=3))
    model = OpenAIChatModel("gpt-4o-mini", api_key="sk-test", base_url=f"{server.origin}/v1")
    Agent("greeter", "Greet.", model).run_sync("hello")
    [duration] = captured_metrics.points(OPERATION_DURATION)
    assert dict(duration.attributes or {}) == {
        sc.OPERATION_NAME: "chat", sc.PROVIDER_NAME: "openai", sc.REQUEST_MODEL: "gpt-4o-mini",
        sc.RESPONSE_MODEL: "gpt-4o-mini-2024-07-18",
        sc.SERVER_ADDRESS: "127.0.0.1", sc.SERVER_PORT: server.port,
    }
    assert captured_metrics.sum(TOKEN_USAGE, gen_ai__token__type="input") == 12
    assert captured_metrics.sum(TOKEN_USAGE, gen_ai__token__type="output") == 3


def test_a_failed_call_records_its_duration_with_the_error_type_and_no_tokens(
    server: ProviderServer, captured_metrics: CapturedMetrics
) -> None:
    server.reply({"error": {"message": "bad request"}}, status=400)
    model = OpenAIChatModel("gpt-4o-mini", api_key="sk-test", base_url=f"{server.origin}/v1")
    with pytest.raises(ModelHTTPError):
        Agent("greeter", "Greet.", model).run_sync("hello")
    [duration] = captured_metrics.points(OPERATION_DURATION)
    assert duration.count == 1
    assert dict(duration.attributes or {})[sc.ERROR_TYPE] == "ModelHTTPError"
    assert captured_metrics.points(TOKEN_USAGE) == []


def test_streamed_runs_are_measured_too(captured_metrics: CapturedMetrics) -> None:
    agent = Agent("echo", "Echo.", ScriptedModel(["one two three"]))
    events = list(agent.stream_sync("hi"))
    assert events[-1].result.output == "one two three"  # type: ignore[union-attr]
    [duration] = captured_metrics.points(OPERATION_DURATION)
    assert duration.count == 1
    assert captured_metrics.sum(TOKEN_USAGE, gen_ai__token__type="output") > 0


def test_configure_sends_the_metrics_to_a_meter_provider() -> None:
    captured = CapturedMetrics()
    configure(meter_provider=captured.provider)
    try:
        Agent("echo", "Echo.", ScriptedModel(["ok"])).run_sync("hi")
    finally:
        configure(meter_provider=None)
    assert captured.points(OPERATION_DURATION)[0].count == 1
    Agent("echo", "Echo.", ScriptedModel(["ok"])).run_sync("hi")  # no longer recorded there
    assert captured.points(OPERATION_DURATION)[0].count == 1
    captured.shutdown()


def test_the_global_meter_provider_is_used_once_set() -> None:
    """In a fresh interpreter: nothing before ``set_meter_provider``, recorded after it."""
    code = """
from opentelemetry import metrics
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from lumos_core import Agent, ScriptedModel

agent = Agent("echo", "Echo.", ScriptedModel(["one", "two"]))
agent.run_sync("hi")
reader = InMemoryMetricReader()
metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
agent.run_sync("hi")
data = reader.get_metrics_data().resource_metrics[0].scope_metrics[0]
print(data.scope.name, sorted((m.name, m.data.data_points[0].count) for m in data.metrics))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "lumos_core [('gen_ai.client.operation.duration', 1), "
        "('gen_ai.client.token.usage', 1)]")
