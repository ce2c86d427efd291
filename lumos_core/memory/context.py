"""What one agent run adds to the model's context: memory for this turn, and retrieved chunks.

``Agent.run`` puts a ``RunContext`` in a context variable; the working-memory tool and the
retrieve tool find the run through it, and each ``chat`` span records from it what memory and
retrieval contributed (``lumos.context.summary``), so a user can check what the model saw.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lumos_core.memory.recall import RecalledMessage, recall_message
from lumos_core.memory.store import StoredMessage
from lumos_core.messages import Message, Usage

if TYPE_CHECKING:
    from lumos_core.memory.memory import Memory


@dataclass(slots=True)
class Turn:
    """Memory for one run of an agent in a thread: what was loaded, and what the tool changed."""

    memory: Memory
    thread_id: str
    resource_id: str
    window: list[StoredMessage]
    history: list[Message]
    working_memory: str | None = None
    recalled: list[list[RecalledMessage]] = field(default_factory=list)
    prefix: list[Message] = field(default_factory=list)

    def __post_init__(self) -> None:
        recalled = recall_message(self.recalled)
        self.prefix = [recalled] if recalled is not None else []

    def instructions(self, base: str) -> str:
        """The agent's instructions with the working-memory section, when it has one."""
        working = self.memory.working_memory_config
        if working is None:
            return base
        section = working.instructions(self.working_memory)
        return f"{base}\n\n{section}" if base else section

    def summary(self) -> dict[str, Any]:
        """What memory contributed to a model call, for ``lumos.context.summary``."""
        data: dict[str, Any] = {"thread_id": self.thread_id, "resource_id": self.resource_id}
        if self.window:
            data["window"] = {
                "count": len(self.window),
                "first_seq": self.window[0].seq,
                "last_seq": self.window[-1].seq,
            }
        else:
            data["window"] = {"count": len(self.history)}
        working = self.memory.working_memory_config
        if working is not None:
            shown = self.working_memory if self.working_memory is not None else working.initial()
            data["working_memory"] = {
                "scope": working.scope,
                "chars": len(shown),
                "written": self.working_memory is not None,
            }
        if self.recalled:
            data["recalled"] = [
                {
                    "id": m.stored.id,
                    "thread_id": m.stored.thread_id,
                    "seq": m.stored.seq,
                    "score": round(m.score, 4) if m.score is not None else None,
                }
                for group in self.recalled
                for m in group
            ]
        return data

    @property
    def recalled_count(self) -> int:
        return sum(len(group) for group in self.recalled)


@dataclass(slots=True)
class RunContext:
    """The run in progress: its thread (if any), its memory turn, what retrieval returned."""

    thread_id: str | None = None
    turn: Turn | None = None
    retrieved: list[dict[str, Any]] = field(default_factory=list)
    #: Tokens spent by sub-agents this run's tools ran (``lumos_core.subagents``).
    sub_usage: Usage = field(default_factory=Usage)

    def summary(self) -> dict[str, Any] | None:
        """``lumos.context.summary`` for a chat span, or ``None`` when nothing was added."""
        if self.turn is None and not self.retrieved:
            return None
        data = self.turn.summary() if self.turn is not None else {}
        if self.retrieved:
            data["retrieved"] = list(self.retrieved)
        return data


_current_run: ContextVar[RunContext | None] = ContextVar("lumos_current_run", default=None)


def current_run() -> RunContext | None:
    """The agent run this code is part of (a tool, a memory operation), if any."""
    return _current_run.get()


def set_current_run(run: RunContext | None) -> Any:
    """Enter a run; returns the token for ``reset_current_run``."""
    return _current_run.set(run)


def reset_current_run(token: Any) -> None:
    _current_run.reset(token)
