"""How the engine runs loops, nested workflows and tool steps (``constructs``).

A loop keeps where it is in ``RunState.progress`` (the iteration and the value going in, or a
foreach's items and the outputs so far), saved with the snapshot: a run suspended inside an
iteration resumes in that iteration, with the outputs of its steps that had finished.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from lumos_core.telemetry import semconv as sc
from lumos_core.workflows.constructs import (
    ForEachStep,
    LoopLimitExceeded,
    ToolStep,
    WhileStep,
    WorkflowStep,
)
from lumos_core.workflows.result import WorkflowError
from lumos_core.workflows.snapshots import to_json

if TYPE_CHECKING:
    from lumos_core.workflows.engine import Engine


async def run_while(engine: Engine, step: WhileStep, value: Any, span: trace.Span) -> Any:
    from lumos_core.workflows.engine import SUSPENDED

    state = engine.state
    progress = state.progress.get(step.name)
    iteration = 0
    resuming = progress is not None
    if progress is not None:
        iteration, value = int(progress["iteration"]), progress["value"]
    while True:
        if not resuming:
            if not await _maybe_await(step.condition(engine.context(step, value))):
                break
            if iteration >= step.max_iterations:
                raise LoopLimitExceeded(
                    f"loop {step.name!r} still held its condition after {iteration} iterations "
                    f"(max_iterations={step.max_iterations}); raise the bound or change the "
                    "condition"
                )
            iteration += 1
            engine.forget(step.body)  # the previous iteration's outputs and branch choices
        resuming = False
        state.progress[step.name] = {"iteration": iteration, "value": value}
        output = await _iteration(engine, step, iteration, value)
        if output is SUSPENDED:
            return SUSPENDED
        value = output
    state.progress.pop(step.name, None)
    span.set_attribute(sc.LUMOS_WORKFLOW_LOOP_ITERATIONS, iteration)
    return value


async def run_foreach(engine: Engine, step: ForEachStep, value: Any, span: trace.Span) -> Any:
    from lumos_core.workflows.engine import SUSPENDED

    state = engine.state
    progress = state.progress.get(step.name)
    if progress is not None:
        items, results = list(progress["items"]), list(progress["results"])
    else:
        chosen = value
        if step.items is not None:
            chosen = await _maybe_await(step.items(engine.context(step, value)))
        if not isinstance(chosen, list | tuple):
            raise WorkflowError(
                f"foreach {step.name!r} needs a list to go over, not {type(chosen).__name__}"
            )
        if len(chosen) > step.max_items:
            raise LoopLimitExceeded(
                f"foreach {step.name!r} got {len(chosen)} items, more than its bound "
                f"(max_items={step.max_items}); raise the bound or pass fewer items"
            )
        items, results = list(chosen), []
    resuming = progress is not None
    for index in range(len(results), len(items)):
        if not resuming:
            engine.forget(step.body)
        resuming = False
        state.progress[step.name] = {"items": items, "results": results}
        output = await _iteration(engine, step, index + 1, items[index])
        if output is SUSPENDED:
            return SUSPENDED
        results.append(output)
    state.progress.pop(step.name, None)
    span.set_attribute(sc.LUMOS_WORKFLOW_LOOP_ITERATIONS, len(items))
    return results


async def _iteration(engine: Engine, step: WhileStep | ForEachStep, number: int, value: Any) -> Any:
    """One pass of a loop's body, in a span of its own (numbered from 1)."""
    bound = step.max_iterations if isinstance(step, WhileStep) else step.max_items
    with engine.tracer.start_as_current_span(
        sc.span_name(sc.SPAN_WORKFLOW_ITERATION, step.name),
        kind=SpanKind.INTERNAL,
        attributes={
            sc.LUMOS_WORKFLOW_STEP_NAME: step.name,
            sc.LUMOS_WORKFLOW_LOOP_ITERATION: number,
            sc.LUMOS_WORKFLOW_LOOP_BOUND: bound,
        },
        record_exception=False,
        set_status_on_exception=False,
    ):
        return await engine.execute(step.body, value)


async def run_nested(engine: Engine, step: WorkflowStep, value: Any, span: trace.Span) -> Any:
    """The nested workflow's steps on ``value``, in its ``invoke_workflow`` span (none when the
    whole step is being replayed from saved outputs)."""
    from lumos_core.workflows.engine import SUSPENDED, coerce

    child = step.workflow
    inner = engine.nested(child.name, value)
    if span is trace.INVALID_SPAN:  # replayed: it finished before a suspend
        return await inner.run_steps(step.children, value)
    attributes: dict[str, Any] = {
        sc.OPERATION_NAME: sc.OP_INVOKE_WORKFLOW,
        sc.AGENT_NAME: child.name,
        sc.LUMOS_WORKFLOW_NAME: child.name,
        sc.LUMOS_WORKFLOW_RUN_ID: engine.state.run_id,
        sc.LUMOS_WORKFLOW_PARENT: engine.workflow,
        sc.LUMOS_WORKFLOW_INPUT: to_json(value),
    }
    if child.description:
        attributes[sc.AGENT_DESCRIPTION] = child.description
    with engine.tracer.start_as_current_span(
        sc.span_name(sc.OP_INVOKE_WORKFLOW, child.name),
        kind=SpanKind.INTERNAL,
        attributes=attributes,
        record_exception=False,
        set_status_on_exception=False,
    ) as inner_span:
        try:
            output = await inner.run_steps(step.children, value)
        except WorkflowError as exc:
            inner_span.set_attribute(sc.LUMOS_WORKFLOW_STATUS, "failed")
            inner_span.set_status(Status(StatusCode.ERROR, str(exc)))
            raise
        if output is SUSPENDED:
            inner_span.set_attribute(sc.LUMOS_WORKFLOW_STATUS, "suspended")
            return SUSPENDED
        output = coerce(step.output_schema, output, f"workflow {child.name!r} output")
        inner_span.set_attribute(sc.LUMOS_WORKFLOW_STATUS, "success")
        if inner_span.is_recording():
            inner_span.set_attribute(sc.LUMOS_WORKFLOW_OUTPUT, to_json(output))
        return output


async def run_tool(engine: Engine, step: ToolStep, arguments: Any) -> Any:
    """The tool's function on the validated arguments, in an ``execute_tool`` span."""
    tool = step.tool
    attributes: dict[str, Any] = {
        sc.OPERATION_NAME: sc.OP_EXECUTE_TOOL,
        sc.TOOL_NAME: tool.name,
        sc.TOOL_TYPE: "function",
    }
    if tool.description:
        attributes[sc.TOOL_DESCRIPTION] = tool.description
    with engine.tracer.start_as_current_span(
        sc.span_name(sc.OP_EXECUTE_TOOL, tool.name), kind=SpanKind.INTERNAL, attributes=attributes
    ) as span:
        kwargs = {name: getattr(arguments, name) for name in type(arguments).model_fields}
        if span.is_recording():
            span.set_attribute(sc.TOOL_CALL_ARGUMENTS, to_json(kwargs))
        result = await _maybe_await(tool.function(**kwargs))
        if span.is_recording():
            span.set_attribute(sc.TOOL_CALL_RESULT, to_json(result))
        return result


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value
