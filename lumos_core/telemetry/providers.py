"""The core's tracers and loggers, from providers passed in or active in the context (the
package's docstring says why), and ``configure``."""

from __future__ import annotations

import weakref
from contextvars import ContextVar, Token
from enum import Enum

from opentelemetry import _logs, trace
from opentelemetry.metrics import MeterProvider

from lumos_core.telemetry import semconv
from lumos_core.telemetry.content import ContentCapture, set_capture_content
from lumos_core.telemetry.metrics import set_meter_provider

__all__ = [
    "activate_providers",
    "active_tracer_provider",
    "configure",
    "get_logger",
    "get_tracer",
    "reset_providers",
]


class _Keep(Enum):
    KEEP = "keep"


_KEEP = _Keep.KEEP


def configure(
    *,
    capture_content: bool | ContentCapture | _Keep | None = _KEEP,
    meter_provider: MeterProvider | _Keep | None = _KEEP,
) -> None:
    """Process-wide telemetry choices; an argument left out keeps its current value.

    ``capture_content``: record message content (prompts, answers, tool arguments and results,
    memory text) in spans and log records; ``None`` goes back to
    ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``, else on (``telemetry.content``).
    ``meter_provider``: where the GenAI client metrics go (``None``: the global provider).
    """
    if capture_content is not _KEEP:
        set_capture_content(capture_content)
    if meter_provider is not _KEEP:
        set_meter_provider(meter_provider)

_tracers: weakref.WeakKeyDictionary[trace.TracerProvider, trace.Tracer] = (
    weakref.WeakKeyDictionary()
)
_loggers: weakref.WeakKeyDictionary[_logs.LoggerProvider, _logs.Logger] = (
    weakref.WeakKeyDictionary()
)
_active_tracer_provider: ContextVar[trace.TracerProvider | None] = ContextVar(
    "lumos_tracer_provider", default=None
)
_active_logger_provider: ContextVar[_logs.LoggerProvider | None] = ContextVar(
    "lumos_logger_provider", default=None
)

_ProviderTokens = tuple[
    Token[trace.TracerProvider | None] | None, Token[_logs.LoggerProvider | None] | None
]


def active_tracer_provider() -> trace.TracerProvider:
    """The provider ``get_tracer()`` would use: the active one, else the global one."""
    return _active_tracer_provider.get() or trace.get_tracer_provider()


def get_tracer(provider: trace.TracerProvider | None = None) -> trace.Tracer:
    """The core's tracer from ``provider`` (default: the active, then the global provider)."""
    provider = provider or _active_tracer_provider.get() or trace.get_tracer_provider()
    tracer = _tracers.get(provider)
    if tracer is None:
        from lumos_core import __version__

        tracer = provider.get_tracer(semconv.INSTRUMENTATION_NAME, __version__)
        # The global proxy hands out a proxy tracer that re-resolves on use, so caching is safe.
        _tracers[provider] = tracer
    return tracer


def get_logger(provider: _logs.LoggerProvider | None = None) -> _logs.Logger:
    """The core's OTel logger (for events such as ``lumos.memory.*``), like ``get_tracer``."""
    provider = provider or _active_logger_provider.get() or _logs.get_logger_provider()
    logger = _loggers.get(provider)
    if logger is None:
        from lumos_core import __version__

        logger = provider.get_logger(semconv.INSTRUMENTATION_NAME, __version__)
        _loggers[provider] = logger
    return logger


def activate_providers(
    tracer_provider: trace.TracerProvider | None = None,
    logger_provider: _logs.LoggerProvider | None = None,
) -> _ProviderTokens:
    """Make the given providers the default for code running in this context; ``None`` keeps
    whatever is active. Undo with ``reset_providers(tokens)``."""
    return (
        _active_tracer_provider.set(tracer_provider) if tracer_provider is not None else None,
        _active_logger_provider.set(logger_provider) if logger_provider is not None else None,
    )


def reset_providers(tokens: _ProviderTokens) -> None:
    """Restore the providers active before ``activate_providers``."""
    tracer_token, logger_token = tokens
    if tracer_token is not None:
        _active_tracer_provider.reset(tracer_token)
    if logger_token is not None:
        _active_logger_provider.reset(logger_token)
