"""LLM providers behind one interface, picked by a short model string."""

from __future__ import annotations

from lumos_core.models.base import (
    Model,
    ModelError,
    ModelHTTPError,
    ModelStreamEvent,
    ResponseCompleted,
    TextDelta,
    ToolCallDelta,
)
from lumos_core.models.scripted import ScriptedModel

__all__ = [
    "Model",
    "ModelError",
    "ModelHTTPError",
    "ModelStreamEvent",
    "ResponseCompleted",
    "ScriptedModel",
    "TextDelta",
    "ToolCallDelta",
    "resolve_model",
]


def resolve_model(model: Model | str) -> Model:
    """Turn ``"scripted"`` or ``"openai:gpt-4o-mini"`` into a provider instance (keys and base
    URLs come from the environment)."""
    if isinstance(model, Model):
        return model
    provider, _, name = model.partition(":")
    if provider == "scripted":
        return ScriptedModel(name=name or "scripted")
    if provider == "openai" and name:
        from lumos_core.models.openai import OpenAIChatModel

        return OpenAIChatModel(name)
    raise ValueError(
        f"unknown model {model!r}: use 'scripted', 'openai:<model name>' or a Model instance"
    )
