"""The studio's breakpoints: where runs of an agent or a workflow pause, remembered per project.

A ``BreakpointSpec`` names its owner (the agent or workflow whose runs it pauses), the point, a
target (a step, a tool, an agent; None for any) and an optional condition on the paused value's
field. ``Breakpoints`` holds them, toggles them (from the agent list, a span in the waterfall or a
node of the graph) and saves them in ``breakpoints.json`` beside the store (``.lumos/`` by
default); a file that is missing or unreadable gives none, the studio never fails over it.
Free of Textual: any pane can use it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lumos_core.debug import PausePoint
from lumos_core.telemetry import semconv as sc
from lumos_studio.records import SpanRecord
from lumos_studio.semantics import OperationKind, SpanView

if TYPE_CHECKING:
    from lumos_core.worker_protocol import BreakAt

log = logging.getLogger(__name__)

BREAKPOINTS_FILE = "breakpoints.json"  # beside the store: each project keeps its own

#: How each point reads in the studio (the agent list's dialog, the paused view).
POINT_WORDS: dict[PausePoint, str] = {
    PausePoint.BEFORE_STEP: "before step",
    PausePoint.AFTER_STEP: "after step",
    PausePoint.BEFORE_MODEL: "before each model call",
    PausePoint.AFTER_MODEL: "after the model answers",
    PausePoint.BEFORE_TOOL: "before each tool call",
    PausePoint.AFTER_TOOL: "after each tool call",
}


@dataclass(frozen=True, slots=True)
class BreakCondition:
    """Pause only when the value's ``field`` (dotted: ``city``, ``order.id``) reads ``equals``
    (a string as it is, anything else as its JSON: ``2``, ``true``)."""

    field: str
    equals: str

    @classmethod
    def parse(cls, text: str) -> BreakCondition | None:
        """``field=value`` (None for empty text); ``ValueError`` saying how when malformed."""
        text = text.strip()
        if not text:
            return None
        field, sign, equals = text.partition("=")
        if not sign or not field.strip():
            raise ValueError(f"a condition reads field=value, e.g. city=Rome (not {text!r})")
        return cls(field.strip(), equals.strip())

    def __str__(self) -> str:
        return f"{self.field}={self.equals}"


@dataclass(frozen=True, slots=True)
class BreakpointSpec:
    """One breakpoint of the studio, for the runs of ``owner``."""

    owner: str
    point: PausePoint
    target: str | None = None
    condition: BreakCondition | None = None

    def wire(self) -> BreakAt:
        """As the run command carries it to the worker."""
        from lumos_core.worker_protocol import BreakAt

        condition = self.condition
        return BreakAt(
            self.point.value,
            self.target,
            condition.field if condition is not None else None,
            condition.equals if condition is not None else "",
        )

    def describe(self) -> str:
        """``before each tool call get_weather if city=Rome``: for lists and notices (outside
        text: show it through ``display``)."""
        words = POINT_WORDS[self.point]
        target = f" {self.target}" if self.target else ""
        condition = f" if {self.condition}" if self.condition is not None else ""
        return f"{words}{target}{condition}"


class Breakpoints:
    """The project's breakpoints; every change is saved at once when it has a ``path``."""

    def __init__(self, specs: Iterable[BreakpointSpec] = (), path: Path | None = None) -> None:
        self.path = path
        self._specs: list[BreakpointSpec] = list(dict.fromkeys(specs))

    @classmethod
    def load(cls, path: Path) -> Breakpoints:
        """The saved breakpoints (entries that do not read well are skipped)."""
        try:
            saved = json.loads(path.read_text())
        except FileNotFoundError:
            return cls(path=path)
        except (OSError, ValueError) as exc:
            log.warning("ignoring the breakpoints file %s: %s", path, exc)
            return cls(path=path)
        entries = saved.get("breakpoints") if isinstance(saved, dict) else None
        specs = [s for e in entries if (s := _spec(e)) is not None] if isinstance(
            entries, list) else []
        return cls(specs, path)

    def save(self) -> None:
        if self.path is None:
            return
        entries = [
            {"owner": s.owner, "point": s.point.value, "target": s.target,
             "field": s.condition.field if s.condition else None,
             "equals": s.condition.equals if s.condition else ""}
            for s in self._specs
        ]
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps({"breakpoints": entries}, indent=2) + "\n")
        except OSError as exc:  # a read-only project: breakpoints still work for this session
            log.warning("could not save the breakpoints in %s: %s", self.path, exc)

    @property
    def specs(self) -> tuple[BreakpointSpec, ...]:
        return tuple(self._specs)

    def of(self, owner: str) -> tuple[BreakpointSpec, ...]:
        return tuple(s for s in self._specs if s.owner == owner)

    def owners(self) -> frozenset[str]:
        """Agents and workflows with at least one breakpoint (the agent list's gutter)."""
        return frozenset(s.owner for s in self._specs)

    def wire(self, owner: str) -> tuple[BreakAt, ...]:
        """What a run of ``owner`` is sent with."""
        return tuple(s.wire() for s in self.of(owner))

    def __contains__(self, spec: object) -> bool:
        return spec in self._specs

    def toggle(self, spec: BreakpointSpec) -> bool:
        """Set ``spec``, or remove it when it is set; True when it is now set."""
        if spec in self._specs:
            self._specs.remove(spec)
            added = False
        else:
            self._specs.append(spec)
            added = True
        self.save()
        return added

    def clear(self, owner: str) -> None:
        self._specs = [s for s in self._specs if s.owner != owner]
        self.save()

    def put(self, spec: BreakpointSpec, on: bool) -> None:
        """Set or remove ``spec`` (as a toggle that already knows its outcome: the graph's)."""
        if (spec in self._specs) != on:
            self.toggle(spec)

    def node_ids(self, owner: str, workflow: bool) -> set[str]:
        """The graph's nodes of ``owner`` a breakpoint stops at (``node_breakpoint``'s ids)."""
        return {node for s in self.of(owner) if (node := node_id(s, workflow)) is not None}

    def marked_spans(
        self, owner: str | None, spans: Mapping[str, SpanRecord], views: Mapping[str, SpanView]
    ) -> frozenset[str]:
        """The spans of a trace of ``owner`` a breakpoint would stop at (the waterfall's
        gutter)."""
        if owner is None or not any(s.owner == owner for s in self._specs):
            return frozenset()
        marked = set()
        for span_id, span in spans.items():
            spec = span_breakpoint(owner, span, views.get(span_id))
            if spec is not None and any(_covers(s, spec) for s in self.of(owner)):
                marked.add(span_id)
        return frozenset(marked)


