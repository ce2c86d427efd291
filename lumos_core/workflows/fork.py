"""Forking a saved run from one of its steps: the state as it was when that step began.

"Before the step" is the definition's order (depth first): the steps ahead of it keep their
saved outputs and are not run again, branches ahead of it (and those it is in) keep their choice,
and everything from the step on runs afresh, so with nothing edited a deterministic run (the
scripted model) comes out the same. A step inside a loop has one state per pass, so forks start
from the loop instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from lumos_core.workflows.constructs import ForEachStep, WhileStep
from lumos_core.workflows.engine import ForkOrigin, RunState, coerce
from lumos_core.workflows.result import ResumeError
from lumos_core.workflows.snapshots import RunSnapshot
from lumos_core.workflows.steps import Step

if TYPE_CHECKING:
    from lumos_core.workflows.workflow import Workflow


class _Unchanged:
    def __repr__(self) -> str:
        return "UNCHANGED"


#: ``Workflow.fork(input=...)`` left out: the step gets the input it had.
UNCHANGED: Final = _Unchanged()


def fork_state(
    workflow: Workflow,
    run_id: str,
    snapshot: RunSnapshot | None,
    step: str | Step,
    input: Any,
    new_run_id: str,
) -> RunState:
    """The state a fork of ``run_id`` from ``step`` starts with; ``ResumeError`` saying why
    when there is no such run or step, or the step is inside a loop."""
    if snapshot is None:
        raise ResumeError(f"no workflow run {run_id!r} in {workflow.store.path}")
    if snapshot.workflow != workflow.name:
        raise ResumeError(
            f"run {run_id!r} belongs to workflow {snapshot.workflow!r}, not {workflow.name!r}"
        )
    if snapshot.status == "running":
        raise ResumeError(f"run {run_id!r} is being resumed; fork it once that ends")
    name = step if isinstance(step, str) else step.name
    order, path = _order_and_path(workflow.steps, name)
    if path is None:
        known = ", ".join(s.name for s in order) or "none"
        raise ResumeError(f"workflow {workflow.name!r} has no step {name!r} (steps: {known})")
    loop = next((s for s in path[:-1] if isinstance(s, WhileStep | ForEachStep)), None)
    if loop is not None:
        raise ResumeError(
            f"step {name!r} is inside loop {loop.name!r}, which runs it once a pass; "
            f"fork from {loop.name!r} instead"
        )
    ahead = {s.name for s in order[: order.index(path[-1])]}
    kept = RunSnapshot(
        run_id, snapshot.workflow, snapshot.status, snapshot.input,
        {k: v for k, v in snapshot.outputs.items() if k in ahead},
        {}, {k: v for k, v in snapshot.decisions.items() if k in ahead},
    )
    target = path[-1]
    overrides: dict[str, Any] = {}
    if input is not UNCHANGED:
        overrides[name] = coerce(target.input_schema, input, f"the new input of step {name!r}")
    return RunState(
        new_run_id,
        workflow.name,
        coerce(workflow.input_schema, snapshot.input, "the saved workflow input"),
        outputs=workflow.restored_outputs(kept),
        decisions=dict(kept.decisions),
        overrides=overrides,
        fork_of=ForkOrigin(run_id, name, snapshot.trace_id, snapshot.span_id),
    )


def _order_and_path(
    steps: tuple[Step, ...], name: str
) -> tuple[list[Step], list[Step] | None]:
    """Every step depth first, and the steps from the top down to ``name`` (None: absent)."""
    order: list[Step] = []
    found: list[Step] | None = None

    def visit(step: Step, above: list[Step]) -> None:
        nonlocal found
        order.append(step)
        if step.name == name and found is None:
            found = [*above, step]
        for child in step.children:
            visit(child, [*above, step])

    for top in steps:
        visit(top, [])
    return order, found
