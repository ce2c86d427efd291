"""A saved trace read for replay: each agent's model calls, tool calls and turns, and what its
memory showed the model in each turn."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from lumos_core.messages import Message, ModelResponse, Usage, message_from_dict
from lumos_core.output import FINAL_RESULT_TOOL
from lumos_core.telemetry import semconv as sc
from lumos_core.testing.otlp_json import SpanLike
from lumos_core.testing.recorded_memory import RecordedMemoryTurn, working_memory_in
from lumos_core.testing.recorded_toolsets import (
    RecordedToolDefinition,
    toolset_tool_definitions,
)
from lumos_core.tools import ToolOutcome

__all__ = ["RecordedChat", "RecordedToolCall", "RecordedTrace", "RecordedTurn"]


@dataclass(frozen=True, slots=True)
class RecordedChat:
    """One model call: what was sent and what came back."""

    span_id: str
    instructions: str | None
    messages: list[dict[str, Any]] | None
    response: ModelResponse


@dataclass(frozen=True, slots=True)
class RecordedToolCall:
    """One tool call: its arguments and the outcome the model got back."""

    span_id: str
    name: str
    arguments: Any
    outcome: ToolOutcome


@dataclass(frozen=True, slots=True)
class RecordedTurn:
    """One ``Agent.run``: the user's message, the history before it, the answer."""

    span_id: str
    agent_name: str
    message: str
    history: tuple[Message, ...]
    output: str | None
    thread_id: str | None
    resource_id: str | None = None


