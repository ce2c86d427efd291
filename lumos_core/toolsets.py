"""Toolsets: tools known only at run time, such as the tools an MCP server lists.

An agent enters each of its toolsets (``async with``) when a run starts and leaves it when the run
ends; a toolset already entered by its owner (``async with server:`` or ``async with agent:``)
stays open across runs, so entering is counted, not repeated.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from lumos_core.tools import Tool


class Toolset(ABC):
    """A source of tools an agent lists at the start of each run (``Agent(tools=[toolset])``)."""

    @property
    def label(self) -> str:
        """Names the toolset in error messages."""
        return type(self).__name__

    async def __aenter__(self) -> Toolset:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        return None

    @abstractmethod
    async def list_tools(self) -> Sequence[Tool]:
        """The tools this toolset offers now; called while it is entered. Each tool's
        ``toolset`` attribute is this toolset, so the agent tells them from its own."""


@asynccontextmanager
async def open_toolsets(
    current: Mapping[str, Tool], toolsets: Sequence[Toolset]
) -> AsyncIterator[tuple[dict[str, Tool], list[dict[str, Any]]]]:
    """Enter ``toolsets`` for one run and yield the run's tools and their definitions.

    The run's tools are the agent's own (those in ``current`` without a ``toolset`` attribute:
    an earlier run's toolset tools are dropped) and what each toolset lists now. A toolset tool
    whose name is already taken is a configuration error, raised before the model is called.
    """
    own = {name: t for name, t in current.items() if getattr(t, "toolset", None) is None}
    async with AsyncExitStack() as stack:
        tools = dict(own)
        owners = dict.fromkeys(own, "the agent's own tools")
        for toolset in toolsets:
            await stack.enter_async_context(toolset)
            for found in await toolset.list_tools():
                if found.name in tools:
                    raise ValueError(
                        f"tool {found.name!r} of {toolset.label} clashes with a tool of the same "
                        f"name in {owners[found.name]}; give the toolset a tool_prefix"
                    )
                tools[found.name] = found
                owners[found.name] = toolset.label
        yield tools, [t.definition() for t in tools.values()]
