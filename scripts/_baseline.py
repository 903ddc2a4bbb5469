"""The baseline the benchmarks measure persona-mcp against: a bare MCPServer with one echo tool,
in process or as a script (stdio with no argument, streamable HTTP given a port)."""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer

__all__ = ["BASELINE_SERVER", "echo_server"]

BASELINE_SERVER = """
import sys
from mcp.server.mcpserver import MCPServer

server = MCPServer("echo")

@server.tool()
def echo(text: str) -> str:
    return text

if len(sys.argv) > 1:
    import uvicorn
    uvicorn.run(server.streamable_http_app(), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
else:
    server.run()
"""


def echo_server() -> MCPServer:
    """The same server, in process."""
    server = MCPServer("echo")

    @server.tool()
    def echo(text: str) -> str:
        return text

    return server
