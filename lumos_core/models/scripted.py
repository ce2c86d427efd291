"""A deterministic model that needs no key and no network: for demos, tests and benchmarks.

Given a script (a list of replies, or a function of the conversation) it plays that. Without a
script it behaves like a helpful but literal assistant: it calls the tool whose name or description
best matches the user's words, fills the arguments from the message, then answers with the tool's
result.
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import AsyncIterator, Callable, Sequence
from typing import TYPE_CHECKING, Any

from lumos_core.messages import (
    Message,
    ModelResponse,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    Usage,
)
from lumos_core.models.base import (
    Model,
    ModelError,
    ModelStreamEvent,
    request_options,
    response_events,
)

if TYPE_CHECKING:
    from lumos_core.output import OutputSchema
    from lumos_core.settings import ModelSettings

ScriptStep = ModelResponse | Message | str
ScriptFunction = Callable[[Sequence[Message], Sequence[dict[str, Any]]], ScriptStep]

_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
#: A word with the spaces after it (or leading spaces): the chunks concatenate to the text.
_CHUNK = re.compile(r"\S+\s*|\s+")


class ScriptedModel(Model):
    """Replies deterministically; see the module docstring for the default behaviour.

    ``latency`` delays each reply; ``chunk_delay`` paces ``stream``, which sends the text word by
    word, so offline demos show a reply being written. Settings are accepted and ignored; for
    structured output, script a ``final_result`` call (``ScriptedModel.call("final_result",
    ...)``) or the answer's JSON text.
    """

    provider_name = "scripted"

    def __init__(
        self,
        script: Sequence[ScriptStep] | ScriptFunction | None = None,
        *,
        name: str = "scripted",
        latency: float = 0.0,
        chunk_delay: float = 0.0,
        settings: ModelSettings | None = None,
    ) -> None:
        super().__init__(name, settings=settings)
        self._function = script if callable(script) else None
        self._steps = list(script) if script is not None and not callable(script) else None
        self._position = 0
        self.latency = latency
        self.chunk_delay = chunk_delay

    @staticmethod
    def call(tool_name: str, call_id: str | None = None, /, **arguments: Any) -> Message:
        """A scripted reply that calls one tool."""
        part = ToolCallPart(call_id or f"call_{tool_name}", tool_name, arguments)
        return Message("assistant", (part,), finish_reason="tool_calls")

    async def request(
        self,
        instructions: str | None,
        messages: Sequence[Message],
        tools: Sequence[dict[str, Any]],
        *,
        settings: ModelSettings | None = None,
        output: OutputSchema | None = None,
    ) -> ModelResponse:
        if self.latency:
            await asyncio.sleep(self.latency)
        if self._function is not None:
            step = self._function(messages, tools)
        elif self._steps is not None:
            if self._position >= len(self._steps):
                raise ModelError(
                    f"scripted model ran out of replies after {len(self._steps)} steps; "
                    "add more steps to its script"
                )
            step = self._steps[self._position]
            self._position += 1
        else:
            step = _default_reply(messages, tools)
        return self._as_response(step, instructions, messages)

    async def stream(
        self,
        instructions: str | None,
        messages: Sequence[Message],
        tools: Sequence[dict[str, Any]],
        *,
        settings: ModelSettings | None = None,
        output: OutputSchema | None = None,
    ) -> AsyncIterator[ModelStreamEvent]:
        """The reply ``request`` gives (subclasses' too), its text streamed word by word."""
        response = await self.request(
            instructions, messages, tools, **request_options(self, settings, output)
        )
        chunks = _CHUNK.findall(response.message.text)
        for event in response_events(response, chunks):
            if self.chunk_delay:
                await asyncio.sleep(self.chunk_delay)
            yield event

    def _as_response(
        self, step: ScriptStep, instructions: str | None, messages: Sequence[Message]
    ) -> ModelResponse:
        if isinstance(step, ModelResponse):
            return step
        message = Message.assistant(step) if isinstance(step, str) else step
        return ModelResponse(
            message=message,
            usage=Usage(_count_tokens(instructions, messages), _count_tokens(None, [message])),
            model_name=self.model_name,
        )


def _default_reply(messages: Sequence[Message], tools: Sequence[dict[str, Any]]) -> Message:
    last = messages[-1] if messages else Message.user("")
    results = [p for p in last.parts if isinstance(p, ToolResultPart)]
    if results:
        return Message.assistant(_summarise(results))
    user_text = last.text
    chosen = _best_tool(user_text, tools)
    if chosen is None:
        return Message.assistant(f"You said: {user_text}" if user_text else "Hello!")
    arguments = _fill_arguments(user_text, chosen.get("parameters", {}))
    return ScriptedModel.call(chosen["name"], f"call_{len(messages)}_{chosen['name']}", **arguments)


def _summarise(results: list[ToolResultPart]) -> str:
    lines = [f"{r.name} failed: {r.result}" if r.is_error else r.result for r in results]
    return "\n".join(lines)


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text)}


@functools.lru_cache(maxsize=1024)
def _tool_words(name: str, description: str) -> frozenset[str]:
    """A tool's words, made once: every reply looks at every tool's."""
    return frozenset(_words(name.replace("_", " ") + " " + description))


def _best_tool(text: str, tools: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    said = _words(text)
    best, best_score = None, 0
    for candidate in tools:
        described = _tool_words(candidate["name"], candidate["description"])
        score = len(said & described)
        if score > best_score:
            best, best_score = candidate, score
    return best


def _fill_arguments(text: str, schema: dict[str, Any]) -> dict[str, Any]:
    required = set(schema.get("required", []))
    arguments: dict[str, Any] = {}
    for name, prop in schema.get("properties", {}).items():
        if name not in required:
            continue
        kind = prop.get("type")
        if "enum" in prop:
            arguments[name] = prop["enum"][0]
        elif kind in ("integer", "number"):
            numbers = _NUMBER.findall(text)
            value = float(numbers[0]) if numbers else 0
            arguments[name] = int(value) if kind == "integer" else value
        elif kind == "boolean":
            arguments[name] = False
        elif name == "input":  # an agent as a tool: pass it the whole question
            arguments[name] = text
        else:
            arguments[name] = _likely_subject(text)
    return arguments


def _likely_subject(text: str) -> str:
    """The last capitalised word after the first (a name or place), else the last word."""
    words = _WORD.findall(text)
    capitalised = [w for w in words[1:] if w[0].isupper()]
    if capitalised:
        return capitalised[-1]
    return words[-1] if words else text.strip()


def _count_tokens(instructions: str | None, messages: Sequence[Message]) -> int:
    """A stable stand-in for a tokenizer: about one token per word or symbol run."""
    total = len(instructions.split()) if instructions else 0
    for message in messages:
        for part in message.parts:
            if isinstance(part, TextPart):
                total += len(part.content.split())
            elif isinstance(part, ToolCallPart):
                total += 3 + len(part.arguments)
            else:
                total += len(part.result.split())
    return max(total, 1)
