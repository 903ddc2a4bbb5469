"""The MCP adapter over `core`: tool registration, transports and the command line. No domain
logic lives here; every tool calls one core service method."""

from persona_mcp.server import build_server

__all__ = ["build_server"]
