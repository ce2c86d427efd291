"""MCP servers as agent toolsets: stdio subprocesses and streamable-HTTP endpoints.

Lifecycle: an agent enters its servers at the start of each run and leaves them at its end, so
without more a stdio server is started and stopped per run. ``async with agent:`` (or
``async with server:``) keeps the connection open across the runs inside it. Entering is
counted, so nested and concurrent runs share one connection; a server found dead is
reconnected when the next run starts.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import sys
from abc import abstractmethod
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, Final, TextIO

import orjson
from opentelemetry import trace
from pydantic import BaseModel, ConfigDict

from lumos_core.run_results import AgentRunError
from lumos_core.telemetry import semconv as sc
from lumos_core.tools import Tool, ToolOutcome
from lumos_core.toolsets import Toolset

from ._connection import Connection

_INSTALL_HINT: Final = "MCP servers need the mcp package: pip install 'lumos-studio[mcp]'"
_MAX_PAGES: Final = 100
#: The JSON-RPC code the ``mcp`` client gives a request whose connection closed.
CONNECTION_CLOSED: Final = -32000


class MCPServerError(AgentRunError):
    """An MCP server could not be started or reached; the message names it."""


class MCPServer(Toolset):
    """The transport-independent part: connection counting, tool listing and calling."""

    transport: str = ""

    def __init__(
        self,
        *,
        name: str | None,
        tool_prefix: str | None,
        timeout: float,
        connect_timeout: float,
    ) -> None:
        if importlib.util.find_spec("mcp") is None:
            raise ImportError(_INSTALL_HINT)
        self.name = name
        self.tool_prefix = tool_prefix
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self._users = 0
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None
        self._connection: Connection | None = None
        self._tools: list[MCPTool] = []

    @property
    def label(self) -> str:
        return f"MCP server {self.describe()!r}"

    @abstractmethod
    def describe(self) -> str:
        """What the user configured (a command line or a URL), for messages."""

    @abstractmethod
    def _open_client(self) -> AbstractAsyncContextManager[Any]:
        """A fresh ``mcp.Client`` for this server, not yet entered."""

    def _explain(self, exc: BaseException) -> str:
        """One sentence for a connection that failed with ``exc``."""
        return f"{self.label} failed while connecting: {_leaf_message(exc)}"

    async def __aenter__(self) -> MCPServer:
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock_loop is not loop:  # a lock serves one loop
            self._lock, self._lock_loop = asyncio.Lock(), loop
        async with self._lock:
            connection = self._connection
            if connection is not None and connection.loop is not loop:
                if self._users:
                    raise MCPServerError(
                        f"{self.label} is open in another event loop; open and use it in one loop"
                    )
                connection = None
            if connection is None or not connection.alive:
                self._connection = await self._connect()
            self._users += 1
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._users -= 1
        if self._users == 0 and self._connection is not None:
            connection, self._connection = self._connection, None
            await connection.close()

    async def list_tools(self) -> Sequence[Tool]:
        """The tools the server listed when it connected, named with ``tool_prefix``."""
        if self._connection is None:
            raise MCPServerError(f"{self.label} is not open; use it inside `async with`")
        return self._tools

    async def _connect(self) -> Connection:
        connection = Connection(self._open_client)
        try:
            await connection.open(self.connect_timeout)
            client = connection.client
            tools = await _list_all(connection, self.connect_timeout)
        except TimeoutError:
            await connection.close()
            raise MCPServerError(
                f"{self.label} did not finish connecting within {self.connect_timeout:g} s; "
                "check that it is an MCP server or raise connect_timeout"
            ) from None
        except Exception as exc:
            await connection.close()
            raise MCPServerError(self._explain(exc)) from None
        info = client.server_info
        if self.name is None:
            self.name = info.name if info is not None and info.name else self.describe()
        attributes = {
            sc.TOOL_TYPE: "extension",
            sc.LUMOS_MCP_SERVER: self.name,
            sc.LUMOS_MCP_TRANSPORT: self.transport,
            sc.MCP_METHOD_NAME: "tools/call",
            sc.MCP_PROTOCOL_VERSION: client.protocol_version,
        }
        prefix = f"{self.tool_prefix}_" if self.tool_prefix else ""
        self._tools = [MCPTool(self, listed, prefix + listed.name, attributes) for listed in tools]
        return connection

    async def _call(self, tool_name: str, arguments: dict[str, Any]) -> ToolOutcome:
        """Call one tool; every failure becomes an error outcome the model can read."""
        connection = self._connection
        if connection is None or not connection.alive:
            return ToolOutcome(
                f"{self.label} is not running, so tool {tool_name!r} could not be called.",
                True,
                "MCPServerGone",
            )
        try:
            result = await connection.call(
                "call_tool", tool_name, arguments, read_timeout_seconds=self.timeout
            )
        except ConnectionError:
            return self._gone(tool_name)
        except TimeoutError:
            return ToolOutcome(
                f"Tool {tool_name!r} of {self.label} did not answer within {self.timeout:g} s.",
                True,
                "TimeoutError",
            )
        except Exception as exc:
            if _connection_closed(exc):
                return self._gone(tool_name)
            leaf = _leaf(exc)
            return ToolOutcome(
                f"Tool {tool_name!r} failed: {_leaf_message(leaf)}", True, type(leaf).__name__
            )
        text = _result_text(result)
        if result.is_error:
            text = text or f"Tool {tool_name!r} reported an error."
            return ToolOutcome(text, True, "MCPToolError")
        return ToolOutcome(text)

    def _gone(self, tool_name: str) -> ToolOutcome:
        return ToolOutcome(
            f"{self.label} stopped during the call to {tool_name!r}.", True, "MCPServerGone"
        )


class MCPServerStdio(MCPServer):
    """An MCP server run as a subprocess speaking JSON-RPC over its stdin and stdout.

    ``env`` is added to the few variables the ``mcp`` package passes on (PATH, HOME, …): pass
    any key the server needs. The server's stderr goes to ``errlog`` (default: ours).
    """

    transport = "stdio"

    def __init__(
        self,
        command: str,
        args: Sequence[str] = (),
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        name: str | None = None,
        tool_prefix: str | None = None,
        timeout: float = 300.0,
        connect_timeout: float = 30.0,
        errlog: TextIO | None = None,
    ) -> None:
        super().__init__(
            name=name, tool_prefix=tool_prefix, timeout=timeout, connect_timeout=connect_timeout
        )
        self.command = command
        self.args = list(args)
        self.env = dict(env) if env is not None else None
        self.cwd = Path(cwd) if cwd is not None else None
        self.errlog = errlog

    def __repr__(self) -> str:
        return f"MCPServerStdio({self.command!r}, {self.args!r})"

    def describe(self) -> str:
        return " ".join([self.command, *self.args])

    def _open_client(self) -> AbstractAsyncContextManager[Any]:
        from mcp import Client, StdioServerParameters
        from mcp.client.stdio import stdio_client

        parameters = StdioServerParameters(
            command=self.command, args=self.args, env=self.env, cwd=self.cwd
        )
        return Client(stdio_client(parameters, errlog=_stderr_for_server(self.errlog)))

    def _explain(self, exc: BaseException) -> str:
        leaf = _leaf(exc)
        if isinstance(leaf, FileNotFoundError) and (self.cwd is None or self.cwd.is_dir()):
            return (
                f"could not start MCP server command {self.command!r}: not found; "
                "install it or give its full path"
            )
        if isinstance(leaf, OSError):
            return (
                f"could not start MCP server command {self.command!r}: "
                f"{leaf.strerror or leaf}; check the command and cwd"
            )
        if _connection_closed(exc):
            return (
                f"{self.label} exited before it finished the MCP handshake; run the command "
                "yourself to see its error"
            )
        return super()._explain(exc)


class MCPServerHTTP(MCPServer):
    """An MCP server reached over streamable HTTP at ``url`` (``headers`` on every request)."""

    transport = "streamable-http"

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        name: str | None = None,
        tool_prefix: str | None = None,
        timeout: float = 300.0,
        connect_timeout: float = 30.0,
    ) -> None:
        super().__init__(
            name=name, tool_prefix=tool_prefix, timeout=timeout, connect_timeout=connect_timeout
        )
        self.url = url
        self.headers = dict(headers or {})

    def __repr__(self) -> str:
        return f"MCPServerHTTP({self.url!r})"

    def describe(self) -> str:
        return self.url

    def _open_client(self) -> AbstractAsyncContextManager[Any]:
        from contextlib import AsyncExitStack, asynccontextmanager

        import httpx2
        from mcp import Client
        from mcp.client.streamable_http import streamable_http_client

        @asynccontextmanager
        async def open_client() -> Any:
            async with AsyncExitStack() as stack:
                http = await stack.enter_async_context(
                    httpx2.AsyncClient(
                        headers=self.headers,
                        timeout=httpx2.Timeout(self.connect_timeout, read=self.timeout),
                    )
                )
                transport = streamable_http_client(self.url, http_client=http)
                yield await stack.enter_async_context(Client(transport))

        return open_client()

    def _explain(self, exc: BaseException) -> str:
        return (
            f"could not reach MCP server at {self.url}: {_leaf_message(exc)}; "
            "check that the server is running and the URL ends with its MCP path (often /mcp)"
        )


class MCPTool(Tool):
    """One tool an MCP server listed: its own name, description and input JSON schema."""

    def __init__(
        self, server: MCPServer, listed: Any, name: str, span_attributes: Mapping[str, Any]
    ) -> None:
        self.server = self.toolset = server
        self.remote_name: str = listed.name
        self.name = name
        self.description = listed.description or ""
        self.function = self.__call__
        self.is_async = True
        self.arguments_model = _ServerValidated  # the server checks arguments against its schema
        self.parameters_schema = dict(listed.input_schema)
        self.span_attributes = dict(span_attributes)
        if name != self.remote_name:
            self.span_attributes[sc.LUMOS_MCP_TOOL_NAME] = self.remote_name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Calling the tool directly calls it on the server (while the server is open)."""
        return self.server._call(self.remote_name, dict(kwargs))

    def __repr__(self) -> str:
        return f"MCPTool({self.name!r}, server={self.server.name!r})"

    async def invoke(self, arguments: dict[str, Any], *, in_thread: bool = False
                     ) -> ToolOutcome:  # already async: ``in_thread`` changes nothing
        """Call the tool on its server; the server validates the arguments."""
        span = trace.get_current_span()
        if span.is_recording():
            span.set_attributes(self.span_attributes)
        return await self.server._call(self.remote_name, arguments)