def span_breakpoint(
    owner: str, span: SpanRecord, view: SpanView | None
) -> BreakpointSpec | None:
    """The breakpoint a span of a run of ``owner`` stands for: before its step, before its
    tool's calls, before its agent's model calls; None for a span no run pauses at."""
    step = span.attributes.get(sc.LUMOS_WORKFLOW_STEP_NAME)
    if isinstance(step, str) and step:
        return BreakpointSpec(owner, PausePoint.BEFORE_STEP, step)
    if view is None:
        return None
    if view.kind is OperationKind.TOOL and view.tool_call is not None and view.tool_call.name:
        return BreakpointSpec(owner, PausePoint.BEFORE_TOOL, view.tool_call.name)
    if view.kind is OperationKind.LLM:
        return BreakpointSpec(owner, PausePoint.BEFORE_MODEL)
    if view.kind is OperationKind.AGENT and view.agent_name and view.agent_name != owner:
        return BreakpointSpec(owner, PausePoint.BEFORE_MODEL, view.agent_name)
    if view.kind is OperationKind.AGENT:
        return BreakpointSpec(owner, PausePoint.BEFORE_MODEL)
    return None


def node_breakpoint(owner: str, node: str, workflow: bool) -> BreakpointSpec:
    """The breakpoint a graph node stands for. A workflow's nodes are its steps (before the
    step); an agent's are itself and ``model`` (before each model call), ``tool:NAME`` (before
    that tool's calls) and ``agent:NAME`` (before a sub-agent's model calls)."""
    if workflow:
        return BreakpointSpec(owner, PausePoint.BEFORE_STEP, node)
    if node.startswith("tool:"):
        return BreakpointSpec(owner, PausePoint.BEFORE_TOOL, node.removeprefix("tool:"))
    if node.startswith("agent:"):
        return BreakpointSpec(owner, PausePoint.BEFORE_MODEL, node.removeprefix("agent:"))
    return BreakpointSpec(owner, PausePoint.BEFORE_MODEL)


def node_id(spec: BreakpointSpec, workflow: bool) -> str | None:
    """The graph node ``spec`` is drawn on (None: no node stands for it, e.g. a condition)."""
    if spec.condition is not None:
        return None
    if workflow:
        return spec.target if spec.point is PausePoint.BEFORE_STEP else None
    if spec.point is PausePoint.BEFORE_TOOL and spec.target:
        return f"tool:{spec.target}"
    if spec.point is PausePoint.BEFORE_MODEL:
        return "model" if spec.target is None else f"agent:{spec.target}"
    return None


def _covers(spec: BreakpointSpec, wanted: BreakpointSpec) -> bool:
    """Whether ``spec`` (set) stops where ``wanted`` (a span's) stands."""
    if spec.point is not wanted.point:
        return False
    return spec.target is None or spec.target == wanted.target


def _spec(entry: object) -> BreakpointSpec | None:
    if not isinstance(entry, dict):
        return None
    owner, point, target = entry.get("owner"), entry.get("point"), entry.get("target")
    field, equals = entry.get("field"), entry.get("equals", "")
    if not isinstance(owner, str) or point not in {p.value for p in PausePoint}:
        return None
    if target is not None and not isinstance(target, str):
        return None
    condition = None
    if isinstance(field, str) and field:
        condition = BreakCondition(field, equals if isinstance(equals, str) else str(equals))
    return BreakpointSpec(owner, PausePoint(point), target, condition)
