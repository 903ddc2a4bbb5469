"""The persona's system prompt, section by section, and the {{char}} / {{user}} macros."""

from __future__ import annotations

import re

from core.models import EmotionalState, Persona
from core.personas.lore import LoreHit

__all__ = ["fill_macros", "system_sections"]

_MACROS = re.compile(r"\{\{(char|user)\}\}|<(bot|user)>", re.IGNORECASE)


def fill_macros(text: str, persona: Persona, user: str) -> str:
    """{{char}} / <BOT> become the persona's nickname (else its name), {{user}} / <USER> the user's."""
    char = persona.nickname or persona.name
    return _MACROS.sub(
        lambda m: char if (m.group(1) or m.group(2)).lower() in ("char", "bot") else user, text
    )


def _traits(persona: Persona) -> str:
    words = []
    for trait, value in persona.traits.model_dump().items():
        if value >= 0.7:
            words.append(f"high {trait}")
        elif value <= 0.3:
            words.append(f"low {trait}")
    return ", ".join(words)


def system_sections(
    persona: Persona, mood: EmotionalState, relationship: str | None, lore: list[LoreHit]
) -> list[tuple[str, bool]]:
    """(text, may be cut) in order; the optional ones go first when the prompt is too long."""
    lead = persona.system_prompt or f"You are {persona.name}. Stay in character and speak as {persona.name}."
    before = "\n\n".join(hit.content for hit in lore if hit.placement == "before_char")
    after = "\n\n".join(hit.content for hit in lore if hit.placement == "after_char")
    sections = [
        (lead, False),
        (before, False),
        (f"Who you are: {persona.description}" if persona.description else "", False),
        (f"Personality: {persona.personality}" if persona.personality else "", False),
        (f"Traits: {_traits(persona)}." if _traits(persona) else "", False),
        (f"How you speak: {persona.speaking_style}" if persona.speaking_style else "", False),
        (f"You care about: {', '.join(persona.values)}." if persona.values else "", False),
        (
            f"Interests: {', '.join(persona.interests)}. Knowledge: {', '.join(persona.knowledge_domains)}."
            if persona.interests or persona.knowledge_domains
            else "",
            True,
        ),
        (f"Scenario: {persona.scenario}" if persona.scenario else "", True),
        (f"Backstory: {persona.backstory}" if persona.backstory else "", True),
        (f"Example dialogue:\n{persona.example_dialogue}" if persona.example_dialogue else "", True),
        (after, False),
        (
            f"Your mood right now: {mood.label} (valence {mood.valence:+.2f}, energy {mood.energy:.2f}, "
            f"stress {mood.stress:.2f}). Let it colour your replies.",
            False,
        ),
        (relationship or "", False),
    ]
    return [(text, optional) for text, optional in sections if text]
