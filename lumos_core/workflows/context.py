"""What a running step sees: its input, the workflow's input, earlier outputs, and ``suspend``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from lumos_core.workflows.steps import Step


class SuspendSignal(BaseException):
    """Raised by ``StepContext.suspend``; the engine catches it and suspends the run.

    A ``BaseException`` so that a step's ``except Exception`` (or an agent's tool loop) does not
    swallow it by accident.
    """

    def __init__(self, payload: Any) -> None:
        super().__init__("workflow step suspended")
        self.payload = payload


@dataclass(frozen=True, slots=True)
class StepContext:
    """Handed to every function step (and to prompts and branch conditions).

    ``input`` is the step's own input: the previous step's output, or the workflow's input for the
    first step. ``resumed`` is true only in the step a ``resume`` call named, and ``resume_data``
    is then what that call passed.
    """

    run_id: str
    workflow: str
    step: str
    input: Any
    workflow_input: Any
    outputs: Mapping[str, Any]
    resumed: bool = False
    resume_data: Any = None

    def get(self, step: str | Step) -> Any:
        """The output of a step that has completed in this run (also before a suspend)."""
        name = step if isinstance(step, str) else step.name
        try:
            return self.outputs[name]
        except KeyError:
            done = ", ".join(self.outputs) or "none"
            raise KeyError(
                f"step {name!r} has no output in this run yet (completed: {done})"
            ) from None

    def suspend(self, payload: Any = None) -> NoReturn:
        """Stop the run here, persisting its state; ``Workflow.resume`` continues at this step.

        ``payload`` (JSON data or a pydantic model) tells whoever resumes what is being asked.
        """
        raise SuspendSignal(payload)
