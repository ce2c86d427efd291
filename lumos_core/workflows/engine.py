"""Running a step tree: one span per step, outputs by name, suspend and skip-completed on resume.

The engine is what ``Workflow.run`` and ``Workflow.resume`` share: the first starts from an empty
state, the second from a snapshot's, so completed steps return their stored output without running
(and without a span) and the resumed step gets the resume data.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final, Literal

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from pydantic import BaseModel, ValidationError

from lumos_core.debug import PausePoint, PauseRequest, current_debugger
from lumos_core.run_results import RunCompleted
from lumos_core.telemetry import semconv as sc
from lumos_core.telemetry.content import capturing_spans
from lumos_core.workflows.constructs import ForEachStep, ToolStep, WhileStep, WorkflowStep
from lumos_core.workflows.context import StepContext, SuspendSignal
from lumos_core.workflows.engine_constructs import run_foreach, run_nested, run_tool, run_while
from lumos_core.workflows.events import (
    StepFinished,
    StepStarted,
    StepStreamed,
    WorkflowListener,
)
from lumos_core.workflows.result import StepFailed, StepValidationError
from lumos_core.workflows.snapshots import to_json
from lumos_core.workflows.steps import (
    AgentStep,
    BranchStep,
    FunctionStep,
    ParallelStep,
    SequenceStep,
    Step,
)


class _Suspended:
    def __repr__(self) -> str:
        return "SUSPENDED"


#: What executing a step returns when it (or a step under it) suspended.
SUSPENDED: Final = _Suspended()
_UNDECIDED: Final = object()


@dataclass(frozen=True, slots=True)
class ForkOrigin:
    """The run a fork starts from: its id, the step re-run from, its span (linked to)."""

    run_id: str
    step: str
    trace_id: str | None
    span_id: str | None


@dataclass(slots=True)
class RunState:
    """The mutable state of one run segment; a snapshot is this state written down."""

    run_id: str
    workflow: str
    workflow_input: Any
    outputs: dict[str, Any] = field(default_factory=dict)
    decisions: dict[str, str | None] = field(default_factory=dict)
    suspended: dict[str, Any] = field(default_factory=dict)
    #: Steps suspended before this segment that it does not resume: they stay suspended unrun.
    carried: dict[str, Any] = field(default_factory=dict)
    #: Loops under way, by name: where each is (``engine_constructs``).
    progress: dict[str, Any] = field(default_factory=dict)
    #: Inputs to use instead of the one a step would get, by step (a fork's edited input).
    overrides: dict[str, Any] = field(default_factory=dict)
    fork_of: ForkOrigin | None = None
    resume_step: str | None = None
    resume_data: Any = None


class Engine:
    """Executes steps against one ``RunState`` with one tracer; tells ``on_event`` how the
    working steps go."""

    def __init__(
        self, tracer: trace.Tracer, state: RunState, on_event: WorkflowListener | None = None
    ) -> None:
        self.tracer = tracer
        self.state = state
        self.on_event = on_event
        self.workflow = state.workflow  # a nested workflow's engine says its own name and input
        self.workflow_input = state.workflow_input
        self.debugger = current_debugger()

    def nested(self, workflow: str, workflow_input: Any) -> Engine:
        """An engine for a nested workflow's steps: the same run state, its own name and input."""
        inner = Engine(self.tracer, self.state, self.on_event)
        inner.workflow, inner.workflow_input = workflow, workflow_input
        inner.debugger = self.debugger
        return inner

    def forget(self, step: Step) -> None:
        """Drop what ``step`` and the steps under it left in the state (a loop's next pass)."""
        state = self.state
        for each in step.walk():
            state.outputs.pop(each.name, None)
            state.decisions.pop(each.name, None)
            state.progress.pop(each.name, None)

    async def run_steps(self, steps: tuple[Step, ...], value: Any) -> Any:
        """The workflow's top level: a sequence without a span of its own."""
        for child in steps:
            value = await self.execute(child, value)
            if value is SUSPENDED:
                return SUSPENDED
        return value

    async def execute(self, step: Step, value: Any) -> Any:
        """Run ``step`` on ``value`` in its span; its output, or ``SUSPENDED``.

        A failure anywhere below raises ``StepFailed`` naming the step that raised.
        """
        state = self.state
        if self._done(step):
            if keeps_output(step):
                return state.outputs[step.name]
            output = await self._body(step, value, trace.INVALID_SPAN)  # children return at once
            state.outputs[step.name] = output
            return output
        if step.name in state.carried:
            state.suspended[step.name] = state.carried[step.name]
            return SUSPENDED
        if state.overrides and step.name in state.overrides:
            value = state.overrides.pop(step.name)
        attributes: dict[str, Any] = {
            sc.LUMOS_WORKFLOW_NAME: self.workflow,
            sc.LUMOS_WORKFLOW_RUN_ID: state.run_id,
            sc.LUMOS_WORKFLOW_STEP_NAME: step.name,
            sc.LUMOS_WORKFLOW_STEP_KIND: step.kind,
        }
        if state.resume_step == step.name:
            attributes[sc.LUMOS_WORKFLOW_RESUMED] = True
            if capturing_spans():
                attributes[sc.LUMOS_WORKFLOW_RESUME_DATA] = to_json(state.resume_data)
        with self.tracer.start_as_current_span(
            sc.span_name(sc.SPAN_WORKFLOW_STEP, step.name),
            kind=SpanKind.INTERNAL,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span, self._reporting(step):
            try:
                if self.debugger is None:
                    output = await self._body(step, value, span)
                else:
                    output = await self._debugged(step, value, span)
            except SuspendSignal as signal:
                state.suspended[step.name] = signal.payload
                add_suspended_event(span, step.name, signal.payload)
                output = SUSPENDED
            except StepFailed as failed:
                span.set_attribute(sc.LUMOS_WORKFLOW_STEP_STATUS, "failed")
                span.set_attribute(sc.ERROR_TYPE, type(failed.error).__qualname__)
                span.set_status(Status(StatusCode.ERROR, str(failed)))
                raise
            except asyncio.CancelledError:
                span.set_attribute(sc.LUMOS_WORKFLOW_STEP_STATUS, "cancelled")
                raise
            except Exception as exc:
                span.record_exception(exc)
                span.set_attribute(sc.LUMOS_WORKFLOW_STEP_STATUS, "failed")
                span.set_attribute(sc.ERROR_TYPE, type(exc).__qualname__)
                span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
                raise StepFailed(step.name, exc) from exc
            if step.leaf and state.resume_step == step.name:
                state.resume_step = None  # resumed once: a later pass of a loop runs afresh
            if output is SUSPENDED:
                span.set_attribute(sc.LUMOS_WORKFLOW_STEP_STATUS, "suspended")
                return SUSPENDED
            state.outputs[step.name] = output
            span.set_attribute(sc.LUMOS_WORKFLOW_STEP_STATUS, "success")
            if step.leaf and span.is_recording() and capturing_spans():
                span.set_attribute(sc.LUMOS_WORKFLOW_STEP_OUTPUT, to_json(output))
            return output

    @contextmanager
    def _reporting(self, step: Step) -> Iterator[None]:
        """``StepStarted``, then ``StepFinished`` with how the step ended (a working step)."""
        report = self.on_event
        if report is None or not step.leaf:
            yield
            return
        report(StepStarted(step.name, step.kind))
        began = time.perf_counter()
        try:
            yield
        except asyncio.CancelledError:
            raise  # the whole run stops: nothing more to report
        except BaseException:
            report(StepFinished(step.name, "failed", time.perf_counter() - began))
            raise
        status: Literal["success", "suspended"] = (
            "suspended" if step.name in self.state.suspended else "success"
        )
        report(StepFinished(step.name, status, time.perf_counter() - began))

    async def _run_agent(self, step: AgentStep, message: str) -> Any:
        """The agent's answer; streamed to ``on_event`` when someone listens."""
        report = self.on_event
        if report is None:
            return (await step.agent.run(message)).output
        result = None
        async for event in step.agent.stream(message):
            if isinstance(event, RunCompleted):
                result = event.result
            else:
                report(StepStreamed(step.name, event))
        assert result is not None  # stream's last event
        return result.output

    async def _body(self, step: Step, value: Any, span: trace.Span) -> Any:
        if isinstance(step, FunctionStep | AgentStep | ToolStep):
            value = coerce(step.input_schema, value, f"step {step.name!r} input")
            if span.is_recording() and capturing_spans():
                span.set_attribute(sc.LUMOS_WORKFLOW_STEP_INPUT, to_json(value))
            output = await self._leaf(step, value)
            return coerce(step.output_schema, output, f"step {step.name!r} output")
        if isinstance(step, WhileStep):
            return await run_while(self, step, value, span)
        if isinstance(step, ForEachStep):
            return await run_foreach(self, step, value, span)
        if isinstance(step, WorkflowStep):
            value = coerce(step.input_schema, value, f"workflow {step.workflow.name!r} input")
            return await run_nested(self, step, value, span)
        if isinstance(step, SequenceStep):
            return await self.run_steps(step.steps, value)
        if isinstance(step, ParallelStep):
            return await self._parallel(step, value)
        if isinstance(step, BranchStep):
            return await self._branch(step, value, span)
        raise TypeError(f"unknown step kind {type(step).__name__}")

    async def _leaf(self, step: FunctionStep | AgentStep | ToolStep, value: Any) -> Any:
        if isinstance(step, ToolStep):
            return await run_tool(self, step, value)
        if isinstance(step, FunctionStep):
            return await _maybe_await(step.function(self.context(step, value)))
        return await self._run_agent(step, await _message(step, self.context(step, value)))

    async def _debugged(self, step: Step, value: Any, span: trace.Span) -> Any:
        """A step with a debugger attached: a pause before (its input: edit it, or skip the
        step with a stubbed output) and after (its output: edit it; not when it suspended)."""
        debugger = self.debugger
        assert debugger is not None

        def as_input(edited: Any) -> Any:
            return coerce(step.input_schema, edited, f"the input of step {step.name!r}")

        def as_output(edited: Any) -> Any:
            return coerce(step.output_schema, edited, f"the output of step {step.name!r}")

        where = {"workflow": self.workflow, "run_id": self.state.run_id}
        before = await debugger.pause(
            PauseRequest(PausePoint.BEFORE_STEP, step.name, as_input(value), **where),
            validate=as_input,
            stub=as_output,
        )
        if before.skipped:
            output = before.value
            if step.leaf and span.is_recording():
                span.set_attribute(sc.LUMOS_WORKFLOW_STEP_INPUT, to_json(value))
        else:
            output = await self._body(step, before.value, span)
            if output is SUSPENDED:
                return output
        after = await debugger.pause(
            PauseRequest(PausePoint.AFTER_STEP, step.name, output, **where), validate=as_output
        )
        return after.value

    async def _parallel(self, step: ParallelStep, value: Any) -> Any:
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(self.execute(child, value)) for child in step.steps]
        except ExceptionGroup as failed:
            # The first failure fails the step; the TaskGroup has cancelled the others.
            raise failed.exceptions[0] from None
        outputs = {child.name: task.result() for child, task in zip(step.steps, tasks, strict=True)}
        if any(output is SUSPENDED for output in outputs.values()):
            return SUSPENDED
        return outputs

    async def _branch(self, step: BranchStep, value: Any, span: trace.Span) -> Any:
        state = self.state
        chosen_name: str | None = None
        if step.name in state.decisions:  # decided before a suspend: the same branch again
            chosen_name = state.decisions[step.name]
        else:
            ctx = self.context(step, value)
            for condition, target in step.cases:
                if await _maybe_await(condition(ctx)):
                    chosen_name = target.name
                    break
            else:
                if step.default is not None:
                    chosen_name = step.default.name
            state.decisions[step.name] = chosen_name
        span.set_attribute(sc.LUMOS_WORKFLOW_BRANCH_CHOSEN, chosen_name or "")
        if chosen_name is None:
            return None
        chosen = next(child for child in step.children if child.name == chosen_name)
        return await self.execute(chosen, value)

    def context(self, step: Step, value: Any) -> StepContext:
        state = self.state
        resumed = state.resume_step == step.name
        return StepContext(
            run_id=state.run_id,
            workflow=self.workflow,
            step=step.name,
            input=value,
            workflow_input=self.workflow_input,
            outputs=MappingProxyType(state.outputs),
            resumed=resumed,
            resume_data=state.resume_data if resumed else None,
        )

    def _done(self, step: Step) -> bool:
        """Whether ``step`` completed earlier in this run (only after a resume)."""
        if keeps_output(step):
            return step.name in self.state.outputs
        if isinstance(step, BranchStep):
            chosen = self.state.decisions.get(step.name, _UNDECIDED)
            if chosen is _UNDECIDED:
                return False
            return chosen is None or any(
                self._done(c) for c in step.children if c.name == chosen
            )
        return all(self._done(child) for child in step.children)


