"""persona_blend: one new persona mixed from several, by weight. Pure: personas in, fields out.

- Numbers (traits, talkativeness, the emotional baseline, temperature) are weighted means.
- Lists (interests, knowledge domains, values, tags) are merged: an item scores the summed weight
  of the personas that have it, the best come first, and the list is as long as the longest
  parent's (so a light parent adds its strongest shared items, not all of its own).
- Prose (description, personality, speaking style, backstory) is composed, heaviest parent first,
  each part named with its share; the parents' names are replaced by the new one's.
- Lorebook entries of every parent are kept (the same content once).
- The recipe is recorded in extensions.persona_mcp.blend.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from core.lorebook import Lorebook
from core.models import BigFive, EmotionalBaseline, Persona

__all__ = ["blend_fields", "normalized_weights"]

_PROSE = ("description", "personality", "speaking_style", "backstory")
_LISTS = ("interests", "knowledge_domains", "values", "tags")


def normalized_weights(count: int, weights: Sequence[float] | None) -> list[float]:
    """Weights summing to 1 (equal when none are given). The caller has checked they are > 0."""
    raw = list(weights) if weights is not None else [1.0] * count
    total = sum(raw)
    return [w / total for w in raw]


def _mean(values: Sequence[float], weights: Sequence[float]) -> float:
    return round(sum(v * w for v, w in zip(values, weights, strict=True)), 4)


def _merged_list(lists: Sequence[list[str]], weights: Sequence[float]) -> list[str]:
    scores: dict[str, float] = {}
    shown: dict[str, str] = {}
    for items, weight in zip(lists, weights, strict=True):
        for item in items:
            key = item.casefold()
            shown.setdefault(key, item)
            scores[key] = scores.get(key, 0.0) + weight
    order = sorted(scores, key=lambda key: -scores[key])  # stable: ties keep first appearance
    return [shown[key] for key in order[: max((len(items) for items in lists), default=0)]]


def _renamed(text: str, parents: Sequence[Persona], name: str) -> str:
    for parent in parents:
        for alias in (parent.name, *parent.aliases):
            text = re.sub(rf"\b{re.escape(alias)}\b", name, text)
    return text


def _prose(field: str, parents: Sequence[Persona], weights: Sequence[float], name: str) -> str:
    parts = [
        (weight, parent, _renamed(getattr(parent, field).strip(), parents, name))
        for parent, weight in zip(parents, weights, strict=True)
        if getattr(parent, field).strip()
    ]
    if len(parts) == 1:
        return parts[0][2]
    parts.sort(key=lambda part: -part[0])
    return "\n\n".join(f"[{round(100 * weight)}% {parent.name}] {text}" for weight, parent, text in parts)


def _lorebook(parents: Sequence[Persona]) -> Lorebook | None:
    books = [parent.lorebook for parent in parents if parent.lorebook is not None]
    if not books:
        return None
    seen: set[str] = set()
    entries = []
    for book in books:
        for entry in book.entries:
            if entry.content not in seen:
                seen.add(entry.content)
                entries.append(entry)
    budgets = [book.token_budget for book in books if book.token_budget is not None]
    return Lorebook(
        name=" + ".join(book.name for book in books if book.name) or None,
        scan_depth=max((book.scan_depth for book in books if book.scan_depth is not None), default=None),
        token_budget=max(budgets) if budgets else None,
        recursive_scanning=any(book.recursive_scanning for book in books) or None,
        entries=entries,
    )


def blend_fields(
    parents: Sequence[Persona], weights: Sequence[float], name: str, now: datetime
) -> dict[str, Any]:
    """The fields of a persona mixing `parents` by `weights` (normalized)."""
    heaviest = parents[max(range(len(parents)), key=lambda i: weights[i])]
    traits = {
        trait: _mean([getattr(p.traits, trait) for p in parents], weights) for trait in BigFive.model_fields
    }
    baseline = {
        field: _mean([getattr(p.emotional_baseline, field) for p in parents], weights)
        for field in EmotionalBaseline.model_fields
    }
    chosen = [
        (p.llm.temperature, w) for p, w in zip(parents, weights, strict=True) if p.llm.temperature is not None
    ]
    temperature = sum(t * w for t, w in chosen) / sum(w for _, w in chosen) if chosen else None
    fields: dict[str, Any] = {
        "name": name,
        "traits": traits,
        "emotional_baseline": baseline,
        "talkativeness": _mean([p.talkativeness for p in parents], weights),
        "llm": {
            "model": heaviest.llm.model,
            "temperature": None if temperature is None else round(temperature, 3),
        },
        "lorebook": _lorebook(parents),
        "extensions": {
            "persona_mcp": {
                "blend": {
                    "parents": [
                        {"id": p.id, "name": p.name, "version": p.version, "weight": round(w, 4)}
                        for p, w in zip(parents, weights, strict=True)
                    ],
                    "at": now.isoformat(),
                }
            }
        },
    }
    fields.update({field: _prose(field, parents, weights, name) for field in _PROSE})
    fields.update({field: _merged_list([getattr(p, field) for p in parents], weights) for field in _LISTS})
    fields["system_prompt"] = (
        f"You are {name}, a blend of {', '.join(p.name for p in parents)}. Stay in character and speak as "
        f"{name}."
    )
    return fields
