"""GenAI client metrics kept in memory for a test to read (``captured_metrics``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader

from lumos_core.telemetry import metrics as client_metrics

__all__ = ["CapturedMetrics"]


class CapturedMetrics:
    """A ``MeterProvider`` read by an ``InMemoryMetricReader``; inside ``active()`` the core
    records its ``gen_ai.client.*`` histograms into it."""

    def __init__(self) -> None:
        self.reader = InMemoryMetricReader()
        self.provider = MeterProvider(metric_readers=[self.reader])

    @contextmanager
    def active(self) -> Iterator[CapturedMetrics]:
        """Model calls in this process record here until the block ends."""
        client_metrics.set_meter_provider(self.provider)
        try:
            yield self
        finally:
            client_metrics.set_meter_provider(None)

    def points(self, name: str) -> list[HistogramDataPoint]:
        """The data points of histogram ``name`` so far, one per attribute set."""
        data = self.reader.get_metrics_data()
        found: list[HistogramDataPoint] = []
        for resource in data.resource_metrics if data is not None else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == name:
                        found.extend(p for p in metric.data.data_points
                                     if isinstance(p, HistogramDataPoint))
        return found

    def sum(self, name: str, **attributes: Any) -> float:
        """The sum of ``name`` over the points whose attributes include ``attributes``
        (dots in keys written as ``__``: ``gen_ai__token__type="input"``)."""
        wanted = {k.replace("__", "."): v for k, v in attributes.items()}
        return sum(p.sum for p in self.points(name)
                   if all(dict(p.attributes or {}).get(k) == v for k, v in wanted.items()))

    def shutdown(self) -> None:
        self.provider.shutdown()
