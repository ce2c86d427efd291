"""Providers by name: ``"deepseek:deepseek-chat"`` is the OpenAI-compatible client pointed at
DeepSeek with ``$DEEPSEEK_API_KEY``. Each preset says which wire format the vendor speaks, where
it lives, and which environment variables hold its key and (to override) its base URL.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal

if TYPE_CHECKING:
    import httpx

    from lumos_core.models._http import HTTPModel, RetryPolicy

__all__ = ["PRESETS", "Preset", "model_from_preset"]

AZURE_API_VERSION: Final = "2024-10-21"


@dataclass(frozen=True, slots=True)
class Preset:
    """One vendor: its wire format, default base URL and environment variables.

    ``api_key_env`` is ``None`` for local servers that need no key; ``key_required=False`` makes
    the key optional (sent when set). ``auth_header`` is ``"Authorization"`` (``Bearer <key>``) or
    a header that carries the bare key (Azure's ``api-key``). ``path_prefix`` goes between the base
    URL and the endpoint (``{model}`` is the model, i.e. Azure's deployment), ``query`` after it.
    """

    name: str
    wire: Literal["openai", "anthropic"]
    base_url: str
    api_key_env: str | None
    base_url_env: str
    provider_name: str
    key_required: bool = True
    auth_header: str = "Authorization"
    path_prefix: str = ""
    query: dict[str, str] = field(default_factory=dict)
    #: Variable that overrides a ``query`` value, by query name (Azure's api-version).
    query_env: dict[str, str] = field(default_factory=dict)

    def query_params(self) -> dict[str, str]:
        """The query string values, environment overrides applied."""
        return {
            name: os.environ.get(self.query_env.get(name, ""), "") or value
            for name, value in self.query.items()
        }


def _openai_compatible(
    name: str, base_url: str, key_env: str | None, provider_name: str = "", **extra: Any
) -> Preset:
    env = name.upper().replace("-", "_")
    return Preset(
        name, "openai", base_url, key_env, f"{env}_BASE_URL", provider_name or name, **extra
    )


#: Every known preset, by the name used before the colon in ``model="<preset>:<model>"``.
PRESETS: Final[dict[str, Preset]] = {
    preset.name: preset
    for preset in (
        _openai_compatible("openai", "https://api.openai.com/v1", "OPENAI_API_KEY"),
        Preset(
            "azure-openai", "openai", "", "AZURE_OPENAI_API_KEY", "AZURE_OPENAI_ENDPOINT",
            "azure.ai.openai", auth_header="api-key", path_prefix="/openai/deployments/{model}",
            query={"api-version": AZURE_API_VERSION},
            query_env={"api-version": "OPENAI_API_VERSION"},
        ),
        Preset("anthropic", "anthropic", "https://api.anthropic.com", "ANTHROPIC_API_KEY",
               "ANTHROPIC_BASE_URL", "anthropic"),
        _openai_compatible(
            "gemini", "https://generativelanguage.googleapis.com/v1beta/openai", "GEMINI_API_KEY",
            "gcp.gemini",
        ),
        _openai_compatible("deepseek", "https://api.deepseek.com/v1", "DEEPSEEK_API_KEY"),
        _openai_compatible(
            "qwen", "https://dashscope.aliyuncs.com/compatible-mode/v1", "DASHSCOPE_API_KEY",
            "dashscope",
        ),
        _openai_compatible(
            "zhipu", "https://open.bigmodel.cn/api/paas/v4", "ZHIPUAI_API_KEY", "zhipuai"
        ),
        _openai_compatible("moonshot", "https://api.moonshot.cn/v1", "MOONSHOT_API_KEY"),
        _openai_compatible("mistral", "https://api.mistral.ai/v1", "MISTRAL_API_KEY",
                           "mistral_ai"),
        _openai_compatible("groq", "https://api.groq.com/openai/v1", "GROQ_API_KEY"),
        _openai_compatible("openrouter", "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY"),
        _openai_compatible("together", "https://api.together.xyz/v1", "TOGETHER_API_KEY"),
        _openai_compatible("xai", "https://api.x.ai/v1", "XAI_API_KEY", "x_ai"),
        _openai_compatible("ollama", "http://localhost:11434/v1", None, key_required=False),
        _openai_compatible("vllm", "http://localhost:8000/v1", "VLLM_API_KEY",
                           key_required=False),
        _openai_compatible("lmstudio", "http://localhost:1234/v1", None, key_required=False),
    )
}


def model_from_preset(
    preset_name: str,
    model_name: str,
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    http_client: httpx.AsyncClient | None = None,
    timeout: float | None = None,
    connect_timeout: float | None = None,
    retry: RetryPolicy | None = None,
) -> HTTPModel:
    """The preset's client for ``model_name``; ``base_url`` beats ``$<PRESET>_BASE_URL`` beats the
    preset's default. Keys are read when a request is made, so agents can be defined without one."""
    preset = PRESETS.get(preset_name)
    if preset is None:
        known = ", ".join(sorted(PRESETS))
        raise ValueError(
            f"unknown provider {preset_name!r}: use one of {known} (or 'scripted'), "
            f"as '<provider>:<model name>'"
        )
    if not model_name:
        raise ValueError(
            f"no model name after {preset_name!r}: write it as '{preset_name}:<model name>'"
        )
    url = base_url or os.environ.get(preset.base_url_env) or preset.base_url
    options: dict[str, Any] = {"api_key": api_key, "base_url": url, "http_client": http_client}
    if timeout is not None:
        options["timeout"] = timeout
    if connect_timeout is not None:
        options["connect_timeout"] = connect_timeout
    if retry is not None:
        options["retry"] = retry
    model: HTTPModel
    if preset.wire == "anthropic":
        from lumos_core.models.anthropic import AnthropicModel

        model = AnthropicModel(model_name, **options)
    else:
        from lumos_core.models.openai import OpenAIChatModel

        model = OpenAIChatModel(model_name, **options)
    model.use_preset(preset, url)
    return model
