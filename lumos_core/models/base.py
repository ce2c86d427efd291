"""The one interface every LLM provider implements, and the events a streamed reply is made of."""

from __future__ import annotations

import functools
import inspect
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import orjson

from lumos_core.messages import Message, ModelResponse, TextPart, ToolCallPart

if TYPE_CHECKING:
    from lumos_core.output import OutputSchema
    from lumos_core.settings import ModelSettings


class ModelError(Exception):
    """A provider failed; the message says what happened and what to do about it."""


class ModelHTTPError(ModelError):
    """The provider answered with an HTTP error status."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of the model's answer text, as it arrives; the pieces concatenate to the text."""

    content: str


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    """A piece of a tool call the model is writing.

    The first delta of a call (per ``index``) carries its ``id`` and ``name``; ``arguments`` are
    fragments of the arguments' JSON text that concatenate to the whole.
    """

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


@dataclass(frozen=True, slots=True)
class ResponseCompleted:
    """The last event of every model stream: the whole reply, assembled, with its usage."""

    response: ModelResponse


ModelStreamEvent = TextDelta | ToolCallDelta | ResponseCompleted


class Model(ABC):
    """An LLM behind a provider. Subclasses implement ``request``; one file per vendor.

    ``stream`` works for every model: without an override it sends ``request`` and replays the
    reply as one text chunk, so callers never need to know whether a provider truly streams.

    The agent passes ``settings`` (already merged with the model's own ``settings``) and
    ``output`` only when they are set, so a model that ignores both may leave them out of its
    signature.
    """

    #: Value of ``gen_ai.provider.name``.
    provider_name: str = "unknown"
    #: True when the provider takes a JSON schema for the answer (``output`` in ``request``);
    #: otherwise structured output travels as a ``final_result`` tool call.
    native_output: ClassVar[bool] = False
    #: Settings for every request of this model (agent and run settings override them).
    settings: ModelSettings | None = None

    def __init__(self, model_name: str, *, settings: ModelSettings | None = None) -> None:
        self.model_name = model_name
        self.settings = settings

    @abstractmethod
    async def request(
        self,
        instructions: str | None,
        messages: Sequence[Message],
        tools: Sequence[dict[str, Any]],
        *,
        settings: ModelSettings | None = None,
        output: OutputSchema | None = None,
    ) -> ModelResponse:
        """Send the conversation (and the tools on offer) and return the model's reply."""

    async def stream(
        self,
        instructions: str | None,
        messages: Sequence[Message],
        tools: Sequence[dict[str, Any]],
        *,
        settings: ModelSettings | None = None,
        output: OutputSchema | None = None,
    ) -> AsyncIterator[ModelStreamEvent]:
        """Like ``request``, but yield the reply as it arrives; the last event holds all of it."""
        extra = request_options(self, settings, output)
        response = await self.request(instructions, messages, tools, **extra)
        for event in response_events(response):
            yield event

    def effective_settings(self, settings: ModelSettings | None) -> ModelSettings | None:
        """The model's own settings with ``settings`` over them."""
        if self.settings is None:
            return settings
        return self.settings.merged(settings)

    def server_attributes(self) -> dict[str, Any]:
        """``server.address``/``server.port`` for remote providers; nothing for local ones."""
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model_name!r})"


def response_events(
    response: ModelResponse, chunks: Iterable[str] | None = None
) -> Iterator[ModelStreamEvent]:
    """A finished reply as stream events: its text (whole, or as ``chunks``), its tool calls, then
    ``ResponseCompleted``. For models that answer at once but should look like any stream."""
    message = response.message
    if chunks is None:
        chunks = [p.content for p in message.parts if isinstance(p, TextPart) and p.content]
    for chunk in chunks:
        yield TextDelta(chunk)
    for index, call in enumerate(message.tool_calls):
        yield ToolCallDelta(index, call.id, call.name, _arguments_json(call))
    yield ResponseCompleted(response)


def request_options(
    model: Model,
    settings: ModelSettings | None,
    output: OutputSchema | None,
    method: str = "request",
) -> dict[str, Any]:
    """``settings``/``output`` as keyword arguments for ``model.<method>``: only those that are
    set and that its signature takes, so models written before either existed keep working."""
    if settings is None and output is None:
        return {}
    accepted = _keywords(type(model), method)
    extra: dict[str, Any] = {}
    if settings is not None and "settings" in accepted:
        extra["settings"] = settings
    if output is not None and "output" in accepted:
        extra["output"] = output
    return extra


@functools.cache
def _keywords(model_type: type[Model], method: str) -> frozenset[str]:
    parameters = inspect.signature(getattr(model_type, method)).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return frozenset({"settings", "output"})
    return frozenset(p.name for p in parameters)


def _arguments_json(call: ToolCallPart) -> str:
    return orjson.dumps(call.arguments).decode()
