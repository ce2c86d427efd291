"""OpenTelemetry plumbing for the core: tracers and loggers come from providers passed in.

A provider passed to ``Agent.run`` must also reach what the run calls (memory, retrieval, an agent
used as a tool), so a run *activates* its providers in context variables: ``get_tracer()`` and
``get_logger()`` without an argument use the active provider, then the global one.

The names load on first use (``lumos_core._lazy``): ``semconv``, the attribute names, is read by
modules that never trace (the store, ``lumos-studio show``) and imports no OpenTelemetry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lumos_core._lazy import load_export

if TYPE_CHECKING:
    from lumos_core.telemetry.content import ContentCapture, capture_content
    from lumos_core.telemetry.providers import (
        activate_providers,
        active_tracer_provider,
        configure,
        get_logger,
        get_tracer,
        reset_providers,
    )

_EXPORTS: dict[str, str] = {
    "ContentCapture": "lumos_core.telemetry.content",
    "capture_content": "lumos_core.telemetry.content",
    "activate_providers": "lumos_core.telemetry.providers",
    "active_tracer_provider": "lumos_core.telemetry.providers",
    "configure": "lumos_core.telemetry.providers",
    "get_logger": "lumos_core.telemetry.providers",
    "get_tracer": "lumos_core.telemetry.providers",
    "reset_providers": "lumos_core.telemetry.providers",
}

__all__ = [
    "ContentCapture",
    "activate_providers",
    "active_tracer_provider",
    "capture_content",
    "configure",
    "get_logger",
    "get_tracer",
    "reset_providers",
    "semconv",
]


def __getattr__(name: str) -> object:
    return load_export(globals(), _EXPORTS, name)
