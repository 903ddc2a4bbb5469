"""The layout is the architecture: core/ never depends on the MCP adapter or the SDK."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_core_imports_neither_persona_mcp_nor_mcp() -> None:
    offenders = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in (ROOT / "core").rglob("*.py")
        for name in _imported_modules(path)
        if name.split(".")[0] in {"persona_mcp", "mcp", "mcp_types"}
    }
    assert offenders == set()


def test_no_module_is_a_god_module() -> None:
    too_long = {
        str(path.relative_to(ROOT)): length
        for folder in ("core", "persona_mcp")
        for path in (ROOT / folder).rglob("*.py")
        if (length := len(path.read_text(encoding="utf-8").splitlines())) > 400
    }
    assert too_long == {}


def _package_imports(package: str) -> set[str]:
    """The core packages (first name below core.) that core/<package> imports."""
    return {
        name.split(".")[1]
        for path in (ROOT / "core" / package).rglob("*.py")
        for name in _imported_modules(path)
        if name.startswith("core.") and name.split(".")[1] != package
    }


def test_personas_sit_below_memory_and_interop_above() -> None:
    # memory and relationships read personas, so personas must not read them back (a package cycle);
    # cards, bundles and importers (interop) use all three and nothing below uses interop.
    above_personas = {"memory", "relationships", "conversations", "chat", "interop"}
    assert _package_imports("personas") & above_personas == set()
    for package in ("personas", "memory", "relationships", "conversations", "chat", "emotions", "store"):
        assert "interop" not in _package_imports(package), package


_SQL_CALL = re.compile(r"\.(execute|executemany|fetch_one|fetch_all|scalar)\(")


def test_sql_lives_in_the_store_and_repositories() -> None:
    """SQL runs only in core/store and in each package's repositories (*repository.py,
    *_queries.py): a second storage adapter replaces those, never a service."""
    outside = {
        str(path.relative_to(ROOT))
        for path in (ROOT / "core").rglob("*.py")
        if _SQL_CALL.search(path.read_text(encoding="utf-8"))
        and "store" not in path.relative_to(ROOT / "core").parts[:1]
        and not path.name.endswith(("repository.py", "_queries.py"))
    }
    assert outside == set()
