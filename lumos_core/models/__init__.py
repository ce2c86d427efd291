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
    """Turn ``"scripted"``, ``"openai:gpt-4o-mini"`` or ``"anthropic:claude-sonnet-4-5"`` into a
    provider instance (keys and base URLs come from the environment)."""
    if isinstance(model, Model):
        return model
    provider, _, name = model.partition(":")
    if provider == "scripted":
        return ScriptedModel(name=name or "scripted")
    if provider == "openai" and name:
        from lumos_core.models.openai import OpenAIChatModel

        return OpenAIChatModel(name)
    if provider == "anthropic" and name:
        from lumos_core.models.anthropic import AnthropicModel

        return AnthropicModel(name)
    raise ValueError(
        f"unknown model {model!r}: use 'scripted', 'openai:<model name>', "
        "'anthropic:<model name>' or a Model instance"
    )
