"""Forking an agent's run from one of its model calls: the messages that call was sent, maybe
edited, sent again, and the loop goes on from there as a new run.

``Agent.run(..., fork=AgentFork(messages, trace_id, span_id))`` asks the model with ``messages``
as they are (no new user message: they end with the user's message or the tools' results), does
not read or write the agent's memory (a fork is a side-run, its thread stays as it was), and its
``invoke_agent`` span links to the origin span (an OpenTelemetry span link) with
``lumos.agent.fork.of`` naming it.
"""

from __future__ import annotations

from dataclasses import dataclass

from opentelemetry.trace import Link

from lumos_core.messages import Message
from lumos_core.telemetry import semconv as sc
from lumos_core.telemetry.spans import link_to


@dataclass(frozen=True, slots=True)
class AgentFork:
    """Where a forked run starts: the ``messages`` to send first, and the span it re-runs
    (a ``chat`` span of an earlier run; None when there is none to link to)."""

    messages: tuple[Message, ...]
    trace_id: str | None = None
    span_id: str | None = None

    def __post_init__(self) -> None:
        if not self.messages:
            raise ValueError("a fork starts from at least one message")
        if self.messages[-1].role not in ("user", "tool"):
            raise ValueError(
                "a fork's messages end with the user's message or the tools' results "
                f"(the model answers next), not with a {self.messages[-1].role!r} message"
            )

    def links(self) -> list[Link]:
        return link_to(self.trace_id, self.span_id, {sc.LUMOS_AGENT_FORK_OF: self.span_id})
