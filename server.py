"""The MCP Bundle's entry point (manifest.json): `uv run server.py` serves persona-mcp over stdio.

A file at the project root, so the project's packages import as they do when installed."""

from persona_mcp.cli import main

raise SystemExit(main(["serve"]))
