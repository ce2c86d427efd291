"""What a running workflow reports as it goes: steps starting and ending, and what its agent
steps write while they write it (``Workflow.run(..., on_event=...)``).

Only steps that do the work (functions and agents) report; sequences, parallels and branches
are seen through their children.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from lumos_core.run_results import AgentStreamEvent
from lumos_core.workflows.steps import StepKind


@dataclass(frozen=True, slots=True)
class StepStarted:
    step: str
    kind: StepKind


@dataclass(frozen=True, slots=True)
class StepFinished:
    step: str
    status: Literal["success", "failed", "suspended"]
    seconds: float


@dataclass(frozen=True, slots=True)
class StepStreamed:
    """One stream event of an agent step's run (text, tool calls), as ``Agent.stream`` gives it."""

    step: str
    event: AgentStreamEvent


WorkflowEvent = StepStarted | StepFinished | StepStreamed
WorkflowListener = Callable[[WorkflowEvent], None]


def step_status(event: StepStarted | StepFinished) -> str:
    """One word for where a step is: "running" once started, then how it ended."""
    return "running" if isinstance(event, StepStarted) else event.status