def keeps_output(step: Step) -> bool:
    """Whether a step's saved output is all a resumed run needs of it: a leaf, or a loop (whose
    body's outputs are only the last pass's)."""
    return step.leaf or isinstance(step, WhileStep | ForEachStep)


def add_suspended_event(span: trace.Span, step: str, payload: Any) -> None:
    """Record on ``span`` that ``step`` suspended with ``payload`` (on the step's span when it
    suspends, and again on the run's span)."""
    attributes = {sc.LUMOS_WORKFLOW_STEP_NAME: step}
    if capturing_spans():
        attributes[sc.LUMOS_WORKFLOW_SUSPEND_PAYLOAD] = to_json(payload)
    span.add_event(sc.EVENT_WORKFLOW_SUSPENDED, attributes)


def coerce(schema: type[BaseModel] | None, value: Any, what: str) -> Any:
    """``value`` as an instance of ``schema`` (from a model, a mapping or JSON text)."""
    if schema is None or isinstance(value, schema):
        return value
    try:
        if isinstance(value, str | bytes):
            return schema.model_validate_json(value)
        if isinstance(value, BaseModel):
            value = value.model_dump()
        return schema.model_validate(value)
    except ValidationError as exc:
        raise StepValidationError(f"{what} is invalid: {describe(exc)}") from exc


def describe(exc: ValidationError) -> str:
    """A validation error in one line: ``field: problem; field: problem``."""
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or 'value'}: {err['msg']}" for err in exc.errors()
    )


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


async def _message(step: AgentStep, ctx: StepContext) -> str:
    prompt = step.prompt
    if prompt is None:
        return ctx.input if isinstance(ctx.input, str) else to_json(ctx.input)
    if isinstance(prompt, str):
        return prompt
    return str(await _maybe_await(prompt(ctx)))
