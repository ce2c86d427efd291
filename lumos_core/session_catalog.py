"""A loaded file's agents and workflows as a session offers them to the studio: their
descriptions (``Ready``: an agent's tools and sub-agents, a workflow's steps and their shape for
the graph, an example input) and the snapshot file the workflows save their runs in.

Apart from the worker (``lumos_core.runner``) because the in-process session describes the same
definitions the same way.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson

from lumos_core.agent import Agent
from lumos_core.subagents import AgentTool, HandoffTool
from lumos_core.worker_protocol import (
    AgentDescription,
    StepShape,
    SubAgentDescription,
    ToolDescription,
    WorkflowDescription,
)
from lumos_core.workflows import ForEachStep, SnapshotStore, WhileStep, Workflow
from lumos_core.workflows.snapshots import DEFAULT_PATH
from lumos_core.workflows.steps import BranchStep, Step


def describe(agent: Agent) -> AgentDescription:
    return AgentDescription(
        name=agent.name,
        model=agent.model.model_name,
        tools=tuple(agent.tools),
        description=agent.description or "",
        memory=agent.memory is not None,
        sub_agents=tuple(
            SubAgentDescription(t.agent.name, name) if isinstance(t, AgentTool)
            else SubAgentDescription(t.target.name, name, handoff=True)
            for name, t in agent.tools.items() if isinstance(t, AgentTool | HandoffTool)
        ),
        max_steps=agent.max_steps,
        callable_tools=tuple(
            ToolDescription(name, t.description or "", _arguments_example(t.definition()))
            for name, t in agent.tools.items() if not isinstance(t, HandoffTool)
        ),
    )


def _arguments_example(definition: dict[str, Any]) -> str:
    """A tool's arguments as its parameters' schema describes them, for the studio to fill in."""
    parameters = definition.get("parameters")
    properties = parameters.get("properties") if isinstance(parameters, dict) else None
    if not isinstance(properties, dict):
        return "{}"
    return orjson.dumps({
        name: _example_value(spec) if isinstance(spec, dict) else None
        for name, spec in properties.items()
    }).decode()


def step_shape(step: Step) -> StepShape:
    """A step and what it contains, for the studio's graph: a branch's cases carry their
    condition's name, a loop its bound (and a while loop its condition's)."""
    children = tuple(step_shape(child) for child in step.children)
    if isinstance(step, BranchStep):
        named = [_condition_name(condition) for condition, _ in step.cases]
        children = tuple(replace(c, condition=named[i]) if i < len(named) else c
                         for i, c in enumerate(children))
    if isinstance(step, WhileStep):
        return StepShape(step.name, step.kind, children, _condition_name(step.condition),
                         step.max_iterations)
    if isinstance(step, ForEachStep):
        return StepShape(step.name, step.kind, children, bound=step.max_items)
    return StepShape(step.name, step.kind, children)


def _condition_name(condition: object) -> str:
    name = str(getattr(condition, "__name__", "") or "")
    return "condition" if not name or name == "<lambda>" else name.strip("_") or "condition"


def describe_workflow(workflow: Workflow) -> WorkflowDescription:
    """A workflow as the studio lists it: its top-level steps and, with an input schema, an
    example of the JSON it takes (defaults filled in, placeholders for the rest)."""
    schema = workflow.input_schema
    example = ""
    if schema is not None:
        properties = schema.model_json_schema().get("properties", {})
        example = orjson.dumps(
            {name: _example_value(spec) for name, spec in properties.items()}
        ).decode()
    return WorkflowDescription(
        name=workflow.name,
        description=workflow.description or "",
        steps=tuple(s.name for s in workflow.steps),
        has_input_schema=schema is not None,
        input_example=example,
        # Where its runs are saved, for the studio to offer suspended ones again: the user's
        # own file, or the session's (``use_snapshot_store``).
        snapshot_path=_absolute(workflow.store.path),
        shape=tuple(step_shape(s) for s in workflow.steps),
    )


def _absolute(path: str) -> str:
    return path if path == ":memory:" else str(Path(path).resolve())


# What an example input or arguments hold where a string is to be filled in.
PLACEHOLDER = "…"


def _example_value(spec: dict[str, Any]) -> Any:
    if "default" in spec:
        return spec["default"]
    placeholders = {"string": PLACEHOLDER, "integer": 1, "number": 1.0, "boolean": False,
                    "array": []}
    return placeholders.get(spec.get("type", ""))


class _SessionSnapshots(SnapshotStore):
    """A snapshot file a session chose (not the user): the next session may choose again."""


def use_snapshot_store(workflows: dict[str, Workflow], path: Path | None) -> None:
    """Point workflows that keep the default snapshot file at ``path`` (the studio's, beside
    its store); a store the user chose is left alone. Workflows are module-level objects, so a
    process that opens several sessions (tests, the demo) re-points them each time."""
    if path is None:
        return
    for workflow in workflows.values():
        store = workflow.store
        ours = store.path == str(DEFAULT_PATH) or isinstance(store, _SessionSnapshots)
        if ours and store.path != str(path):
            workflow.store = _SessionSnapshots(path)
