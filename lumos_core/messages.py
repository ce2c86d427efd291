"""Conversation messages, shaped like the GenAI semantic conventions' message JSON.

Frozen dataclasses inside the core; ``to_otel`` gives the role + parts JSON the conventions
specify for ``gen_ai.input.messages`` / ``gen_ai.output.messages``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from operator import is_
from typing import Any, Literal

import orjson

Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True, slots=True)
class TextPart:
    """Plain text from a user or a model."""

    content: str

    def to_otel(self) -> dict[str, Any]:
        return {"type": "text", "content": self.content}


@dataclass(frozen=True, slots=True)
class ToolCallPart:
    """A model asking for a tool to be called."""

    id: str
    name: str
    arguments: dict[str, Any]

    def to_otel(self) -> dict[str, Any]:
        return {"type": "tool_call", "id": self.id, "name": self.name, "arguments": self.arguments}


@dataclass(frozen=True, slots=True)
class ToolResultPart:
    """What a tool returned (or why it failed), sent back to the model."""

    id: str
    name: str
    result: str
    is_error: bool = False

    def to_otel(self) -> dict[str, Any]:
        return {"type": "tool_call_response", "id": self.id, "response": self.result}


Part = TextPart | ToolCallPart | ToolResultPart


@dataclass(frozen=True, slots=True)
class Message:
    """One turn of a conversation."""

    role: Role
    parts: tuple[Part, ...]
    finish_reason: str | None = None

    @classmethod
    def user(cls, text: str) -> Message:
        return cls("user", (TextPart(text),))

    @classmethod
    def assistant(cls, text: str) -> Message:
        return cls("assistant", (TextPart(text),), finish_reason="stop")

    @property
    def text(self) -> str:
        """All text parts joined; empty when the message holds only tool calls."""
        return "".join(p.content for p in self.parts if isinstance(p, TextPart))

    @property
    def tool_calls(self) -> list[ToolCallPart]:
        return [p for p in self.parts if isinstance(p, ToolCallPart)]

    def to_otel(self) -> dict[str, Any]:
        data: dict[str, Any] = {"role": self.role, "parts": [p.to_otel() for p in self.parts]}
        if self.finish_reason is not None:
            data["finish_reason"] = self.finish_reason
        return data


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts of one or more model calls."""

    input_tokens: int = 0
    output_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens, self.output_tokens + other.output_tokens
        )

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True, slots=True)
class ModelResponse:
    """What a model answered to one request."""

    message: Message
    usage: Usage = field(default_factory=Usage)
    model_name: str | None = None
    response_id: str | None = None


def messages_json(messages: list[Message] | tuple[Message, ...]) -> str:
    """Serialise messages to the conventions' JSON string attribute value."""
    return orjson.dumps([m.to_otel() for m in messages]).decode()


class MessagesJson:
    """``messages_json`` for one run's messages, each serialised once: a run sends its growing
    conversation to every model call, so each call's input would otherwise encode all of it
    again. Gives the same string as ``messages_json``, and the very string of the call before
    for the same messages (a run's input is its first call's, its output its last call's)."""

    __slots__ = ("_encoded", "_last")

    def __init__(self) -> None:
        # By id, with the message itself: kept alive, so an id is never another message's.
        self._encoded: dict[int, tuple[Message, bytes]] = {}
        self._last: tuple[tuple[Message, ...], str] = ((), "[]")

    def __call__(self, messages: list[Message] | tuple[Message, ...]) -> str:
        last_messages, last_text = self._last
        if len(messages) == len(last_messages) and all(map(is_, messages, last_messages)):
            return last_text
        encoded = self._encoded
        parts = []
        for message in messages:
            known = encoded.get(id(message))
            if known is None or known[0] is not message:
                known = encoded[id(message)] = (message, orjson.dumps(message.to_otel()))
            parts.append(known[1])
        text = (b"[" + b",".join(parts) + b"]").decode()
        self._last = (tuple(messages), text)
        return text


def instructions_json(instructions: str) -> str:
    """Serialise system instructions as the conventions' parts array."""
    return orjson.dumps([{"type": "text", "content": instructions}]).decode()


def message_to_dict(message: Message) -> dict[str, Any]:
    """A lossless JSON form (the conventions' shape plus tool names and error flags)."""
    data = message.to_otel()
    for part, out in zip(message.parts, data["parts"], strict=True):
        if isinstance(part, ToolResultPart):
            out["name"] = part.name
            if part.is_error:
                out["is_error"] = True
    return data


def message_from_dict(data: dict[str, Any]) -> Message:
    """Inverse of ``message_to_dict``; also reads plain GenAI-conventions messages."""
    parts: list[Part] = []
    for part in data.get("parts", []):
        kind = part.get("type")
        if kind == "text":
            parts.append(TextPart(str(part.get("content", ""))))
        elif kind == "tool_call":
            parts.append(ToolCallPart(part["id"], part["name"], dict(part.get("arguments") or {})))
        elif kind == "tool_call_response":
            response = part.get("response", "")
            parts.append(
                ToolResultPart(
                    part["id"],
                    part.get("name", ""),
                    response if isinstance(response, str) else orjson.dumps(response).decode(),
                    bool(part.get("is_error", False)),
                )
            )
    return Message(data["role"], tuple(parts), data.get("finish_reason"))