class _ServerValidated(BaseModel):
    """Arguments passed through as the model sent them."""

    model_config = ConfigDict(extra="allow")


async def _list_all(connection: Connection, timeout: float) -> list[Any]:
    tools: list[Any] = []
    cursor: str | None = None
    for _ in range(_MAX_PAGES):
        async with asyncio.timeout(timeout):
            page = await connection.call("list_tools", cursor=cursor)
        tools.extend(page.tools)
        cursor = page.next_cursor
        if cursor is None:
            break
    return tools


def _stderr_for_server(errlog: TextIO | None) -> TextIO:
    """A stream with a file descriptor for the server's stderr: ``errlog``, else ours. Where
    ``sys.stderr`` was replaced by an object without one (the studio's worker turns prints into
    log records), the process's own stderr; failing that, the null device."""
    for stream in (errlog, sys.stderr, sys.__stderr__):
        if stream is None:
            continue
        try:
            stream.fileno()
        except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is an OSError
            continue
        return stream
    global _devnull
    if _devnull is None:
        _devnull = open(os.devnull, "w")  # noqa: SIM115 - kept open for every later server
    return _devnull


_devnull: TextIO | None = None


def _result_text(result: Any) -> str:
    """The text of a ``CallToolResult``: its text blocks, else its structured content."""
    texts: list[str] = []
    for block in result.content:
        kind = getattr(block, "type", "")
        if kind == "text":
            texts.append(block.text)
        elif kind in ("image", "audio"):
            texts.append(f"[{kind} {getattr(block, 'mime_type', '')}]")
        elif kind == "resource_link":
            texts.append(f"[resource {block.uri}]")
        elif kind == "resource":
            resource = block.resource
            texts.append(getattr(resource, "text", None) or f"[resource {resource.uri}]")
    if texts:
        return "\n".join(texts)
    if result.structured_content is not None:
        return orjson.dumps(result.structured_content).decode()
    return ""


def _leaf(exc: BaseException) -> BaseException:
    """The first real cause inside nested exception groups (anyio wraps failures in them)."""
    while isinstance(exc, BaseExceptionGroup):
        inner = [e for e in exc.exceptions if not isinstance(e, asyncio.CancelledError)]
        exc = (inner or list(exc.exceptions))[0]
    return exc


def _connection_closed(exc: BaseException) -> bool:
    """Whether ``exc`` is the ``mcp`` client's report that the server side went away."""
    leaf = _leaf(exc)
    return getattr(leaf, "code", None) == CONNECTION_CLOSED and "closed" in str(leaf).lower()


def _leaf_message(exc: BaseException) -> str:
    leaf = _leaf(exc)
    return str(leaf) or type(leaf).__name__
