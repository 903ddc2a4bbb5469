"""Short text renderings of the relationship, emotion and group-conversation results."""

from __future__ import annotations

from core.conversations import NextSpeaker
from core.emotions import EmotionHistory
from core.models import ChatReply, EmotionalState
from core.relationships import Compatibility, HistoryResult, Relationship, RelationshipList, RelationshipStats
from persona_mcp.render import register_renderer

__all__: list[str] = []


def _bond(r: Relationship) -> str:
    if not r.met:
        return f"{r.persona_a} and {r.persona_b} have never met (a neutral stranger relationship)."
    locked = ", set explicitly" if r.type_locked else ""
    return (
        f"{r.persona_a} and {r.persona_b}: {r.type}{locked}; affinity {r.affinity:+.2f}, "
        f"trust {r.trust:.2f}, familiarity {r.familiarity:.2f}, {r.interaction_count} interactions."
    )


@register_renderer
def _relationship(result: Relationship) -> str:
    return _bond(result)


@register_renderer
def _relationships(result: RelationshipList) -> str:
    lines = [f"{result.total_count} relationships of {result.persona_id}:"]
    lines += [f"- {_bond(r)}" for r in result.relationships]
    return "\n".join(lines)


@register_renderer
def _history(result: HistoryResult) -> str:
    lines = [
        f"{result.total_count} interactions between {result.persona_a} and {result.persona_b}, newest first:"
    ]
    for i in result.interactions:
        summary = f": {i.summary}" if i.summary else ""
        lines.append(
            f"- {i.created_at:%Y-%m-%d %H:%M} {i.kind} ({i.quality:+.2f}){summary} -> {i.type_after}"
        )
    return "\n".join(lines)


@register_renderer
def _compatibility(result: Compatibility) -> str:
    factors = ", ".join(f"{name} {value:.2f}" for name, value in result.factors.model_dump().items())
    tips = "".join(f"\n- {tip}" for tip in result.suggestions)
    return f"{result.persona_a} and {result.persona_b}: compatibility {result.score:.2f} ({factors}).{tips}"


@register_renderer
def _relationship_stats(result: RelationshipStats) -> str:
    types = ", ".join(f"{kind} {count}" for kind, count in result.by_type.items()) or "none"
    best = ", ".join(f"{p.persona_a}+{p.persona_b} {p.score:.2f}" for p in result.most_compatible) or "none"
    return (
        f"{result.relationships} relationships ({types}), {result.with_users} with users, "
        f"{result.interactions_total} interactions. Most compatible: {best}."
    )


@register_renderer
def _emotion(result: EmotionalState) -> str:
    return (
        f"Feels {result.label}: valence {result.valence:+.2f}, arousal {result.arousal:.2f}, dominance "
        f"{result.dominance:.2f}, energy {result.energy:.2f}, stress {result.stress:.2f}."
    )


@register_renderer
def _emotion_history(result: EmotionHistory) -> str:
    lines = [f"{result.total_count} emotional states of {result.persona_id}, newest first:"]
    lines += [
        f"- {s.created_at:%Y-%m-%d %H:%M} {s.label} "
        f"(valence {s.valence:+.2f}, energy {s.energy:.2f}): {s.reason}"
        for s in result.states
    ]
    return "\n".join(lines)


@register_renderer
def _next_speaker(result: NextSpeaker) -> str:
    return f"Next: {result.persona_id} ({result.reason})."


@register_renderer
def _chat(result: ChatReply) -> str:
    return f"{result.persona_id or 'persona'}: {result.response}"
