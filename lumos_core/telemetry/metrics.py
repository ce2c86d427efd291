"""The GenAI client metrics: tokens used and time taken by each model call.

``gen_ai.client.token.usage`` and ``gen_ai.client.operation.duration``, histograms with the
conventions' attributes and bucket advice, through the OTel metrics API: the MeterProvider given
to ``lumos_core.configure(meter_provider=...)``, else the global one. With neither set, a model
call pays one check and nothing is measured.
"""

from __future__ import annotations

import os
import time
import weakref
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from opentelemetry import metrics
from opentelemetry.environment_variables import OTEL_PYTHON_METER_PROVIDER
from opentelemetry.metrics import Histogram, MeterProvider, NoOpMeterProvider
from opentelemetry.metrics import _internal as _metrics_api
from opentelemetry.metrics._internal import _ProxyMeterProvider

from lumos_core.telemetry import semconv as sc

if TYPE_CHECKING:
    from lumos_core.messages import ModelResponse
    from lumos_core.models import Model

TOKEN_USAGE: Final = sc.METRIC_CLIENT_TOKEN_USAGE
OPERATION_DURATION: Final = sc.METRIC_CLIENT_OPERATION_DURATION
TOKEN_TYPE: Final = sc.TOKEN_TYPE
TOKEN_TYPE_INPUT: Final = "input"
TOKEN_TYPE_OUTPUT: Final = "output"
#: The conventions' advice: powers of 4 from 1 token to 64 Mi tokens.
TOKEN_BUCKETS: Final = (
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
)
#: The conventions' advice: doubling from 10 ms to about 82 s.
DURATION_BUCKETS: Final = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)


@dataclass(frozen=True, slots=True)
class ClientInstruments:
    """The two histograms from one MeterProvider."""

    token_usage: Histogram
    duration: Histogram

    @classmethod
    def create(cls, provider: MeterProvider) -> ClientInstruments:
        from lumos_core import __version__

        meter = provider.get_meter(sc.INSTRUMENTATION_NAME, __version__)
        return cls(
            token_usage=meter.create_histogram(
                TOKEN_USAGE, unit="{token}", description="Number of input and output tokens used.",
                explicit_bucket_boundaries_advisory=TOKEN_BUCKETS,
            ),
            duration=meter.create_histogram(
                OPERATION_DURATION, unit="s", description="GenAI operation duration.",
                explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
            ),
        )


_configured: MeterProvider | None = None
_instruments: weakref.WeakKeyDictionary[MeterProvider, ClientInstruments] = (
    weakref.WeakKeyDictionary()
)


def set_meter_provider(provider: MeterProvider | None) -> None:
    """The MeterProvider the core records into (``None``: the global one, if set)."""
    global _configured
    _configured = provider


_UNKNOWN: Final = object()
#: A provider named by the variable is made by the API at its first ``get_meter_provider``.
_NAMED_BY_ENVIRONMENT: Final = OTEL_PYTHON_METER_PROVIDER in os.environ


def _global_provider() -> MeterProvider | None:
    """The global MeterProvider, read without the API's per-call environment lookup (this runs
    on every model call); ``None`` while none is set."""
    provider = getattr(_metrics_api, "_METER_PROVIDER", _UNKNOWN)
    if provider is None and not _NAMED_BY_ENVIRONMENT:
        return None
    if isinstance(provider, MeterProvider):
        return provider
    return metrics.get_meter_provider()  # another API version, or one named by the variable


def client_instruments() -> ClientInstruments | None:
    """The histograms to record into, or ``None`` when no MeterProvider is set."""
    provider = _configured or _global_provider()
    if provider is None or isinstance(provider, (_ProxyMeterProvider, NoOpMeterProvider)):
        return None
    found = _instruments.get(provider)
    if found is None:
        found = _instruments[provider] = ClientInstruments.create(provider)
    return found


async def measured_chat(model: Model, call: Awaitable[ModelResponse]) -> ModelResponse:
    """Await one model call, recording its duration (with ``error.type`` when it fails) and, once
    answered, its input and output tokens."""
    instruments = client_instruments()
    if instruments is None:
        return await call
    started = time.perf_counter()
    attributes: dict[str, Any] = {
        sc.OPERATION_NAME: sc.OP_CHAT,
        sc.PROVIDER_NAME: model.provider_name,
        sc.REQUEST_MODEL: model.model_name,
        **model.server_attributes(),
    }
    try:
        response = await call
    except BaseException as exc:
        attributes[sc.ERROR_TYPE] = type(exc).__qualname__
        instruments.duration.record(time.perf_counter() - started, attributes)
        raise
    if response.model_name:
        attributes[sc.RESPONSE_MODEL] = response.model_name
    instruments.duration.record(time.perf_counter() - started, attributes)
    usage = response.usage
    instruments.token_usage.record(
        usage.input_tokens, {**attributes, TOKEN_TYPE: TOKEN_TYPE_INPUT}
    )
    instruments.token_usage.record(
        usage.output_tokens, {**attributes, TOKEN_TYPE: TOKEN_TYPE_OUTPUT}
    )
    return response
