"""The agents and workflows a studio session offers: the bundled demo, or those of a user's file."""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from lumos_core import Agent
from lumos_core.loader import AgentFileError, agents_in, load_definitions, workflows_in
from lumos_core.workflows import Workflow
from lumos_studio.sessions.demo import DEMO_SOURCE

__all__ = [
    "DEMO_MODULE",
    "DEMO_WORKFLOWS_MODULE",
    "AgentCatalog",
    "AgentFileError",
    "load_demo",
    "load_file",
    "unknown_name",
]

DEMO_MODULE = "lumos_studio.demo.agents"
DEMO_WORKFLOWS_MODULE = "lumos_studio.demo.workflows"


@dataclass(frozen=True)
class AgentCatalog:
    """The agents and workflows found in one module, each by name."""

    source: str
    agents: dict[str, Agent]
    workflows: dict[str, Workflow] = field(default_factory=dict)

    def get(self, name: str) -> Agent:
        try:
            return self.agents[name]
        except KeyError:
            message = unknown_name(name, self.source, self.agents, self.workflows)
            raise LookupError(message) from None


def unknown_name(name: str, source: object, agents: Iterable[str], workflows: Iterable[str]) -> str:
    """What to say when ``name`` is neither an agent nor a workflow: both lists, so a workflow
    (which ``run`` takes too) is never left out."""
    agent_names = ", ".join(sorted(agents)) or "none"
    listed = f"agents: {agent_names}"
    workflow_names = ", ".join(sorted(workflows))
    if workflow_names:
        listed += f"; workflows: {workflow_names}"
    return f"no agent or workflow named {name!r} in {source} ({listed})"


def load_demo() -> AgentCatalog:
    """The demo agents, and the demo workflows (not the agents those use as steps)."""
    module = importlib.import_module(DEMO_MODULE)
    workflows = workflows_in(importlib.import_module(DEMO_WORKFLOWS_MODULE))
    return AgentCatalog(DEMO_SOURCE, agents_in(module), workflows)


def load_file(path: Path) -> AgentCatalog:
    """Import ``path`` in this process and list its agents and workflows."""
    definitions = load_definitions(path)
    return AgentCatalog(str(path.resolve()), definitions.agents, definitions.workflows)
