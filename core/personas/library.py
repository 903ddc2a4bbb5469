"""The shipped personas (aria, kira) and templates, read from YAML files.

In a source checkout they live in the top-level `personas/` folder; an installed wheel carries
the same files as `core/shipped_personas/`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from core.models import PERSONA_ID_PATTERN, PersonaSpec, Template

__all__ = ["PersonaLibrary", "default_library_dir"]


def default_library_dir() -> Path:
    """Where the shipped YAML files are: inside the installed package, else the source tree."""
    packaged = Path(__file__).resolve().parent.parent / "shipped_personas"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent.parent / "personas"


def _read(path: Path) -> tuple[str, PersonaSpec]:
    data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or "id" not in data:
        raise ValueError(f"{path}: a persona file is a mapping with an 'id' and the persona's fields")
    persona_id = str(data.pop("id"))
    if not re.match(PERSONA_ID_PATTERN, persona_id):
        raise ValueError(f"{path}: id {persona_id!r} is not a slug")
    try:
        return persona_id, PersonaSpec.model_validate(data)
    except ValidationError as exc:
        raise ValueError(f"{path}: {exc}") from None


class PersonaLibrary:
    """Read-only access to the shipped personas and templates (loaded once)."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or default_library_dir()
        self._personas = dict(_read(path) for path in sorted(self.directory.glob("*.yaml")))
        self._templates = dict(_read(path) for path in sorted((self.directory / "templates").glob("*.yaml")))

    def personas(self) -> dict[str, PersonaSpec]:
        """The personas seeded into a new database, by id."""
        return dict(self._personas)

    def templates(self) -> list[Template]:
        """The templates persona_create(template=...) accepts."""
        return [
            Template(id=template_id, name=spec.name, description=spec.description)
            for template_id, spec in self._templates.items()
        ]

    def template(self, template_id: str) -> PersonaSpec | None:
        """One template's fields, or None."""
        return self._templates.get(template_id)
