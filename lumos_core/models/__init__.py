"""LLM providers behind one interface, picked by a short model string.

Names load on first use (``lumos_core._lazy``): reading ``PRESETS`` (``lumos-studio new``'s
provider list) does not import the HTTP client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lumos_core._lazy import load_export
from lumos_core.models.presets import PRESETS, Preset

if TYPE_CHECKING:
    from lumos_core.models._http import NO_RETRY, RetryPolicy
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

_EXPORTS: dict[str, str] = {
    "NO_RETRY": "lumos_core.models._http",
    "RetryPolicy": "lumos_core.models._http",
    "Model": "lumos_core.models.base",
    "ModelError": "lumos_core.models.base",
    "ModelHTTPError": "lumos_core.models.base",
    "ModelStreamEvent": "lumos_core.models.base",
    "ResponseCompleted": "lumos_core.models.base",
    "TextDelta": "lumos_core.models.base",
    "ToolCallDelta": "lumos_core.models.base",
    "ScriptedModel": "lumos_core.models.scripted",
}

__all__ = [
    "NO_RETRY",
    "PRESETS",
    "Model",
    "ModelError",
    "ModelHTTPError",
    "ModelStreamEvent",
    "Preset",
    "ResponseCompleted",
    "RetryPolicy",
    "ScriptedModel",
    "TextDelta",
    "ToolCallDelta",
    "resolve_model",
]


def resolve_model(model: Model | str, **options: Any) -> Model:
    """Turn ``"scripted"`` or ``"<provider>:<model name>"`` (``"openai:gpt-4o-mini"``,
    ``"deepseek:deepseek-chat"``, ``"ollama:llama3.2"``, see ``PRESETS``) into a model instance.

    Keys and base URLs come from the preset's environment variables unless ``options`` give
    ``api_key=``, ``base_url=``, ``timeout=``, ``connect_timeout=``, ``retry=`` or
    ``http_client=``."""
    from lumos_core.models.base import Model
    from lumos_core.models.presets import model_from_preset
    from lumos_core.models.scripted import ScriptedModel

    if isinstance(model, Model):
        return model
    provider, colon, name = model.partition(":")
    if provider == "scripted":
        return ScriptedModel(name=name or "scripted")
    if not colon:
        raise ValueError(
            f"unknown model {model!r}: use 'scripted', '<provider>:<model name>' with a provider "
            f"among {', '.join(sorted(PRESETS))}, or a Model instance"
        )
    return model_from_preset(provider, name, **options)


def __getattr__(name: str) -> object:
    return load_export(globals(), _EXPORTS, name)
