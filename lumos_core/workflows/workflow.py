"""``Workflow``: named steps run in order, in parallel or by branch, traced as one
``invoke_workflow`` span, suspendable and resumable from a SQLite snapshot."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any, cast

from opentelemetry import _logs, trace
from opentelemetry.trace import Link, SpanKind, Status, StatusCode
from pydantic import BaseModel, ValidationError

from lumos_core._sync import refuse_inside_event_loop
from lumos_core.debug import Debugger, attached, current_debugger
from lumos_core.telemetry import activate_providers, get_tracer, reset_providers
from lumos_core.telemetry import semconv as sc
from lumos_core.telemetry.content import capturing_spans
from lumos_core.telemetry.spans import link_to
from lumos_core.workflows.engine import (
    SUSPENDED,
    Engine,
    RunState,
    add_suspended_event,
    coerce,
    describe,
    keeps_output,
)
from lumos_core.workflows.events import WorkflowListener
from lumos_core.workflows.fork import UNCHANGED, fork_state
from lumos_core.workflows.result import (
    ResumeError,
    RunStatus,
    StepFailed,
    WorkflowError,
    WorkflowInputError,
    WorkflowRun,
)
from lumos_core.workflows.snapshots import RunSnapshot, SnapshotStore, to_json
from lumos_core.workflows.steps import Step, StepLike, as_step


class Workflow:
    """Steps with a name, run as one traced unit. ``run`` starts a run, ``resume`` continues a
    suspended one (in this process or another reading the same snapshot file).

    ``steps`` run one after another, each getting the previous step's output (the first gets the
    workflow's input); the run's output is the last step's. With ``input_schema`` the input is
    validated first. Runs are saved in ``store`` (a ``SnapshotStore`` or a path; default
    ``.lumos/workflows.db``).
    """

    def __init__(
        self,
        name: str,
        steps: Iterable[StepLike] = (),
        *,
        description: str | None = None,
        input_schema: type[BaseModel] | None = None,
        output_schema: type[BaseModel] | None = None,
        store: SnapshotStore | str | Path | None = None,
        tracer_provider: trace.TracerProvider | None = None,
        logger_provider: _logs.LoggerProvider | None = None,
    ) -> None:
        if not name or not name.strip():
            raise ValueError("a Workflow needs a non-empty name")
        self.name = name
        self.description = description
        self.input_schema = input_schema
        self.output_schema = output_schema
        self.store = store if isinstance(store, SnapshotStore) else SnapshotStore(store)
        self.tracer_provider = tracer_provider
        self.logger_provider = logger_provider
        self._steps: tuple[Step, ...] = ()
        self.then(*steps)

    def __repr__(self) -> str:
        return f"Workflow(name={self.name!r}, steps={[s.name for s in self._steps]!r})"

    @property
    def steps(self) -> tuple[Step, ...]:
        """The top-level steps, in order."""
        return self._steps

    def then(self, *steps: StepLike) -> Workflow:
        """Append steps to the end (chainable: ``Workflow("w").then(a).then(parallel(b, c))``)."""
        added = tuple(as_step(s) for s in steps)
        seen: set[str] = set()
        for step in (s for top in (*self._steps, *added) for s in top.walk()):
            if step.name in seen:
                raise ValueError(
                    f"workflow {self.name!r} has two steps named {step.name!r}; "
                    "give one another name (step(name=...), agent_step(agent, name=...))"
                )
            seen.add(step.name)
        self._steps = (*self._steps, *added)
        return self

    def find(self, name: str) -> Step | None:
        """The step named ``name`` anywhere in the workflow."""
        return next((s for top in self._steps for s in top.walk() if s.name == name), None)

    # Running

    async def run(
        self,
        input: Any = None,
        *,
        run_id: str | None = None,
        tracer_provider: trace.TracerProvider | None = None,
        logger_provider: _logs.LoggerProvider | None = None,
        on_event: WorkflowListener | None = None,
        debugger: Debugger | None = None,
    ) -> WorkflowRun:
        """Run every step; a failing step ends the run ``failed``, ``ctx.suspend`` ``suspended``.

        Raises ``WorkflowInputError`` (before anything runs) when ``input`` does not fit
        ``input_schema``. ``on_event`` hears each working step start and end, and what agent
        steps write as they write it (``workflows.events``). With a ``debugger``
        (``lumos_core.debug``) the run, and the agents of its steps, pause at its breakpoints.
        """
        if not self._steps:
            raise WorkflowError(f"workflow {self.name!r} has no steps")
        validated = self._validate_input(input)
        if run_id is not None and await asyncio.to_thread(self.store.load, run_id) is not None:
            raise WorkflowError(
                f"run id {run_id!r} is already used in {self.store.path}; resume it or pick another"
            )
        state = RunState(run_id or uuid.uuid4().hex, self.name, validated)
        with attached(debugger or current_debugger()):
            return await self._drive(state, None, tracer_provider, logger_provider, on_event)

    def run_sync(
        self,
        input: Any = None,
        *,
        run_id: str | None = None,
        tracer_provider: trace.TracerProvider | None = None,
        logger_provider: _logs.LoggerProvider | None = None,
    ) -> WorkflowRun:
        """``run`` for code that is not async (scripts, threads)."""
        refuse_inside_event_loop("Workflow.run_sync", "workflow.run(...)")
        return asyncio.run(
            self.run(
                input, run_id=run_id, tracer_provider=tracer_provider,
                logger_provider=logger_provider,
            )
        )

    async def resume(
        self,
        run_id: str,
        *,
        step: str | Step | None = None,
        resume_data: Any = None,
        tracer_provider: trace.TracerProvider | None = None,
        logger_provider: _logs.LoggerProvider | None = None,
        on_event: WorkflowListener | None = None,
        debugger: Debugger | None = None,
    ) -> WorkflowRun:
        """Continue a suspended run at ``step`` (optional when only one step is suspended).

        Completed steps are not run again (their saved outputs flow on, unreported); the resumed
        step runs with ``ctx.resumed`` and ``ctx.resume_data``; other suspended steps stay
        suspended. ``on_event`` as in ``run``.
        """
        snapshot = await asyncio.to_thread(self.store.load, run_id)
        step_name = self._resumable_step(run_id, snapshot, step)
        assert snapshot is not None
        if not await asyncio.to_thread(self.store.claim, run_id):
            raise ResumeError(f"run {run_id!r} is already being resumed")
        try:
            state = RunState(
                run_id,
                self.name,
                coerce(self.input_schema, snapshot.input, "the saved workflow input"),
                outputs=self.restored_outputs(snapshot),
                decisions=dict(snapshot.decisions),
                progress=dict(snapshot.progress),
                carried={k: v for k, v in snapshot.suspended.items() if k != step_name},
                resume_step=step_name,
                resume_data=resume_data,
            )
            with attached(debugger or current_debugger()):
                return await self._drive(state, snapshot, tracer_provider, logger_provider,
                                         on_event)
        except BaseException:
            self.store.save(snapshot)  # still suspended: nothing of this attempt was kept
            raise

    def resume_sync(
        self,
        run_id: str,
        *,
        step: str | Step | None = None,
        resume_data: Any = None,
        tracer_provider: trace.TracerProvider | None = None,
        logger_provider: _logs.LoggerProvider | None = None,
    ) -> WorkflowRun:
        """``resume`` for code that is not async."""
        refuse_inside_event_loop("Workflow.resume_sync", "workflow.resume(...)")
        return asyncio.run(
            self.resume(
                run_id, step=step, resume_data=resume_data, tracer_provider=tracer_provider,
                logger_provider=logger_provider,
            )
        )

    async def fork(
        self,
        run_id: str,
        step: str | Step,
        *,
        input: Any = UNCHANGED,
        new_run_id: str | None = None,
        tracer_provider: trace.TracerProvider | None = None,
        logger_provider: _logs.LoggerProvider | None = None,
        on_event: WorkflowListener | None = None,
        debugger: Debugger | None = None,
    ) -> WorkflowRun:
        """Run a saved run again from ``step``, as a new run: the steps before it keep their
        saved outputs (not run again), ``step`` gets the input it had, or ``input``, and what
        follows runs afresh. Its span links to the original run's (``lumos_core.workflows.fork``).
        """
        snapshot = await asyncio.to_thread(self.store.load, run_id)
        state = fork_state(self, run_id, snapshot, step, input, new_run_id or uuid.uuid4().hex)
        if await asyncio.to_thread(self.store.load, state.run_id) is not None:
            raise WorkflowError(f"run id {state.run_id!r} is already used in {self.store.path}")
        with attached(debugger or current_debugger()):
            return await self._drive(state, None, tracer_provider, logger_provider, on_event)

    def get_run(self, run_id: str) -> WorkflowRun | None:
        """A saved run of this workflow as a ``WorkflowRun`` (``None`` if there is none)."""
        snapshot = self.store.load(run_id)
        if snapshot is None or snapshot.workflow != self.name:
            return None
        # A run being resumed elsewhere is still waiting as far as this reader knows.
        status = cast(RunStatus, "suspended" if snapshot.status == "running" else snapshot.status)
        return WorkflowRun(
            run_id=run_id,
            workflow=self.name,
            status=status,
            input=snapshot.input,
            outputs=dict(snapshot.outputs),
            _output=self._last_output(snapshot.outputs) if status == "success" else None,
            suspended=dict(snapshot.suspended),
            error=snapshot.error,
            trace_id=snapshot.trace_id,
        )

    # Internals

    async def _drive(
        self,
        state: RunState,
        previous: RunSnapshot | None,
        tracer_provider: trace.TracerProvider | None,
        logger_provider: _logs.LoggerProvider | None,
        on_event: WorkflowListener | None = None,
    ) -> WorkflowRun:
        tokens = activate_providers(
            tracer_provider or self.tracer_provider, logger_provider or self.logger_provider
        )
        try:
            return await self._traced(get_tracer(), state, previous, on_event)
        finally:
            reset_providers(tokens)

    async def _traced(
        self,
        tracer: trace.Tracer,
        state: RunState,
        previous: RunSnapshot | None,
        on_event: WorkflowListener | None,
    ) -> WorkflowRun:
        attributes: dict[str, Any] = {
            sc.OPERATION_NAME: sc.OP_INVOKE_WORKFLOW,
            sc.AGENT_NAME: self.name,
            sc.LUMOS_WORKFLOW_NAME: self.name,
            sc.LUMOS_WORKFLOW_RUN_ID: state.run_id,
        }
        if capturing_spans():
            attributes[sc.LUMOS_WORKFLOW_INPUT] = to_json(state.workflow_input)
        if self.description:
            attributes[sc.AGENT_DESCRIPTION] = self.description
        links: list[Link] = []
        if previous is not None:
            attributes[sc.LUMOS_WORKFLOW_RESUMED] = True
            attributes[sc.LUMOS_WORKFLOW_RESUME_STEP] = state.resume_step or ""
            links = _link_to(previous.run_id, previous.trace_id, previous.span_id)
        elif state.fork_of is not None:
            origin = state.fork_of
            attributes[sc.LUMOS_WORKFLOW_FORK_OF] = origin.run_id
            attributes[sc.LUMOS_WORKFLOW_FORK_STEP] = origin.step
            links = _link_to(origin.run_id, origin.trace_id, origin.span_id)
        with tracer.start_as_current_span(
            sc.span_name(sc.OP_INVOKE_WORKFLOW, self.name),
            kind=SpanKind.INTERNAL,
            attributes=attributes,
            links=links,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            status: RunStatus = "success"
            error: StepFailed | WorkflowError | None = None
            try:
                engine = Engine(tracer, state, on_event)
                output = await engine.run_steps(self._steps, state.workflow_input)
                if output is SUSPENDED:
                    status, output = "suspended", None
                else:
                    output = coerce(self.output_schema, output, "the workflow's output")
            except (StepFailed, WorkflowError) as exc:
                status, output, error = "failed", None, exc
                if not isinstance(exc, StepFailed):
                    span.record_exception(exc)
            except asyncio.CancelledError:
                span.set_attribute(sc.LUMOS_WORKFLOW_STATUS, "cancelled")
                raise
            span.set_attribute(sc.LUMOS_WORKFLOW_STATUS, status)
            if status == "success" and span.is_recording() and capturing_spans():
                span.set_attribute(sc.LUMOS_WORKFLOW_OUTPUT, to_json(output))
            elif status == "suspended":
                span.set_attribute(sc.LUMOS_WORKFLOW_SUSPENDED_STEPS, list(state.suspended))
                for name, payload in state.suspended.items():
                    add_suspended_event(span, name, payload)
            elif error is not None:
                cause = error.error if isinstance(error, StepFailed) else error
                span.set_attribute(sc.ERROR_TYPE, type(cause).__qualname__)
                span.set_status(Status(StatusCode.ERROR, str(error)))
            context = span.get_span_context()
            snapshot = RunSnapshot(
                run_id=state.run_id,
                workflow=self.name,
                status=status,
                input=state.workflow_input,
                outputs=state.outputs,
                suspended=state.suspended,
                decisions=state.decisions,
                progress=state.progress,
                error=str(error) if error is not None else None,
                trace_id=format(context.trace_id, "032x") if context.is_valid else None,
                span_id=format(context.span_id, "016x") if context.is_valid else None,
            )
            try:
                await asyncio.to_thread(self.store.save, snapshot, strict=status == "suspended")
            except WorkflowError as exc:
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, str(exc)))
                raise
        return WorkflowRun(
            run_id=state.run_id,
            workflow=self.name,
            status=status,
            input=state.workflow_input,
            outputs=dict(state.outputs),
            _output=output,
            suspended=dict(state.suspended),
            error=str(error) if error is not None else None,
            failed_step=error.step if isinstance(error, StepFailed) else None,
            trace_id=snapshot.trace_id,
            exception=(error.error if isinstance(error, StepFailed) else error),
        )

    def _validate_input(self, value: Any) -> Any:
        schema = self.input_schema
        if schema is None or isinstance(value, schema):
            return value
        try:
            if isinstance(value, str | bytes):
                return schema.model_validate_json(value)
            return schema.model_validate(value)
        except ValidationError as exc:
            raise WorkflowInputError(
                f"workflow {self.name!r} input is invalid ({schema.__name__}): {describe(exc)}"
            ) from exc

    def _resumable_step(
        self, run_id: str, snapshot: RunSnapshot | None, step: str | Step | None
    ) -> str:
        if snapshot is None:
            raise ResumeError(f"no workflow run {run_id!r} in {self.store.path}")
        if snapshot.workflow != self.name:
            raise ResumeError(
                f"run {run_id!r} belongs to workflow {snapshot.workflow!r}, not {self.name!r}"
            )
        if snapshot.status != "suspended":
            raise ResumeError(
                f"run {run_id!r} is {snapshot.status}; only a suspended run can be resumed"
            )
        waiting = ", ".join(snapshot.suspended) or "none"
        if step is None:
            if len(snapshot.suspended) != 1:
                raise ResumeError(
                    f"run {run_id!r} has several suspended steps ({waiting}); pass step=..."
                )
            step = next(iter(snapshot.suspended))
        name = step if isinstance(step, str) else step.name
        if name not in snapshot.suspended:
            raise ResumeError(
                f"step {name!r} is not suspended in run {run_id!r} (suspended: {waiting})"
            )
        if self.find(name) is None:
            raise ResumeError(
                f"workflow {self.name!r} has no step {name!r} any more; it changed since the run"
            )
        return name

    def restored_outputs(self, snapshot: RunSnapshot) -> dict[str, Any]:
        """Saved outputs of function and agent steps, turned back into their schema's models."""
        restored: dict[str, Any] = {}
        for name, value in snapshot.outputs.items():
            step = self.find(name)
            if step is not None and keeps_output(step):
                restored[name] = coerce(step.output_schema, value, f"saved output of {name!r}")
        return restored

    def _last_output(self, outputs: Any) -> Any:
        last = self._steps[-1].name if self._steps else None
        return outputs.get(last) if last is not None else None


def _link_to(run_id: str, trace_id: str | None, span_id: str | None) -> list[Link]:
    """A link to the ``invoke_workflow`` span of an earlier segment (the one a resumed segment
    continues, or the run a fork starts from)."""
    return link_to(trace_id, span_id, {sc.LUMOS_WORKFLOW_RUN_ID: run_id})
