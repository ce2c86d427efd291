"""The agents and workflows a studio session offers: the bundled demo, or those of a user's file."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path

from lumos_core import Agent
from lumos_core.loader import AgentFileError, agents_in, load_definitions, workflows_in
from lumos_core.workflows import Workflow

__all__ = [
    "DEMO_MODULE",
    "DEMO_WORKFLOWS_MODULE",
    "AgentCatalog",
    "AgentFileError",
    "load_demo",
    "load_file",
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
            known = ", ".join(sorted(self.agents)) or "none"
            raise LookupError(
                f"no agent named {name!r} in {self.source} (found: {known})"
            ) from None


def load_demo() -> AgentCatalog:
    """The demo agents, and the demo workflows (not the agents those use as steps)."""
    module = importlib.import_module(DEMO_MODULE)
    workflows = workflows_in(importlib.import_module(DEMO_WORKFLOWS_MODULE))
    return AgentCatalog("the bundled demo", agents_in(module), workflows)


def load_file(path: Path) -> AgentCatalog:
    """Import ``path`` in this process and list its agents and workflows."""
    definitions = load_definitions(path)
    return AgentCatalog(str(path.resolve()), definitions.agents, definitions.workflows)
