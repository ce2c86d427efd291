"""Tools from Model Context Protocol servers, through the official ``mcp`` package.

``Agent(tools=[MCPServerStdio("python", ["server.py"])])`` lists the server's tools at the start
of each run and calls them like any other tool. The ``mcp`` package is imported only when a
server connects, so ``import lumos_core`` stays light; install it with
``pip install 'lumos-studio[mcp]'``.
"""

from __future__ import annotations

from lumos_core.mcp.servers import MCPServer, MCPServerError, MCPServerHTTP, MCPServerStdio, MCPTool

__all__ = ["MCPServer", "MCPServerError", "MCPServerHTTP", "MCPServerStdio", "MCPTool"]
