"""Workflow steps: a function or an agent, and the compositions that run steps in order, side by
side, or by condition.

Steps are definitions only (what to run, under which name); ``engine`` runs them. Every step has a
name, unique within its workflow, because outputs, snapshots and resume all refer to steps by name.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeAlias, overload

from pydantic import BaseModel

from lumos_core.agent import Agent
from lumos_core.tools import Tool

if TYPE_CHECKING:
    from lumos_core.workflows.context import StepContext
    from lumos_core.workflows.workflow import Workflow

StepKind: TypeAlias = Literal[
    "function", "agent", "tool", "sequence", "parallel", "branch", "while", "foreach", "workflow"
]
StepFunction: TypeAlias = Callable[["StepContext"], Any]
Condition: TypeAlias = Callable[["StepContext"], bool | Awaitable[bool]]
Prompt: TypeAlias = str | Callable[["StepContext"], str | Awaitable[str]]
StepLike: TypeAlias = "Step | Agent | Tool | Workflow | StepFunction | Sequence[StepLike]"


class Step:
    """A named unit of a workflow. Build them with ``step``, ``parallel``, ``branch`` or lists."""

    kind: ClassVar[StepKind]
    leaf: ClassVar[bool] = False

    def __init__(
        self,
        name: str,
        *,
        description: str | None = None,
        input_schema: type[BaseModel] | None = None,
        output_schema: type[BaseModel] | None = None,
    ) -> None:
        if not name or not name.strip():
            raise ValueError("a workflow step needs a non-empty name")
        self.name = name
        self.description = description
        self.input_schema = input_schema
        self.output_schema = output_schema

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"

    @property
    def children(self) -> tuple[Step, ...]:
        """The steps this one runs (none for a function or agent step)."""
        return ()

    def walk(self) -> Iterator[Step]:
        """This step and every step under it, depth first."""
        yield self
        for child in self.children:
            yield from child.walk()

    def then(self, *steps: StepLike) -> SequenceStep:
        """This step followed by ``steps``, each getting the previous one's output."""
        return SequenceStep([self, *steps])


class FunctionStep(Step):
    """Calls ``function(ctx)`` (sync or async); what it returns is the step's output."""

    kind = "function"
    leaf = True

    def __init__(
        self,
        function: StepFunction,
        *,
        name: str | None = None,
        description: str | None = None,
        input_schema: type[BaseModel] | None = None,
        output_schema: type[BaseModel] | None = None,
    ) -> None:
        name = name or str(getattr(function, "__name__", ""))
        if name == "<lambda>":
            raise ValueError("a lambda has no name to show and resume by; pass step(name=...)")
        doc = inspect.getdoc(function)
        super().__init__(
            name,
            description=description or (doc.split("\n\n", 1)[0].strip() if doc else None),
            input_schema=input_schema,
            output_schema=output_schema,
        )
        self.function = function


class AgentStep(Step):
    """Runs an agent; its answer (``RunResult.output``) is the step's output.

    The message is ``prompt`` (a string, or a function of the step context), else the step's
    input as text (JSON for data).
    """

    kind = "agent"
    leaf = True

    def __init__(
        self,
        agent: Agent,
        *,
        name: str | None = None,
        prompt: Prompt | None = None,
        description: str | None = None,
        input_schema: type[BaseModel] | None = None,
        output_schema: type[BaseModel] | None = None,
    ) -> None:
        super().__init__(
            name or agent.name,
            description=description or agent.description,
            input_schema=input_schema,
            output_schema=output_schema,
        )
        self.agent = agent
        self.prompt = prompt


class SequenceStep(Step):
    """Runs steps one after another; each gets the previous output, the first the sequence's
    input, and the last one's output is the sequence's."""

    kind = "sequence"

    def __init__(self, steps: Iterable[StepLike], *, name: str | None = None) -> None:
        self.steps = tuple(as_step(s) for s in steps)
        if not self.steps:
            raise ValueError("a sequence needs at least one step")
        self._named = name is not None
        super().__init__(name or _composite_name("sequence", " > ", self.steps))

    @property
    def children(self) -> tuple[Step, ...]:
        return self.steps

    def then(self, *steps: StepLike) -> SequenceStep:
        return SequenceStep([*self.steps, *steps], name=self.name if self._named else None)


