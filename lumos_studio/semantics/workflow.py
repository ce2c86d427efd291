"""What a workflow's own spans say: which step a span runs, a loop's pass, how the step ended.

The graph pane asks here rather than reading ``lumos.workflow.*`` keys itself (panes read spans
through ``semantics`` only).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lumos_core.telemetry import semconv as sc
from lumos_studio.records import SpanRecord


@dataclass(frozen=True, slots=True)
class StepSpan:
    """A span of a workflow step (``iteration`` None) or of one pass of a loop step (its number,
    from 1). ``status`` is how the step ended ("" while it runs); ``iterations`` the passes a
    loop step made, ``bound`` its limit; ``workflow`` the (innermost) workflow it ran in."""

    step: str
    kind: str = ""
    status: str = ""
    iteration: int | None = None
    iterations: int | None = None
    bound: int | None = None
    workflow: str = ""


def step_span(span: SpanRecord) -> StepSpan | None:
    """The step ``span`` belongs to, or None when it is not a workflow step's span."""
    attributes = span.attributes
    name = attributes.get(sc.LUMOS_WORKFLOW_STEP_NAME)
    if not isinstance(name, str) or not name:
        return None
    return StepSpan(
        step=name,
        kind=_text(attributes.get(sc.LUMOS_WORKFLOW_STEP_KIND)),
        status=_text(attributes.get(sc.LUMOS_WORKFLOW_STEP_STATUS)),
        iteration=_number(attributes.get(sc.LUMOS_WORKFLOW_LOOP_ITERATION)),
        iterations=_number(attributes.get(sc.LUMOS_WORKFLOW_LOOP_ITERATIONS)),
        bound=_number(attributes.get(sc.LUMOS_WORKFLOW_LOOP_BOUND)),
        workflow=_text(attributes.get(sc.LUMOS_WORKFLOW_NAME)),
    )


def workflow_name(span: SpanRecord) -> str:
    """The workflow an ``invoke_workflow`` span (or a step's span) ran in, "" for other spans."""
    return _text(span.attributes.get(sc.LUMOS_WORKFLOW_NAME))


def workflow_status(span: SpanRecord) -> str:
    """How an ``invoke_workflow`` span's run ended (``success``, ``failed``, ``suspended``,
    ``cancelled``), "" while it runs or when the span does not say."""
    return _text(span.attributes.get(sc.LUMOS_WORKFLOW_STATUS))


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _number(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
