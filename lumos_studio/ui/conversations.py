"""The studio's conversations: what was said with each agent and workflow in this session, apart
from the App that shows them.

The chat writes turns here and draws from here (the debugger's notes of its pauses among a run's
tool calls, in order), and tests read it without widgets. One ``Conversation`` per agent or
workflow name, made on first use:

- ``turns``: the transcript, as (role, text) — role "you", the agent's name, "tool", "hint",
  "error";
- ``history``: the messages an agent without memory is sent again with the next message (one
  with memory keeps its own thread);
- ``thread_id``: the agent's memory thread, one per conversation (``/new`` starts another);
- ``suspended_run``: a workflow's run waiting for the next message to resume it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from lumos_core.messages import Message

Turn = tuple[str, str]  # (role, text)


@dataclass
class Conversation:
    """One agent's or workflow's conversation in this studio session."""

    name: str
    turns: list[Turn] = field(default_factory=list)
    history: tuple[Message, ...] = ()
    thread_id: str | None = None
    suspended_run: str | None = None

    def forget_suspended(self) -> str | None:
        """Stop offering the waiting run (``/new``, a new run); the run id it was, if any."""
        run_id, self.suspended_run = self.suspended_run, None
        return run_id


class Conversations:
    """Every conversation of this studio session, by agent or workflow name."""

    def __init__(self, clock: Callable[[], str] = lambda: time.strftime("%H%M%S")) -> None:
        self._clock = clock
        self._by_name: dict[str, Conversation] = {}
        self._threads: set[str] = set()  # every thread id named, so none is named twice

    def __getitem__(self, name: str) -> Conversation:
        """``name``'s conversation, begun (empty) on first use."""
        conversation = self._by_name.get(name)
        if conversation is None:
            conversation = self._by_name[name] = Conversation(name)
        return conversation

    def __contains__(self, name: object) -> bool:
        """Whether anything was said with ``name`` yet."""
        return name in self._by_name

    def record(self, name: str, role: str, text: str) -> None:
        self[name].turns.append((role, text))

    def thread_id(self, name: str) -> str:
        """The memory thread ``name`` talks in: one per conversation, named when first used."""
        conversation = self[name]
        if conversation.thread_id is None:
            thread = base = f"studio-{name}-{self._clock()}"
            number = 1
            while thread in self._threads:  # a new conversation in the same second
                number += 1
                thread = f"{base}-{number}"
            self._threads.add(thread)
            conversation.thread_id = thread
        return conversation.thread_id

    def start_over(self, name: str) -> str:
        """A new conversation with the agent ``name`` (``/new``): no transcript, no history to
        send again, a new memory thread; that thread's id."""
        conversation = self[name]
        conversation.turns.clear()
        conversation.history = ()
        conversation.thread_id = None
        return self.thread_id(name)
