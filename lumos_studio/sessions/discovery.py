"""The agents a studio session offers: the bundled demo, or those of a user's file."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

from lumos_core import Agent
from lumos_core.loader import AgentFileError, agents_in, load_agents

__all__ = ["DEMO_MODULE", "AgentCatalog", "AgentFileError", "load_demo", "load_file"]

DEMO_MODULE = "lumos_studio.demo.agents"


@dataclass(frozen=True)
class AgentCatalog:
    """The agents found in one module, by name."""

    source: str
    agents: dict[str, Agent]

    def get(self, name: str) -> Agent:
        try:
            return self.agents[name]
        except KeyError:
            known = ", ".join(sorted(self.agents)) or "none"
            raise LookupError(
                f"no agent named {name!r} in {self.source} (found: {known})"
            ) from None


def load_demo() -> AgentCatalog:
    module = importlib.import_module(DEMO_MODULE)
    return AgentCatalog("the bundled demo", agents_in(module))


def load_file(path: Path) -> AgentCatalog:
    """Import ``path`` in this process and list its agents."""
    return AgentCatalog(str(path.resolve()), load_agents(path))
