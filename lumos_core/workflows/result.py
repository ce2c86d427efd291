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


class WorkflowFailed(WorkflowError):
    """Asked for the output of a failed run: names the step and its error (``__cause__``)."""

    def __init__(self, workflow: str, step: str | None, error: str | None) -> None:
        where = f" at step {step!r}" if step else ""
        super().__init__(
            f"workflow {workflow!r} failed{where}, so it has no output: {error}; check "
            "`run.status` before reading `run.output` (`run.error` and `run.failed_step` say more)"
        )
        self.workflow = workflow
        self.step = step
        self.error = error


@dataclass(frozen=True, slots=True)
class WorkflowRun:
    """One run (or resumed segment of a run) of a workflow.

    ``outputs`` maps every completed step's name to its output (those completed before a suspend
    included); ``output`` is the last top-level step's output on success (``None`` while suspended;
    reading it on a failed run raises ``WorkflowFailed``, never a silent ``None``). ``suspended``
    maps each
    suspended step to the payload it gave ``suspend``. ``exception`` is only set in the process
    where the step failed (it is not persisted).
    """

    run_id: str
    workflow: str
    status: RunStatus
    input: Any
    outputs: Mapping[str, Any]
    _output: Any = field(default=None, repr=False)
    suspended: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None
    failed_step: str | None = None
    trace_id: str | None = None
    exception: BaseException | None = field(default=None, compare=False, repr=False)

    @property
    def output(self) -> Any:
        """The workflow's output; raises ``WorkflowFailed`` when the run failed."""
        if self.status == "failed":
            cause = self.exception
            error = f"{type(cause).__name__}: {cause}" if cause is not None else self.error
            raise WorkflowFailed(self.workflow, self.failed_step, error) from cause
        return self._output

    @property
    def suspended_steps(self) -> tuple[str, ...]:
        """The names of the steps waiting for ``resume``."""
        return tuple(self.suspended)
