"""Replaying an agent's toolsets (MCP servers) from a trace, without starting them.

The tools a toolset listed are known only at run time, so a replay offers the tools the recorded
model calls were offered (their definitions are on the chat spans) and answers each call with its
recorded result, naming the server on the span as the original call did. A tool named in
``real_tools`` needs its server: then the servers are started, and only the named tools call them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import trace
from pydantic import BaseModel, ConfigDict

from lumos_core.telemetry import semconv as sc
from lumos_core.tools import Tool, ToolOutcome
from lumos_core.toolsets import Toolset

TakeRecorded = Callable[[str, dict[str, Any]], ToolOutcome]
#: What an ``execute_tool`` span says of the tool's source, copied onto the replayed call's span.
_SOURCE_KEYS = (sc.TOOL_TYPE, sc.LUMOS_MCP_SERVER, sc.LUMOS_MCP_TRANSPORT, sc.LUMOS_MCP_TOOL_NAME,
                sc.MCP_METHOD_NAME, sc.MCP_PROTOCOL_VERSION)


@dataclass(frozen=True, slots=True)
class RecordedToolDefinition:
    """A tool as the recorded model saw it, and what its recorded calls' spans said of its
    source (``lumos.mcp.server``, ``gen_ai.tool.type``, ...)."""

    name: str
    description: str
    parameters: dict[str, Any]
    span_attributes: dict[str, Any] = field(default_factory=dict)


class _AsRecorded(BaseModel):
    """Arguments passed through as the model sent them (the recording answers, not a schema)."""

    model_config = ConfigDict(extra="allow")


class RecordedToolsetTool(Tool):
    """A toolset's tool answering from the trace."""

    def __init__(self, definition: RecordedToolDefinition, toolset: Toolset,
                 take: TakeRecorded) -> None:  # no super(): no function to wrap
        self.name = definition.name
        self.description = definition.description
        self.parameters_schema = definition.parameters
        self.arguments_model = _AsRecorded
        self.is_async = True
        self.toolset = toolset
        self.span_attributes = definition.span_attributes
        self._take = take
        self.function = self.__call__

    def __call__(self, **arguments: Any) -> str:
        return self._take(self.name, arguments).text

    async def invoke(self, arguments: dict[str, Any], *, in_thread: bool = False
                     ) -> ToolOutcome:  # answers at once: ``in_thread`` changes nothing
        span = trace.get_current_span()
        if self.span_attributes and span.is_recording():
            span.set_attributes(self.span_attributes)
        return self._take(self.name, arguments)


class ReplayedToolsets(Toolset):
    """Stands in for all of an agent's toolsets in a replay (see the module docstring)."""

    def __init__(
        self,
        toolsets: Sequence[Toolset],
        recorded: Sequence[RecordedToolDefinition],
        take: TakeRecorded,
        real_tools: set[str],
    ) -> None:
        """``real_tools``: names, none of them the agent's own, whose calls go to the servers."""
        self.toolsets = list(toolsets)
        self.recorded = {d.name: d for d in recorded}
        self.take = take
        self.real_tools = real_tools
        self._stack: AsyncExitStack | None = None
        self._live: list[Tool] = []

    @property
    def label(self) -> str:
        return "the toolsets of the recorded run"

    async def __aenter__(self) -> ReplayedToolsets:
        if self.real_tools and self.toolsets:  # a toolset's tool must run for real
            async with AsyncExitStack() as stack:
                live: list[Tool] = []
                for toolset in self.toolsets:
                    await stack.enter_async_context(toolset)
                    live.extend(await toolset.list_tools())
                self._live = live
                self._stack = stack.pop_all()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.aclose()

    async def list_tools(self) -> Sequence[Tool]:
        if self._stack is None:
            return [RecordedToolsetTool(d, self, self.take) for d in self.recorded.values()]
        tools: list[Tool] = []
        for live in self._live:
            if live.name in self.real_tools:
                tools.append(live)
            else:
                recorded = self.recorded.get(live.name)
                definition = RecordedToolDefinition(
                    live.name, live.description, live.parameters_schema,
                    recorded.span_attributes if recorded is not None else {},
                )
                tools.append(RecordedToolsetTool(definition, self, self.take))
        return tools


def toolset_tool_definitions(
    chat_definitions: Sequence[Any],
    called: Mapping[str, Mapping[str, Any]],
    own: set[str],
) -> list[RecordedToolDefinition]:
    """The recorded tools that were not the agent's own: from the chat spans' definitions (each a
    list of tool definitions, in order), then tools only seen called; ``called`` maps a tool's name
    to its recorded call's span attributes."""
    found: dict[str, RecordedToolDefinition] = {}
    for definitions in chat_definitions:
        for definition in definitions if isinstance(definitions, list) else ():
            if not isinstance(definition, dict):
                continue
            function = definition.get("function")
            if isinstance(function, dict):  # {"type": "function", "function": {...}}
                definition = function
            name = definition.get("name")
            if not isinstance(name, str) or name in own or name in found:
                continue
            parameters = definition.get("parameters")
            found[name] = RecordedToolDefinition(
                name, str(definition.get("description") or ""),
                parameters if isinstance(parameters, dict) else {"type": "object"},
                _source_attributes(called.get(name, {})),
            )
    for name, attributes in called.items():
        if name not in own and name not in found:
            found[name] = RecordedToolDefinition(name, "", {"type": "object"},
                                                 _source_attributes(attributes))
    return list(found.values())


def _source_attributes(attributes: Mapping[str, Any]) -> dict[str, Any]:
    return {k: attributes[k] for k in _SOURCE_KEYS if k in attributes}
