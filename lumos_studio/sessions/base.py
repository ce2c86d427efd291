"""What the app needs from a session, whether agents run in this process or in a worker."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field

from lumos_core import Agent, Message


@dataclass(frozen=True, slots=True)
class AgentInfo:
    """An agent as the UI lists it (the agent object itself may live in another process)."""

    name: str
    model: str
    tools: tuple[str, ...] = ()
    description: str = ""
    has_memory: bool = False  # threads live in the agent's memory, not in the studio

    @classmethod
    def of(cls, agent: Agent) -> AgentInfo:
        return cls(
            agent.name,
            agent.model.model_name,
            tuple(agent.tools),
            agent.description or "",
            agent.memory is not None,
        )


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """How one chat turn ended: an answer, an error (with traceback) or a cancellation."""

    output: str | None = None
    trace_id: str | None = None
    messages: tuple[Message, ...] = ()
    error: str | None = None
    traceback: str = ""
    cancelled: bool = False


@dataclass(frozen=True, slots=True)
class LoadProblem:
    """The agent file failed to load: where, and the source around it."""

    message: str
    path: str
    line: int | None = None
    frame: str = ""
    details: str = ""


@dataclass(frozen=True, slots=True)
class SessionEvent:
    """Something the app should show: new agents, a reload, a load problem, worker output."""

    agents: tuple[AgentInfo, ...] | None = None
    problem: LoadProblem | None = None
    reloaded_in: float | None = None
    output: str | None = None
    notice: str | None = None
    stale: bool = False
    extra: dict[str, object] = field(default_factory=dict)


Listener = Callable[[SessionEvent], None]


class Session(ABC):
    """A source of agents to chat with. ``run`` blocks: call it from a thread worker."""

    source: str
    agents: tuple[AgentInfo, ...] = ()
    listener: Listener | None = None

    def emit(self, event: SessionEvent) -> None:
        if self.listener is not None:
            self.listener(event)

    def start(self) -> None:  # noqa: B027 (a no-op by default)
        """Load the agents (and start watching, for sessions that reload)."""

    @abstractmethod
    def run(
        self, agent: str, text: str, history: tuple[Message, ...], thread_id: str | None = None
    ) -> RunOutcome:
        """Run one turn of ``agent`` in ``thread_id``; never raises for errors in user code.

        ``history`` is the conversation so far for agents without memory (empty otherwise).
        """

    def cancel(self) -> bool:
        """Stop the running turn; False when this session cannot cancel."""
        return False

    def stop(self) -> None:  # noqa: B027 (a no-op by default)
        """Release processes and watchers."""
