"""The tools and settings references, generated from the server's own tool list and settings
model: each time the docs are built (an mkdocs hook, named in mkdocs.yml), and into
docs/reference/ for readers of the repository, where a test fails when they differ from what the
server would write.

    python scripts/docs_reference.py --write     # refresh docs/reference/tools.md and settings.md
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.config import Settings, env_name
from persona_mcp import build_server
from persona_mcp.demo import _STEPS
from persona_mcp.server import TOOL_MODULES
from persona_mcp.tools import CHAT_PROFILE

__all__ = ["on_files", "settings_page", "tools_page"]

# Example values for arguments the demo's calls do not show.
_EXAMPLES: dict[str, Any] = {
    "persona_id": "aria",
    "persona_a": "aria",
    "persona_b": "kira",
    "memory_id": "<a memory id from memory_search>",
    "conversation_id": "<a conversation id from conversation_start>",
    "query": "what does Sam like to drink?",
    "content": "Sam takes their coffee black.",
    "message": "How was your day?",
    "name": "Maren",
    "path": "backup.pmstate",
    "persona_ids": ["aria", "kira"],
    "value": "<the key>",
}


_NAMESPACES = {
    "persona": "Find, create, switch to, talk as, import, export and blend personas.",
    "memory": "What personas remember: store, search, correct and forget; decay and pruning.",
    "relationship": "How personas and users relate, and how interactions move that.",
    "emotional": "How a persona feels, and how that drifts back to its baseline.",
    "conversation": "Conversations with one persona or a room of them.",
    "system": "The server's own state.",
    "state": "Backups: everything saved to one archive, and loaded back.",
    "keys": "Provider API keys, sealed under a master key.",
}


def _type(schema: dict[str, Any]) -> str:
    """A short reading of an argument's schema: type, choices, bounds."""
    if "enum" in schema:
        return " \\| ".join(json.dumps(v) for v in schema["enum"] if v is not None)
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " or ".join(_type(option) for option in schema["anyOf"] if option.get("type") != "null")
    kinds = schema.get("type", "any")
    kinds = [k for k in kinds if k != "null"] if isinstance(kinds, list) else [kinds]
    text = " or ".join(kinds) or "any"
    if "array" in kinds and isinstance(schema.get("items"), dict):
        text = f"array of {_type(schema['items'])}"
    if schema.get("format") == "date-time":
        text = "date-time (ISO-8601)"
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None or high is not None:
        text += f", {'' if low is None else low}..{'' if high is None else high}"
    if "maxLength" in schema:
        text += f", at most {schema['maxLength']:,} characters"
    if "maxItems" in schema:
        text += f", at most {schema['maxItems']:,}"
    return text


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _example(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    """Arguments for a call: the demo's first call of this tool, else the required ones filled."""
    for namespace, tool, arguments, _ in _STEPS:
        if f"{namespace}_{tool}" == name:
            return arguments
    filled: dict[str, Any] = {}
    for argument in schema.get("required", []):
        prop = schema.get("properties", {}).get(argument, {})
        if argument in _EXAMPLES:
            filled[argument] = _EXAMPLES[argument]
        elif "enum" in prop:
            filled[argument] = prop["enum"][0]
        else:
            kind = prop.get("type")
            kind = kind[0] if isinstance(kind, list) else kind
            filled[argument] = {"integer": 1, "number": 0.5, "boolean": True, "array": [], "object": {}}.get(
                str(kind), f"<{argument}>"
            )
    return filled


def _hints(annotations: Any) -> str:
    if annotations is None:
        return ""
    marks = []
    if annotations.read_only_hint:
        marks.append("read-only")
    elif annotations.destructive_hint:
        marks.append("destructive")
    else:
        marks.append("writes")
    if annotations.idempotent_hint:
        marks.append("idempotent")
    return ", ".join(marks)


async def _tools() -> list[Any]:
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(data_dir=Path(folder), toolsets=("all",))
        return list(await build_server(settings).list_tools())


def tools_page() -> str:
    """Every tool: its namespace, profile, annotations, description, arguments, result and an
    example call."""
    tools = {tool.name: tool for tool in anyio.run(_tools)}
    chat = {f"{namespace}_{name}" for namespace, name in CHAT_PROFILE}
    lines = [
        "# Tools reference",
        "",
        "Generated from the server's own tool list when these pages are built. Names are",
        "`namespace_verb` (with `PERSONA_MCP_TOOL_SEPARATOR=.`, `namespace.verb`). **chat** marks",
        "the tools of the default profile; `PERSONA_MCP_TOOLSETS=all` registers every tool. Optional",
        "arguments may be left out; `persona_id`, where optional, means the active persona.",
        "",
    ]
    for module in TOOL_MODULES:
        names = [
            f"{module.NAMESPACE}_{t.name}" for t in module.TOOLS if f"{module.NAMESPACE}_{t.name}" in tools
        ]
        lines += [f"## {module.NAMESPACE}", ""]
        lines += [_NAMESPACES.get(module.NAMESPACE, ""), ""]
        for name in names:
            tool = tools[name]
            schema = tool.input_schema
            marks = [_hints(tool.annotations)] + (["**chat**"] if name in chat else [])
            lines += [
                f"### {name}",
                "",
                f"*{' · '.join(m for m in marks if m)}*",
                "",
                tool.description or "",
                "",
            ]
            properties = schema.get("properties", {})
            required = set(schema.get("required", []))
            if properties:
                lines += ["| argument | type | | description |", "|---|---|---|---|"]
                for argument, prop in properties.items():
                    need = "required" if argument in required else ""
                    default = prop.get("default")
                    about = prop.get("description", "") + (
                        f" Default: `{json.dumps(default)}`." if default not in (None, [], {}) else ""
                    )
                    lines.append(f"| `{argument}` | {_cell(_type(prop))} | {need} | {_cell(about)} |")
                lines.append("")
            else:
                lines += ["No arguments.", ""]
            output = (tool.output_schema or {}).get("properties", {})
            if output:
                lines += ["Returns: " + ", ".join(f"`{field}`" for field in output) + ".", ""]
            call = json.dumps(
                {"name": name, "arguments": _example(name, schema)}, indent=2, ensure_ascii=False
            )
            lines += ["```json", call, "```", ""]
    return "\n".join(lines).rstrip() + "\n"


def settings_page() -> str:
    """Every setting: its environment variable, default and meaning."""
    lines = [
        "# Settings reference",
        "",
        "Generated from the settings model when these pages are built. Each setting is an",
        "environment variable, or the same name in lower case without the `PERSONA_MCP_` prefix in",
        "the TOML file named by `PERSONA_MCP_CONFIG` (the environment wins). Lists are",
        "comma-separated.",
        "",
        "| variable | default | meaning |",
        "|---|---|---|",
    ]
    for field, info in Settings.model_fields.items():
        default = info.get_default(call_default_factory=True)
        if field == "data_dir":
            shown = "the user data folder (`~/.local/share/persona-mcp` on Linux)"
        elif default is None:
            shown = "unset"
        elif isinstance(default, tuple):
            shown = f"`{','.join(map(str, default))}`" if default else "none"
        elif hasattr(default, "model_dump"):
            shown = "`" + ",".join(f"{k}={v:g}" for k, v in default.model_dump().items()) + "`"
        elif isinstance(default, bool):
            shown = f"`{str(default).lower()}`"
        else:
            shown = f"`{default}`"
        lines.append(f"| `{env_name(field)}` | {_cell(shown)} | {_cell(info.description or '')} |")
    return "\n".join(lines) + "\n"


PAGES = {"reference/tools.md": tools_page, "reference/settings.md": settings_page}


DOCS = Path(__file__).resolve().parent.parent / "docs"


def on_files(files: Any, config: Any) -> Any:
    """mkdocs hook: the site gets the pages as the server writes them now."""
    from mkdocs.structure.files import File

    for path, page in PAGES.items():
        committed = files.get_file_from_path(path)
        if committed is not None:
            files.remove(committed)
        files.append(File.generated(config, path, content=page()))
    return files


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        raise SystemExit(__doc__)
    for path, page in PAGES.items():
        (DOCS / path).parent.mkdir(parents=True, exist_ok=True)
        (DOCS / path).write_text(page(), encoding="utf-8")
        print(f"wrote docs/{path}")
