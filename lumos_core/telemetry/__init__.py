"""OpenTelemetry plumbing for the core: tracers come from a provider passed in, never hard-wired."""

from __future__ import annotations

import weakref

from opentelemetry import trace

from lumos_core.telemetry import semconv

__all__ = ["get_tracer", "semconv"]

_tracers: weakref.WeakKeyDictionary[trace.TracerProvider, trace.Tracer] = (
    weakref.WeakKeyDictionary()
)


def get_tracer(provider: trace.TracerProvider | None = None) -> trace.Tracer:
    """The core's tracer from ``provider`` (default: the global provider), cached per provider."""
    provider = provider or trace.get_tracer_provider()
    tracer = _tracers.get(provider)
    if tracer is None:
        from lumos_core import __version__

        tracer = provider.get_tracer(semconv.INSTRUMENTATION_NAME, __version__)
        # The global proxy hands out a proxy tracer that re-resolves on use, so caching is safe.
        _tracers[provider] = tracer
    return tracer
