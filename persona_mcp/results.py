"""Result models that exist only at the MCP surface (listings and session changes)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from core.models import Persona, PersonaSummary, Template
from persona_mcp.session import Scope

__all__ = ["PersonaList", "SwitchResult", "TemplateList"]


class PersonaList(BaseModel):
    """persona_list: personas ordered by name."""

    personas: list[PersonaSummary]
    active_id: str | None = Field(description="The persona calls without persona_id use.")
    total_count: int


class TemplateList(BaseModel):
    """persona_templates: starting points for persona_create(template=...)."""

    templates: list[Template]


class SwitchResult(BaseModel):
    """persona_switch: the persona now active for this session."""

    persona: Persona
    previous_id: str | None
    scope: Scope = Field(
        description="'connection': this MCP session only. 'principal': every request of the caller's "
        "principal (the 2026-07-28 protocol has no session; another principal's switch is its own)."
    )
