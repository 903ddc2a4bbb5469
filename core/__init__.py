"""persona-mcp's domain: personas, memories, relationships and emotions over SQLite.

Nothing in this package imports the MCP adapter (`persona_mcp`) or the MCP SDK, so another
front end can sit on the same core.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("persona-mcp")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"

__all__ = ["__version__"]
