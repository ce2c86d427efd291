"""The outcome of a workflow run, and the errors workflows raise."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

RunStatus: TypeAlias = Literal["success", "failed", "suspended"]


class WorkflowError(Exception):
    """A workflow could not be defined, started, persisted or resumed; the message says why."""


class WorkflowInputError(WorkflowError, ValueError):
    """The input given to ``run`` does not match the workflow's ``input_schema``."""


class StepValidationError(WorkflowError, ValueError):
    """A step's input or output does not match its schema (the run fails at that step)."""


class ResumeError(WorkflowError):
    """``resume`` was asked for a run or step that cannot be resumed."""


class StepFailed(WorkflowError):
    """A step raised; ``__cause__`` is the original exception. Internal to the engine: a run
    reports it as ``status == "failed"``."""

    def __init__(self, step: str, error: BaseException) -> None:
        super().__init__(f"step {step!r} failed: {type(error).__name__}: {error}")
        self.step = step
        self.error = error


@dataclass(frozen=True, slots=True)
class WorkflowRun:
    """One run (or resumed segment of a run) of a workflow.

    ``outputs`` maps every completed step's name to its output (those completed before a suspend
    included); ``output`` is the last top-level step's output on success. ``suspended`` maps each
    suspended step to the payload it gave ``suspend``. ``exception`` is only set in the process
    where the step failed (it is not persisted).
    """

    run_id: str
    workflow: str
    status: RunStatus
    input: Any
    outputs: Mapping[str, Any]
    output: Any = None
    suspended: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None
    failed_step: str | None = None
    trace_id: str | None = None
    exception: BaseException | None = field(default=None, compare=False, repr=False)

    @property
    def suspended_steps(self) -> tuple[str, ...]:
        """The names of the steps waiting for ``resume``."""
        return tuple(self.suspended)
