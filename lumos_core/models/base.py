"""The one interface every LLM provider implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from lumos_core.messages import Message, ModelResponse


class ModelError(Exception):
    """A provider failed; the message says what happened and what to do about it."""


class ModelHTTPError(ModelError):
    """The provider answered with an HTTP error status."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code


class Model(ABC):
    """An LLM behind a provider. Subclasses implement ``request``; one file per vendor."""

    #: Value of ``gen_ai.provider.name``.
    provider_name: str = "unknown"

    def __init__(self, model_name: str) -> None:
        self.model_name = model_name

    @abstractmethod
    async def request(
        self,
        instructions: str | None,
        messages: Sequence[Message],
        tools: Sequence[dict[str, Any]],
    ) -> ModelResponse:
        """Send the conversation (and the tools on offer) and return the model's reply."""

    def server_attributes(self) -> dict[str, Any]:
        """``server.address``/``server.port`` for remote providers; nothing for local ones."""
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model_name!r})"
