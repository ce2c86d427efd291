"""The model a new project starts with: the scripted model (offline) or a provider preset.

Each preset gets a default model name, which ``--model`` overrides; what the wizard and the CLI
say about the key (which variable, set or not) comes from ``lumos_core.models.presets``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Final

from lumos_core.models.presets import PRESETS

SCRIPTED: Final = "scripted"

#: A sensible first model per preset; a project can name any other with ``--model``.
DEFAULT_MODELS: Final[dict[str, str]] = {
    "openai": "gpt-4o-mini",
    "azure-openai": "gpt-4o-mini",
    "anthropic": "claude-sonnet-4-5",
    "gemini": "gemini-2.0-flash",
    "deepseek": "deepseek-chat",
    "qwen": "qwen-plus",
    "zhipu": "glm-4-flash",
    "moonshot": "moonshot-v1-8k",
    "mistral": "mistral-small-latest",
    "groq": "llama-3.3-70b-versatile",
    "openrouter": "openai/gpt-4o-mini",
    "together": "meta-llama/Llama-3.3-70B-Instruct-Turbo",
    "xai": "grok-3-mini",
    "ollama": "llama3.2",
    "vllm": "Qwen/Qwen2.5-7B-Instruct",
    "lmstudio": "local-model",
}


#: What ``--model`` takes: a model id as providers spell them, never code or control characters
#: (it is written into agents.py and README.md).
MODEL_NAME_LIMIT: Final = 200
MODEL_NAME_PATTERN: Final = re.compile(rf"[\w.:/@+-]{{1,{MODEL_NAME_LIMIT}}}")
MODEL_NAME_RULE: Final = (
    f"1 to {MODEL_NAME_LIMIT} letters, digits and . _ - / : @ + (e.g. gpt-4o-mini, "
    "meta-llama/Llama-3.3-70B-Instruct, llama3.2:latest)"
)


def model_name_problem(model_name: str) -> str | None:
    """Why ``model_name`` cannot name a model, or None."""
    if MODEL_NAME_PATTERN.fullmatch(model_name):
        return None
    shown = (repr(model_name) if len(model_name) <= MODEL_NAME_LIMIT
             else f"a name of {len(model_name)} characters")
    return f"{shown} cannot name a model: use {MODEL_NAME_RULE}"


@dataclass(frozen=True, slots=True)
class ProviderChoice:
    """A provider and the model to ask it for; ``key_env`` is the variable holding its key."""

    name: str
    model_name: str
    key_env: str | None
    key_required: bool

    @property
    def model(self) -> str:
        """The ``model=`` string the agents get: ``"scripted"`` or ``"<provider>:<model>"``."""
        return SCRIPTED if self.name == SCRIPTED else f"{self.name}:{self.model_name}"

    @property
    def key_set(self) -> bool:
        return bool(self.key_env and os.environ.get(self.key_env))

    def key_status(self) -> str:
        """One sentence on the key: which variable, and whether this shell has it."""
        if self.name == SCRIPTED:
            return "the scripted model runs offline and needs no key"
        if self.key_env is None:
            return f"{self.name} runs locally and needs no key"
        if self.key_set:
            return f"{self.key_env} holds the key, and it is set"
        if not self.key_required:
            return f"{self.key_env} holds the key if your server wants one (it is not set)"
        return f"{self.key_env} holds the key, and it is not set: export it before chatting"


def provider_names() -> list[str]:
    """Every choice, offline first."""
    return [SCRIPTED, *PRESETS]


def provider_choice(name: str, model_name: str | None = None) -> ProviderChoice:
    """The choice called ``name``; ``KeyError`` when there is none (the caller lists them)."""
    if name == SCRIPTED:
        return ProviderChoice(SCRIPTED, model_name or SCRIPTED, None, False)
    preset = PRESETS[name]
    return ProviderChoice(
        name, model_name or DEFAULT_MODELS.get(name, "model"), preset.api_key_env,
        preset.key_required,
    )
