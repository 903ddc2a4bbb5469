"""Reflection by the belief model: one structured-output call per batch of episodes gives the
standing facts they establish, each with the episodes it rests on, and what the persona may have
gained (interests, lorebook entries) as proposals. A batch the model does not answer, or answers
outside the schema, is left to the extractive method (reflection.py)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from core.clock import parse_iso
from core.llm import StructuredModel
from core.memory.proposals import Gains, LoreIdea

__all__ = ["BATCH", "Episode", "ModelFact", "facts_by_model"]

BATCH = 40  # episodes per call
_EPISODE_CHARS = 600

# (id, content, subject, created_at), as reflection reads them
Episode = tuple[str, str, str | None, str]

INSTRUCTIONS = (
    "You help {name} remember. Below are numbered episodes from {name}'s memory, oldest first, "
    "each with its date. Write down the standing facts they establish: who people are, where they "
    "live, work or study, what they like, own, plan or believe, and what changed. Each fact is one "
    "self-contained sentence that names its subject (never only 'he', 'she', 'I' or 'we') and says "
    "when if the episodes do, with the numbers of the episodes it rests on. Kind 'semantic' is a "
    "fact about people, places and things; 'reflective' is {name}'s own conclusion or belief. Leave "
    "out small talk, greetings and what was said only in passing. Then, only where the episodes "
    "clearly show it, propose interests {name} has taken up, and lorebook entries for people, places "
    "or things that keep coming up (keys: the names or words that bring it up; content: what to keep "
    "in mind about it)."
)


class _Fact(BaseModel):
    content: str = Field(min_length=1, max_length=1_000)
    subject: str = Field("", max_length=200)
    sources: list[int] = Field(min_length=1, max_length=BATCH)
    kind: str = Field("semantic", max_length=20)


class _Lore(BaseModel):
    keys: list[str] = Field(min_length=1, max_length=10)
    content: str = Field(min_length=1, max_length=2_000)


class _Reflection(BaseModel):
    facts: list[_Fact] = Field(max_length=50)
    interests: list[str] = Field(default_factory=list, max_length=10)
    lore: list[_Lore] = Field(default_factory=list, max_length=10)


class ModelFact(BaseModel):
    """A fact the model drew from a batch: its sources as episode ids, true from the newest."""

    content: str
    subject: str
    kind: str
    sources: list[str]
    valid_from: str


def _question(batch: list[Episode]) -> str:
    lines = []
    for number, (_, content, subject, created_at) in enumerate(batch, 1):
        text = " ".join(content.split())[:_EPISODE_CHARS]
        about = f" [about {subject}]" if subject else ""
        lines.append(f"{number}. ({parse_iso(created_at):%Y-%m-%d}){about} {text}")
    return "\n".join(lines)


async def facts_by_model(
    model: StructuredModel, name: str, batch: list[Episode], gains: Gains
) -> list[ModelFact] | None:
    """The facts of one batch (oldest first), adding what the persona gained to `gains`; None
    when the model gave no usable answer."""
    answer = await model.ask(INSTRUCTIONS.format(name=name), _question(batch), _Reflection)
    if answer is None:
        return None
    facts = []
    for fact in answer.facts:
        # Only episodes of this batch count as sources: a number it does not have is the model's slip.
        rows = sorted({batch[n - 1] for n in fact.sources if 1 <= n <= len(batch)}, key=lambda row: row[3])
        content = " ".join(fact.content.split())
        if not rows or not content:
            continue
        facts.append(
            ModelFact(
                content=content,
                subject=fact.subject.strip() or (rows[-1][2] or ""),
                kind=fact.kind if fact.kind in ("semantic", "reflective") else "semantic",
                sources=[row[0] for row in rows],
                valid_from=rows[-1][3],
            )
        )
    gains.interests.extend(item.strip() for item in answer.interests if item.strip())
    gains.lore.extend(
        LoreIdea(keys=[key.strip() for key in idea.keys if key.strip()], content=idea.content.strip())
        for idea in answer.lore
        if any(key.strip() for key in idea.keys)
    )
    return facts
