"""Ingest: every way spans and logs arrive, converted into records and handed to the one writer.

Every name is imported on first use (``lumos_core._lazy``): the OTLP receiver, which the studio
starts before its first frame, needs none of the OTel SDK these load.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lumos_core._lazy import load_export

if TYPE_CHECKING:
    from lumos_studio.ingest.log_processor import StudioLogProcessor
    from lumos_studio.ingest.processor import StudioSpanProcessor
    from lumos_studio.ingest.providers import studio_logger_provider, studio_tracer_provider

_EXPORTS = {
    "StudioLogProcessor": "lumos_studio.ingest.log_processor",
    "StudioSpanProcessor": "lumos_studio.ingest.processor",
    "studio_logger_provider": "lumos_studio.ingest.providers",
    "studio_tracer_provider": "lumos_studio.ingest.providers",
}

__all__ = [
    "StudioLogProcessor",
    "StudioSpanProcessor",
    "studio_logger_provider",
    "studio_tracer_provider",
]


def __getattr__(name: str) -> object:
    return load_export(globals(), _EXPORTS, name)
