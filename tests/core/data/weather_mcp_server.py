"""A small MCP server for tests and the README: weather for a city, a tool that fails, and two
tools tests use to tell server processes apart and to make one die.

Run over stdio (``python weather_mcp_server.py``) or streamable HTTP
(``python weather_mcp_server.py --http PORT``, on 127.0.0.1, endpoint ``/mcp``).
"""

from __future__ import annotations

import os
import sys

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("weather", log_level="WARNING")


@server.tool()
def get_weather(city: str) -> str:
    """The current weather in a city."""
    return f"Sunny and 21 °C in {city}"


@server.tool()
def lookup_station(code: str) -> str:
    """A weather station by its code; fails for codes it does not know."""
    raise ToolError(f"no station with code {code!r}")


@server.tool()
def server_pid() -> int:
    """The process id of this server."""
    return os.getpid()


@server.tool()
def request_header(name: str, ctx: Context) -> str:
    """A header of the HTTP request that called this tool ("" over stdio or when absent)."""
    request = ctx.request_context.request
    return "" if request is None else request.headers.get(name, "")


@server.tool()
def crash() -> str:
    """Ends the server process at once, as a crash would."""
    os._exit(3)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--http"]:
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run()
