"""Steps that repeat or contain: ``loop_while`` and ``foreach`` (each with a required bound), a
whole ``Workflow`` as a step, and a ``Tool`` as a step.

A loop's body is an ordinary step (a list makes a sequence); its steps keep their names, and
``ctx.get`` sees the current (else the last) iteration's outputs. A nested workflow's steps join
the parent's names (so they must not clash), which is what lets ``resume`` name a step inside it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from lumos_core.tools import Tool
from lumos_core.workflows.result import WorkflowError
from lumos_core.workflows.steps import Condition, Step, StepLike, as_step

if TYPE_CHECKING:
    from lumos_core.workflows.context import StepContext
    from lumos_core.workflows.workflow import Workflow

Items = Callable[["StepContext"], Any | Awaitable[Any]]


class LoopLimitExceeded(WorkflowError):
    """A loop reached its bound (``max_iterations`` / ``max_items``): the loop's step fails."""


def _bound(value: int, what: str, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"loop {name!r} needs {what} as a whole number of at least 1, not "
                         f"{value!r}")
    return value


class WhileStep(Step):
    """Runs ``body`` again and again while ``condition(ctx)`` holds (``ctx.input`` is the value
    about to go in: the loop's input, then the body's last output, which is the loop's output).
    Still holding after ``max_iterations`` runs fails the step."""

    kind = "while"

    def __init__(
        self, body: StepLike, *, condition: Condition, max_iterations: int, name: str | None = None
    ) -> None:
        self.body = as_step(body)
        if not callable(condition):
            raise TypeError(f"a loop condition must be callable, not {condition!r}")
        self.condition = condition
        super().__init__(name or f"while[{self.body.name}]")
        self.max_iterations = _bound(max_iterations, "max_iterations", self.name)

    @property
    def children(self) -> tuple[Step, ...]:
        return (self.body,)


class ForEachStep(Step):
    """Runs ``body`` on each item of a list, in order: the loop's input, or ``items(ctx)``. The
    output is the list of the body's outputs. More than ``max_items`` items fails the step
    before any runs."""

    kind = "foreach"

    def __init__(
        self,
        body: StepLike,
        *,
        max_items: int,
        items: Items | None = None,
        name: str | None = None,
    ) -> None:
        self.body = as_step(body)
        self.items = items
        super().__init__(name or f"foreach[{self.body.name}]")
        self.max_items = _bound(max_items, "max_items", self.name)

    @property
    def children(self) -> tuple[Step, ...]:
        return (self.body,)


class WorkflowStep(Step):
    """Another workflow run inside this one, on this step's input (validated by its
    ``input_schema``), as one ``invoke_workflow`` span under the step's. Its steps are part of
    the parent run: saved, suspended and resumed with it."""

    kind = "workflow"

    def __init__(self, workflow: Workflow, *, name: str | None = None) -> None:
        self.workflow = workflow
        super().__init__(
            name or workflow.name,
            description=workflow.description,
            input_schema=workflow.input_schema,
            output_schema=workflow.output_schema,
        )

    @property
    def children(self) -> tuple[Step, ...]:
        return self.workflow.steps


class ToolStep(Step):
    """Calls a tool with the step's input as its arguments (a mapping or model, validated by the
    tool's argument model); the tool's return value is the step's output. A ``ToolError`` fails
    the step (there is no model to tell)."""

    kind = "tool"
    leaf = True

    def __init__(
        self,
        tool: Tool,
        *,
        name: str | None = None,
        output_schema: type[BaseModel] | None = None,
    ) -> None:
        super().__init__(
            name or tool.name,
            description=tool.description or None,
            input_schema=tool.arguments_model,
            output_schema=output_schema,
        )
        self.tool = tool


def loop_while(
    condition: Condition, body: StepLike, *, max_iterations: int, name: str | None = None
) -> WhileStep:
    """``body`` while ``condition`` holds, at most ``max_iterations`` times; see ``WhileStep``."""
    return WhileStep(body, condition=condition, max_iterations=max_iterations, name=name)


def foreach(
    body: StepLike, *, max_items: int, items: Items | None = None, name: str | None = None
) -> ForEachStep:
    """``body`` on each item of a list of at most ``max_items``; see ``ForEachStep``."""
    return ForEachStep(body, max_items=max_items, items=items, name=name)


def tool_step(tool: Tool, *, name: str | None = None,
              output_schema: type[BaseModel] | None = None) -> ToolStep:
    """A tool as a step, with its own name (to use one tool twice)."""
    return ToolStep(tool, name=name, output_schema=output_schema)


def workflow_step(workflow: Workflow, *, name: str | None = None) -> WorkflowStep:
    """A workflow as a step of another (a bare ``Workflow`` in the steps does the same)."""
    return WorkflowStep(workflow, name=name)
