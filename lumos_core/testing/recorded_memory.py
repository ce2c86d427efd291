"""Memory as the trace recorded it: each replayed turn sees the window, working memory and recall
its recorded turn saw, whatever the agent's own memory file holds now.

A live memory has moved on since the run was recorded (the same thread now holds the recorded
messages too, working memory was rewritten), so replaying against it shows the model another
conversation. ``RecordedMemory`` instead answers ``begin_turn`` from the trace, and keeps what the
replay writes (the working-memory tool, the turn's messages) in a scratch in-memory database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from lumos_core.memory import Memory
from lumos_core.memory.context import Turn
from lumos_core.memory.memory import DEFAULT_RESOURCE
from lumos_core.messages import Message

if TYPE_CHECKING:
    from lumos_core.testing import TraceDivergence

_OPEN: Final = "<working_memory>\n"
_CLOSE: Final = "\n</working_memory>"


@dataclass(frozen=True, slots=True)
class RecordedMemoryTurn:
    """What memory showed the model in one recorded turn."""

    span_id: str
    history: tuple[Message, ...]
    working_memory: str | None
    prefix: tuple[Message, ...] = field(default=())
    resource_id: str | None = None


def working_memory_in(instructions: str | None) -> str | None:
    """The working-memory document shown in recorded instructions, or ``None``."""
    if not instructions:
        return None
    start = instructions.rfind(_OPEN)
    end = instructions.rfind(_CLOSE)
    if start < 0 or end < start:
        return None
    return instructions[start + len(_OPEN) : end]


class RecordedMemory(Memory):
    """A scratch memory configured like ``like`` whose turns load what the trace recorded."""

    def __init__(self, like: Memory, turns: Sequence[RecordedMemoryTurn], agent_name: str) -> None:
        super().__init__(
            ":memory:",
            last_messages=like.last_messages,
            working_memory=like.working_memory_config or False,
            semantic_recall=like.recall_config or False,
            embedder=like.embedder,
            store_id=like.store_id,
            tracer_provider=like.tracer_provider,
            logger_provider=like.logger_provider,
        )
        self.turns = list(turns)
        self.position = 0
        self.agent_name = agent_name

    def begin_turn(
        self,
        thread_id: str,
        resource_id: str | None,
        user: Message,
        history: Sequence[Message] | None = None,
    ) -> Turn:
        """The next recorded turn's window, working memory and recall (the user's message is
        saved to the scratch thread, as a live memory would)."""
        if self.position >= len(self.turns):
            raise _divergence(
                f"turn {self.position + 1}",
                f"the trace holds only {len(self.turns)} turn(s) of agent {self.agent_name!r}",
                "(no further turn)", repr(user.text),
            )
        recorded = self.turns[self.position]
        self.position += 1
        resource = resource_id or recorded.resource_id or DEFAULT_RESOURCE
        shown = list(history) if history is not None else list(recorded.history)
        self.save_messages(thread_id, [user], resource_id=resource)
        turn = Turn(self, thread_id, resource, [], shown, recorded.working_memory, [])
        turn.prefix = list(recorded.prefix)
        return turn


def _divergence(step: str, message: str, expected: str, asked: str) -> TraceDivergence:
    from lumos_core.testing import TraceDivergence

    return TraceDivergence(step, message, expected, asked)