class RecordedTrace:
    """Saved spans in start order, with each span's agent (its nearest ``invoke_agent``)."""

    def __init__(self, spans: Iterable[SpanLike]) -> None:
        self.spans: list[SpanLike] = sorted(spans, key=lambda s: (s.start_ns, s.span_id))
        by_id = {(s.trace_id, s.span_id): s for s in self.spans}
        self._owner: dict[str, str | None] = {}
        self._turn_of: dict[str, str | None] = {}
        for span in self.spans:
            owner: str | None = None
            turn: str | None = None
            parent: SpanLike | None = span
            while parent is not None:
                if parent is not span and _op(parent) == sc.OP_INVOKE_AGENT:
                    owner = parent.attributes.get(sc.AGENT_NAME)
                    turn = parent.span_id
                    break
                parent = by_id.get((parent.trace_id, parent.parent_span_id or ""))
            self._owner[span.span_id] = owner
            self._turn_of[span.span_id] = turn

    @property
    def agent_names(self) -> list[str]:
        """Agents that ran, in start order (the first, the outermost, is the default to replay)."""
        names: list[str] = []
        for span in self.spans:
            name = span.attributes.get(sc.AGENT_NAME)
            if _op(span) == sc.OP_INVOKE_AGENT and name and name not in names:
                names.append(name)
        return names

    def _of(self, operation: str, agent_name: str) -> list[SpanLike]:
        return [s for s in self.spans
                if _op(s) == operation and self._owner[s.span_id] == agent_name]

    def has_content(self, agent_name: str) -> bool:
        """Whether the agent's model calls were recorded with their messages (content capture
        was on), which replaying needs."""
        chats = self._of(sc.OP_CHAT, agent_name)
        return not chats or any(sc.OUTPUT_MESSAGES in s.attributes for s in chats)

    def toolset_tools(self, agent_name: str, own: set[str]) -> list[RecordedToolDefinition]:
        """The tools the agent's model was offered that are not in ``own`` (its toolsets')."""
        definitions = [_loads(s.attributes.get(sc.TOOL_DEFINITIONS))
                       for s in self._of(sc.OP_CHAT, agent_name)]
        called: dict[str, dict[str, Any]] = {}
        for span in self._of(sc.OP_EXECUTE_TOOL, agent_name):
            called.setdefault(str(span.attributes.get(sc.TOOL_NAME, "")), dict(span.attributes))
        return toolset_tool_definitions(definitions, called, own | {FINAL_RESULT_TOOL})

    def chats(self, agent_name: str) -> list[RecordedChat]:
        out = []
        for span in self._of(sc.OP_CHAT, agent_name):
            a = span.attributes
            message = (_messages(a.get(sc.OUTPUT_MESSAGES)) or [Message.assistant("")])[-1]
            usage = Usage(int(a.get(sc.USAGE_INPUT_TOKENS) or 0),
                          int(a.get(sc.USAGE_OUTPUT_TOKENS) or 0))
            response = ModelResponse(message, usage, a.get(sc.RESPONSE_MODEL),
                                     a.get(sc.RESPONSE_ID))
            raw = _loads(a.get(sc.INPUT_MESSAGES))
            out.append(RecordedChat(span.span_id, _instructions(a.get(sc.SYSTEM_INSTRUCTIONS)),
                                    raw if isinstance(raw, list) else None, response))
        return out

    def tool_calls(self, agent_name: str) -> list[RecordedToolCall]:
        out = []
        for span in self._of(sc.OP_EXECUTE_TOOL, agent_name):
            a = span.attributes
            failed = getattr(span, "status_code", "UNSET") == "ERROR" or sc.ERROR_TYPE in a
            outcome = ToolOutcome(str(a.get(sc.TOOL_CALL_RESULT, "")), failed,
                                  a.get(sc.ERROR_TYPE) if failed else None)
            out.append(RecordedToolCall(span.span_id, str(a.get(sc.TOOL_NAME, "")),
                                        _loads(a.get(sc.TOOL_CALL_ARGUMENTS)), outcome))
        return out

    def turns(self, agent_name: str) -> list[RecordedTurn]:
        out = []
        for span in self.spans:
            a = span.attributes
            if _op(span) != sc.OP_INVOKE_AGENT or a.get(sc.AGENT_NAME) != agent_name:
                continue
            sent = _messages(a.get(sc.INPUT_MESSAGES))
            answer = _messages(a.get(sc.OUTPUT_MESSAGES))
            out.append(RecordedTurn(
                span.span_id, agent_name, sent[-1].text if sent else "", tuple(sent[:-1]),
                answer[-1].text if answer else None, a.get(sc.CONVERSATION_ID),
                a.get(sc.LUMOS_MEMORY_RESOURCE_ID)))
        return out


    def memory_turns(self, agent_name: str) -> list[RecordedMemoryTurn]:
        """What memory showed the model in each turn: the window (the turn's history), the
        working memory in its instructions, and the recalled messages before the window."""
        chats = self.chats(agent_name)
        out = []
        for turn in self.turns(agent_name):
            span = next(s for s in self.spans if s.span_id == turn.span_id)
            first = next((c for c in chats if self._turn_of[c.span_id] == turn.span_id), None)
            instructions = _instructions(span.attributes.get(sc.SYSTEM_INSTRUCTIONS))
            if instructions is None and first is not None:
                instructions = first.instructions
            prefix: tuple[Message, ...] = ()
            if first is not None and first.messages is not None:
                extra = len(first.messages) - len(turn.history) - 1
                prefix = tuple(message_from_dict(m) for m in first.messages[:max(extra, 0)])
            out.append(RecordedMemoryTurn(turn.span_id, turn.history,
                                          working_memory_in(instructions), prefix,
                                          turn.resource_id))
        return out


def _op(span: SpanLike) -> str | None:
    return span.attributes.get(sc.OPERATION_NAME)


def _loads(value: Any) -> Any:
    if isinstance(value, str | bytes):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return value


def _messages(value: Any) -> list[Message]:
    parsed = _loads(value)
    return [message_from_dict(m) for m in parsed] if isinstance(parsed, list) else []


def _instructions(value: Any) -> str | None:
    parts = _loads(value)
    if parts is None:
        return None
    if isinstance(parts, list):
        return "".join(str(p.get("content", "")) for p in parts if isinstance(p, dict))
    return str(parts)
