"""`python -m persona_mcp` is the same as the `persona-mcp` command."""

from persona_mcp.cli import main

raise SystemExit(main())
