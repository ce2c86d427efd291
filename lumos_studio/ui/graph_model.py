"""What the graph pane draws, free of Textual: a workflow's or an agent's nodes (``GraphNode``)
and each node's state in a run (``NodeRun``), read from the selected trace's spans and from the
live step updates of a running turn.

Node ids: a workflow step's name (unique within its workflow, nested ones included); for an
agent, the agent's name (its run), ``model`` and ``tool:<name>`` / ``agent:<name>``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from lumos_studio.records import STATUS_ERROR, SpanRecord
from lumos_studio.semantics import OperationKind, SpanView, read_span
from lumos_studio.semantics.workflow import step_span, workflow_name, workflow_status
from lumos_studio.sessions.base import AgentInfo, StreamUpdate

if TYPE_CHECKING:
    from lumos_core.worker_protocol import StepShape

MODEL_NODE = "model"


class NodeState(enum.Enum):
    """Where a node is in the run; the order is how final a state is (a later report of a less
    final state does not undo a more final one)."""

    PENDING = "pending"
    RUNNING = "running"
    PAUSED = "paused"
    DONE = "done"
    FAILED = "failed"
    SUSPENDED = "suspended"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {NodeState.PENDING: 0, NodeState.RUNNING: 1, NodeState.PAUSED: 2, NodeState.DONE: 3,
         NodeState.FAILED: 3, NodeState.SUSPENDED: 3}
_STEP_STATUS = {"success": NodeState.DONE, "failed": NodeState.FAILED,
                "cancelled": NodeState.FAILED, "suspended": NodeState.SUSPENDED,
                "running": NodeState.RUNNING}


@dataclass(frozen=True, slots=True)
class GraphNode:
    """One box (a leaf) or container (sequence, parallel, branch, loop, nested workflow, an
    agent's loop). ``condition``: a branch case's test ("" for the default) or a while loop's;
    ``bound``: a loop's limit."""

    id: str
    label: str
    kind: str
    children: tuple[GraphNode, ...] = ()
    condition: str = ""
    bound: int = 0

    def walk(self) -> Iterable[GraphNode]:
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass(frozen=True, slots=True)
class NodeRun:
    """A node's state in the shown run: since ``start_ns`` (until ``end_ns``), its span, and
    for a loop (or an agent's model) the passes made so far."""

    state: NodeState = NodeState.PENDING
    start_ns: int | None = None
    end_ns: int | None = None
    span_id: str | None = None
    iterations: int | None = None


def graph_of(info: AgentInfo) -> GraphNode:
    """The graph of a listed workflow or agent."""
    if info.kind == "workflow":
        steps = tuple(_step_node(shape) for shape in info.shape)
        return GraphNode(info.name, info.name, "workflow_root", steps)
    sub_tools = {sub.tool for sub in info.sub_agents}
    calls = [GraphNode(f"tool:{t}", t, "tool") for t in info.tools if t not in sub_tools]
    calls += [GraphNode(f"agent:{sub.agent}", sub.agent, "handoff" if sub.handoff else "subagent")
              for sub in info.sub_agents]
    loop: tuple[GraphNode, ...] = (GraphNode(MODEL_NODE, info.model or "model", "model"),)
    if calls:
        loop += (GraphNode(f"{info.name}:calls", "tools", "calls", tuple(calls)),)
    return GraphNode(info.name, info.name, "agent_loop", loop, bound=info.max_steps)


def _step_node(shape: StepShape) -> GraphNode:
    return GraphNode(shape.name, shape.name, shape.kind,
                     tuple(_step_node(child) for child in shape.children),
                     shape.condition, shape.bound)


# --- states from spans ---


def runs_from_spans(root: GraphNode, spans: Iterable[SpanRecord],
                    views: Mapping[str, SpanView] | None = None) -> dict[str, NodeRun]:
    """Each node's state in the trace ``spans`` (a run of ``root``'s workflow or agent); a node
    that ran several times (a loop's body) shows its latest."""
    spans = sorted(spans, key=lambda s: s.start_ns)
    if root.kind == "agent_loop":
        return _agent_runs(root, spans, views or {})
    known = {node.id for node in root.walk()}
    runs: dict[str, NodeRun] = {}
    passes: dict[str, int] = {}
    top = next((s for s in spans if step_span(s) is None and workflow_name(s) == root.id), None)
    if top is None:  # not a run of this workflow
        return runs
    runs[root.id] = _span_run(top, _STEP_STATUS.get(workflow_status(top)))
    for span in spans:
        step = step_span(span)
        if step is None:
            continue
        if step.step not in known:
            continue
        if step.iteration is not None:
            passes[step.step] = max(passes.get(step.step, 0), step.iteration)
            continue
        run = _span_run(span, _STEP_STATUS.get(step.status))
        if step.iterations is not None:
            run = replace(run, iterations=step.iterations)
        runs[step.step] = run
    for name, count in passes.items():
        if name in runs and runs[name].iterations is None:
            runs[name] = replace(runs[name], iterations=count)
    return runs


def _agent_runs(root: GraphNode, spans: list[SpanRecord], views: Mapping[str, SpanView]
                ) -> dict[str, NodeRun]:
    ids = {node.id for node in root.walk()}
    parents = {s.span_id: s.parent_span_id for s in spans}
    by_id = {s.span_id: s for s in spans}
    runs: dict[str, NodeRun] = {}
    calls = 0
    agent_span: str | None = None
    for span in spans:
        view = views.get(span.span_id) or read_span(span)
        if view.kind is OperationKind.AGENT and agent_span is None and view.agent_name == root.id:
            agent_span = span.span_id
            runs[root.id] = _span_run(span)
            continue
        if agent_span is None or _owner(span.span_id, parents, by_id, views) != agent_span:
            continue
        if view.kind is OperationKind.LLM:
            calls += 1
            runs[MODEL_NODE] = replace(_span_run(span), iterations=calls)
            runs[root.id] = replace(runs[root.id], iterations=calls)
        elif view.kind is OperationKind.TOOL and view.tool_call is not None:
            tool = view.tool_call.name
            node = f"tool:{tool}" if f"tool:{tool}" in ids else _sub_agent_node(root, tool)
            if node is not None:
                runs[node] = _span_run(span)
    return runs


def _owner(span_id: str, parents: Mapping[str, str | None], by_id: Mapping[str, SpanRecord],
           views: Mapping[str, SpanView]) -> str | None:
    """The nearest ``invoke_agent`` span above ``span_id`` (a sub-agent's calls are its own)."""
    parent = parents.get(span_id)
    while parent is not None:
        span = by_id.get(parent)
        if span is None:
            return None
        view = views.get(parent) or read_span(span)
        if view.kind is OperationKind.AGENT:
            return parent
        parent = parents.get(parent)
    return None


def _sub_agent_node(root: GraphNode, tool: str) -> str | None:
    from lumos_core.subagents import tool_name  # the agent framework: not at the app's start

    for node in root.walk():
        if node.kind in ("subagent", "handoff") and tool_name(node.label) == tool:
            return node.id
    return None


def _span_run(span: SpanRecord, state: NodeState | None = None) -> NodeRun:
    if state is None or (state is NodeState.RUNNING and span.end_ns is not None):
        if span.end_ns is None:
            state = NodeState.RUNNING
        else:
            state = NodeState.FAILED if span.status_code == STATUS_ERROR else NodeState.DONE
    return NodeRun(state, span.start_ns, span.end_ns, span.span_id)


# --- live step updates and the merge ---


def apply_update(live: dict[str, NodeRun], update: StreamUpdate, now_ns: int) -> bool:
    """Take in one streamed step update (``running`` / ``success`` / ``failed`` /
    ``suspended``); True when it changed a node."""
    if update.step is None or not update.step_status:
        return False
    state = _STEP_STATUS.get(update.step_status)
    if state is None:
        return False
    before = live.get(update.step, NodeRun())
    if state is NodeState.RUNNING:
        live[update.step] = NodeRun(state, now_ns, None, before.span_id, before.iterations)
    else:
        live[update.step] = replace(before, state=state, start_ns=before.start_ns or now_ns,
                                    end_ns=now_ns)
    return True


def merged(from_spans: Mapping[str, NodeRun], live: Mapping[str, NodeRun],
           paused: str | None = None) -> dict[str, NodeRun]:
    """The spans' states, with a live update winning where it is more final (spans reach the
    store up to ~100 ms after the step reports), and ``paused`` shown paused."""
    runs = dict(from_spans)
    for node, run in live.items():
        stored = runs.get(node)
        if stored is None:
            runs[node] = run
        elif run.state.rank > stored.state.rank:
            runs[node] = replace(stored, state=run.state, end_ns=stored.end_ns or run.end_ns)
    if paused is not None:
        runs[paused] = replace(runs.get(paused, NodeRun()), state=NodeState.PAUSED)
    return runs
