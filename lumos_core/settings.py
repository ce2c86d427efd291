"""Model settings: how a model should answer (temperature, token cap, stop sequences, ...).

Given at model, agent and run level and merged in that order; a field left ``None`` is unset and
does not override. Each provider maps the merged settings onto its own wire format.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

from lumos_core.telemetry import semconv as sc


@dataclass(frozen=True, slots=True)
class ModelSettings:
    """Settings for the model calls of a run; ``None`` means "not set here".

    ``tool_choice`` is ``"auto"``, ``"none"``, ``"required"`` or the name of one tool to force;
    ``extra`` holds provider-specific fields, sent as they are in the request body. ``stop`` is
    kept as a tuple.
    """

    temperature: float | None = None
    max_tokens: int | None = None
    top_p: float | None = None
    stop: Sequence[str] | str | None = None
    seed: int | None = None
    tool_choice: str | None = None
    parallel_tool_calls: bool | None = None
    extra: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.temperature is not None and self.temperature < 0:
            raise ValueError("temperature must be 0 or more")
        if self.max_tokens is not None and self.max_tokens < 1:
            raise ValueError("max_tokens must be at least 1")
        if self.top_p is not None and not 0 <= self.top_p <= 1:
            raise ValueError("top_p must be between 0 and 1")
        if isinstance(self.stop, str):
            object.__setattr__(self, "stop", (self.stop,))
        elif self.stop is not None:
            object.__setattr__(self, "stop", tuple(self.stop))
        if self.extra is not None:
            object.__setattr__(self, "extra", dict(self.extra))

    def merged(self, later: ModelSettings | None) -> ModelSettings:
        """These settings with every field ``later`` sets taking its place (``extra`` merged)."""
        if later is None:
            return self
        changes: dict[str, Any] = {}
        for item in fields(later):
            value = getattr(later, item.name)
            if value is None:
                continue
            if item.name == "extra" and self.extra:
                value = {**self.extra, **value}
            changes[item.name] = value
        return replace(self, **changes) if changes else self

    def span_attributes(self) -> dict[str, Any]:
        """The ``gen_ai.request.*`` attributes these settings set."""
        attributes: dict[str, Any] = {}
        if self.temperature is not None:
            attributes[sc.REQUEST_TEMPERATURE] = self.temperature
        if self.max_tokens is not None:
            attributes[sc.REQUEST_MAX_TOKENS] = self.max_tokens
        if self.top_p is not None:
            attributes[sc.REQUEST_TOP_P] = self.top_p
        if self.stop:
            attributes[sc.REQUEST_STOP_SEQUENCES] = list(self.stop)
        if self.seed is not None:
            attributes[sc.REQUEST_SEED] = self.seed
        return attributes


def merge_settings(*levels: ModelSettings | None) -> ModelSettings | None:
    """Merge settings, later levels winning; ``None`` when no level sets anything."""
    merged: ModelSettings | None = None
    for level in levels:
        if level is not None:
            merged = level if merged is None else merged.merged(level)
    if merged is None or merged == _EMPTY:
        return None
    return merged


_EMPTY = ModelSettings()