class ParallelStep(Step):
    """Runs steps concurrently on the same input; the output maps each step's name to its output.

    A failing step cancels the others and fails this one; a suspending step lets the others finish.
    """

    kind = "parallel"

    def __init__(self, steps: Iterable[StepLike], *, name: str | None = None) -> None:
        self.steps = tuple(as_step(s) for s in steps)
        if not self.steps:
            raise ValueError("a parallel step needs at least one step")
        super().__init__(name or _composite_name("parallel", ", ", self.steps))

    @property
    def children(self) -> tuple[Step, ...]:
        return self.steps


class BranchStep(Step):
    """Runs the step of the first case whose condition holds (``if / elif / else``).

    Conditions get the step context (``ctx.input`` is the branch's input). The output is the
    chosen step's, or ``None`` when no case holds and there is no ``default``.
    """

    kind = "branch"

    def __init__(
        self,
        cases: Iterable[tuple[Condition, StepLike]],
        *,
        default: StepLike | None = None,
        name: str | None = None,
    ) -> None:
        self.cases = tuple((condition, as_step(target)) for condition, target in cases)
        self.default = as_step(default) if default is not None else None
        if not self.cases:
            raise ValueError("a branch needs at least one (condition, step) case")
        for condition, _ in self.cases:
            if not callable(condition):
                raise TypeError(f"a branch condition must be callable, not {condition!r}")
        super().__init__(name or _composite_name("branch", " | ", self.children))

    @property
    def children(self) -> tuple[Step, ...]:
        targets = tuple(target for _, target in self.cases)
        return (*targets, self.default) if self.default is not None else targets


def as_step(candidate: StepLike) -> Step:
    """Accept a ``Step``, an ``Agent``, a ``Tool``, a ``Workflow``, a function of the step
    context, or a list (a sequence)."""
    from lumos_core.workflows.constructs import ToolStep, WorkflowStep
    from lumos_core.workflows.workflow import Workflow

    if isinstance(candidate, Step):
        return candidate
    if isinstance(candidate, Agent):
        return AgentStep(candidate)
    if isinstance(candidate, Tool):
        return ToolStep(candidate)
    if isinstance(candidate, Workflow):
        return WorkflowStep(candidate)
    if isinstance(candidate, list | tuple):
        return SequenceStep(candidate)
    if callable(candidate):
        return FunctionStep(candidate)
    raise TypeError(
        f"cannot use {candidate!r} as a workflow step: pass a function of the step context, "
        "an Agent, a Tool, a Workflow, a Step or a list of those"
    )


@overload
def step(function: StepFunction, /, *, name: str | None = None) -> FunctionStep: ...
@overload
def step(
    *,
    name: str | None = None,
    description: str | None = None,
    input_schema: type[BaseModel] | None = None,
    output_schema: type[BaseModel] | None = None,
) -> Callable[[StepFunction], FunctionStep]: ...


def step(
    function: StepFunction | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    input_schema: type[BaseModel] | None = None,
    output_schema: type[BaseModel] | None = None,
) -> FunctionStep | Callable[[StepFunction], FunctionStep]:
    """Make a function step: bare (``@step``) or with options (``@step(name=..., ...)``).

    With schemas, the step's input is validated (and converted) into ``input_schema`` before the
    function runs, and its output into ``output_schema`` after.
    """

    def build(f: StepFunction) -> FunctionStep:
        return FunctionStep(
            f, name=name, description=description,
            input_schema=input_schema, output_schema=output_schema,
        )

    return build(function) if function is not None else build


def agent_step(
    agent: Agent,
    *,
    name: str | None = None,
    prompt: Prompt | None = None,
    output_schema: type[BaseModel] | None = None,
) -> AgentStep:
    """An agent as a step, with its own name (to use one agent twice) or prompt."""
    return AgentStep(agent, name=name, prompt=prompt, output_schema=output_schema)


def sequence(*steps: StepLike, name: str | None = None) -> SequenceStep:
    """``steps`` one after another (a list does the same, without a chosen name)."""
    return SequenceStep(steps, name=name)


def parallel(*steps: StepLike, name: str | None = None) -> ParallelStep:
    """``steps`` at the same time; see ``ParallelStep``."""
    return ParallelStep(steps, name=name)


def branch(
    *cases: tuple[Condition, StepLike],
    default: StepLike | None = None,
    name: str | None = None,
) -> BranchStep:
    """The first case whose condition holds; see ``BranchStep``."""
    return BranchStep(cases, default=default, name=name)


def _composite_name(kind: str, separator: str, steps: Sequence[Step]) -> str:
    return f"{kind}[{separator.join(s.name for s in steps)}]"
