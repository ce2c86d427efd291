"""What an agent run returns and streams, and the errors it raises (``Agent`` makes them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic

from typing_extensions import TypeVar

from lumos_core.messages import Message, ToolCallPart, ToolResultPart, Usage
from lumos_core.models.base import ResponseCompleted, TextDelta, ToolCallDelta


class AgentRunError(Exception):
    """A run could not complete; the message says why."""


class StepLimitExceeded(AgentRunError):
    """The model kept calling tools past the agent's ``max_steps``."""


# An agent without ``output_type`` answers text: ``Agent`` means ``Agent[str]``.
OutputT = TypeVar("OutputT", default=str)


@dataclass(frozen=True, slots=True)
class RunResult(Generic[OutputT]):
    """The outcome of one ``Agent.run``: the answer, the whole conversation, usage and trace id.

    ``output`` is the answer's text, or an instance of the agent's ``output_type``. With memory,
    ``messages`` is the window the model saw plus this turn, and ``thread_id`` / ``resource_id``
    say where the turn was saved. ``agent`` names the agent that answered (another than the one
    run when it handed off); ``usage`` includes sub-agents' and hand-offs' tokens.
    """

    output: OutputT
    messages: tuple[Message, ...]
    new_messages: tuple[Message, ...]
    usage: Usage
    steps: int
    trace_id: str | None
    thread_id: str | None = None
    resource_id: str | None = None
    agent: str | None = None


@dataclass(frozen=True, slots=True)
class ToolCallStarted:
    """The agent is about to run a tool the model asked for."""

    call: ToolCallPart


@dataclass(frozen=True, slots=True)
class ToolCallFinished:
    """A tool ran; ``result`` is what goes back to the model (an error result included)."""

    result: ToolResultPart


@dataclass(frozen=True, slots=True)
class RunCompleted:
    """The last event of ``Agent.stream``: what ``Agent.run`` would have returned."""

    result: RunResult[Any]


#: What ``Agent.stream`` yields: each model turn's ``TextDelta``/``ToolCallDelta`` pieces and its
#: ``ResponseCompleted``, each tool's start and result, then ``RunCompleted``.
AgentStreamEvent = (
    TextDelta | ToolCallDelta | ResponseCompleted | ToolCallStarted | ToolCallFinished
    | RunCompleted
)
