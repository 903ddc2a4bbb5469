"""Short text renderings of tool results, for clients that show text rather than structured
content. One function per result type; anything else falls back to compact JSON."""

from __future__ import annotations

from functools import singledispatch

from pydantic import BaseModel

from core.models import Persona, Template
from core.personas import PersonaStatus
from core.personas.service import DeleteResult
from persona_mcp.results import PersonaList, SwitchResult, TemplateList

__all__ = ["register_renderer", "render"]

_MAX_DESCRIPTION = 160


def _short(text: str, limit: int = _MAX_DESCRIPTION) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@singledispatch
def render(result: BaseModel) -> str:
    """Compact JSON: the fallback for result types without their own rendering."""
    return result.model_dump_json(exclude_none=True)


register_renderer = render.register


@render.register
def _persona(result: Persona) -> str:
    archived = " [archived]" if result.archived_at else ""
    tags = f" Tags: {', '.join(result.tags)}." if result.tags else ""
    return f"{result.name} ({result.id}, v{result.version}){archived}: {_short(result.description)}{tags}"


@render.register
def _template(result: Template) -> str:
    return f"{result.id}: {result.name} - {_short(result.description)}"


@render.register
def _status(result: PersonaStatus) -> str:
    mood = result.emotional_state
    memories = result.memory_counts.get("total", 0)
    conversation = result.open_conversation["id"] if result.open_conversation else "none"
    return (
        f"{result.persona.name} ({result.persona.id}) feels {mood.label} "
        f"(valence {mood.valence:+.2f}, energy {mood.energy:.2f}); {memories} memories, "
        f"{len(result.relationships)} relationships shown, open conversation: {conversation}."
    )


@render.register
def _deleted(result: DeleteResult) -> str:
    if result.action == "already_archived":
        return f"{result.persona_id} was already archived; nothing changed."
    what = ", ".join(f"{name}: {count}" for name, count in result.counts.items() if count)
    verb = "Purged for good" if result.action == "purged" else "Archived (restore with persona.update)"
    return f"{verb}: {result.persona_id} ({what})."


@render.register
def _persona_list(result: PersonaList) -> str:
    lines = [f"{result.total_count} personas (active: {result.active_id or 'none'})"]
    lines += [
        f"- {p.id}: {p.name}{' [archived]' if p.archived else ''} - {_short(p.description, 80)}"
        for p in result.personas
    ]
    return "\n".join(lines)


@render.register
def _template_list(result: TemplateList) -> str:
    return "\n".join(_template(t) for t in result.templates)


@render.register
def _switched(result: SwitchResult) -> str:
    scope = "this session" if result.scope == "connection" else "this server process"
    return f"Now speaking as {result.persona.name} ({result.persona.id}) for {scope}."
