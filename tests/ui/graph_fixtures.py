"""Small workflows of each shape, and the spans of a run of them, for the graph pane's tests."""

from __future__ import annotations

from lumos_core.session_catalog import describe_workflow
from lumos_core.telemetry import semconv as sc
from lumos_core.workflows import (
    StepContext,
    Workflow,
    branch,
    foreach,
    loop_while,
    parallel,
    step,
)
from lumos_studio.records import SpanRecord
from lumos_studio.sessions.base import AgentInfo
from tests.builders import MS, T0, make_span

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def _named(name: str) -> step:  # type: ignore[valid-type]
    def run(ctx: StepContext) -> object:
        return ctx.input

    return step(run, name=name)


def _is_big(ctx: StepContext) -> bool:
    return bool(ctx.input)


def _is_small(ctx: StepContext) -> bool:
    return not ctx.input


def _needs_more(ctx: StepContext) -> bool:
    return False


def _workflow(name: str, steps: list[object]) -> AgentInfo:
    return AgentInfo.from_wire(describe_workflow(Workflow(name, steps, store=":memory:")))


def sequence_info() -> AgentInfo:
    return _workflow("seq", [_named("fetch"), _named("parse"), _named("summarise"),
                             _named("publish")])


def parallel_info() -> AgentInfo:
    return _workflow("par", [_named("plan"),
                             parallel(_named("weather"), _named("sights"), _named("hotels"),
                                      name="research"),
                             _named("book")])


def branch_info() -> AgentInfo:
    return _workflow("br", [_named("measure"),
                            branch((_is_big, _named("big_plan")), (_is_small, _named("small_plan")),
                                   default=_named("ask_again"), name="size"),
                            _named("report")])


def loop_info() -> AgentInfo:
    return _workflow("loop", [_named("draft"),
                              loop_while(_needs_more, [_named("critique"), _named("polish")],
                                         max_iterations=5, name="revise"),
                              foreach(_named("translate"), max_items=10, name="each_language")])


def nested_info() -> AgentInfo:
    inner = Workflow("review", [parallel(_named("facts"), _named("style"), name="checks"),
                                _named("verdict")], store=":memory:")
    return _workflow("outer", [_named("write"), inner, _named("ship")])


def run_spans(workflow: str, steps: dict[str, tuple[str, int, int | None]],
              passes: dict[str, int] | None = None) -> list[SpanRecord]:
    """A run's spans: ``steps`` maps a step to (status, start ms, duration ms or None while it
    runs); ``passes`` gives a loop's iterations so far (an ``iteration`` span each)."""
    spans = [make_span(f"invoke_workflow {workflow}", trace_id=TRACE, span_id="0" * 15 + "1",
                       duration_ms=None,
                       attributes={sc.OPERATION_NAME: sc.OP_INVOKE_WORKFLOW,
                                   sc.LUMOS_WORKFLOW_NAME: workflow})]
    for i, (name, (status, start, duration)) in enumerate(steps.items(), start=2):
        attributes: dict[str, object] = {sc.LUMOS_WORKFLOW_NAME: workflow,
                                         sc.LUMOS_WORKFLOW_STEP_NAME: name}
        if duration is not None:
            attributes[sc.LUMOS_WORKFLOW_STEP_STATUS] = status
        spans.append(make_span(f"step {name}", trace_id=TRACE, span_id=f"{i:016x}",
                               parent="0" * 15 + "1", start=T0 + start * MS,
                               duration_ms=duration, attributes=attributes,
                               status="ERROR" if status == "failed" else "UNSET"))
        for number in range(1, (passes or {}).get(name, 0) + 1):
            spans.append(make_span(
                f"iteration {name}", trace_id=TRACE, span_id=f"{i:08x}{number:08x}",
                parent=f"{i:016x}", start=T0 + (start + number) * MS, duration_ms=None,
                attributes={sc.LUMOS_WORKFLOW_STEP_NAME: name,
                            sc.LUMOS_WORKFLOW_LOOP_ITERATION: number}))
    return spans
