"""The documentation stays true: the reference pages are what the server writes today, the README
stays a front page, and every page the README links to exists."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import docs_reference  # noqa: E402


@pytest.mark.parametrize("path", sorted(docs_reference.PAGES))
def test_the_reference_pages_are_what_the_server_writes(path: str) -> None:
    committed = (ROOT / "docs" / path).read_text(encoding="utf-8")
    assert committed == docs_reference.PAGES[path](), (
        f"docs/{path} is stale: run python scripts/docs_reference.py --write"
    )


def test_every_tool_is_in_the_reference_with_an_example_call() -> None:
    page = docs_reference.tools_page()
    tools = re.findall(r"^### (\w+)$", page, re.M)
    assert len(tools) == len(set(tools)) >= 57
    assert page.count('"arguments": ') == len(tools)


def test_the_readme_is_a_front_page_whose_links_resolve() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 300
    assert 'pip install -e ".[dev]" && persona-mcp demo' in readme  # the two commands CI runs
    assert "\npytest\n" in readme
    for target in re.findall(r"\]\(((?:docs/)[^)#]+)", readme):
        assert (ROOT / target).is_file(), target
