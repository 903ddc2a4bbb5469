"""Pydantic models shared by every service and by the MCP adapter's schemas.

Field descriptions are written for an LLM reader: they end up in the tools' JSON schemas.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, create_model, field_validator

from core.lorebook import Lorebook

__all__ = [
    "MAX_LIST_ITEMS",
    "PERSONA_ID_PATTERN",
    "BigFive",
    "CardAsset",
    "ChatContext",
    "ChatMessage",
    "ChatReply",
    "EmotionalBaseline",
    "EmotionalState",
    "LLMSettings",
    "LoreUsed",
    "Mood",
    "Persona",
    "PersonaChanges",
    "PersonaSpec",
    "PersonaSummary",
    "PlainName",
    "RelationshipSnapshot",
    "Template",
    "plain_name",
]

PERSONA_ID_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$"
MAX_LIST_ITEMS = 64
# Long enough for a detailed card (SillyTavern cards run to a few thousand characters), short
# enough that one field cannot blow a context window.
_LONG_TEXT = 16_000
_SHORT_TEXT = 2_000

# Control characters (NUL, line breaks, escapes) and the bidi embeddings, overrides and isolates
# that make text display in another order than it is stored ("Trojan Source"); the joiners and
# variation selectors of emoji, and every script's letters, stay allowed.
_UNSAFE_IN_NAMES = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def plain_name(value: str) -> str:
    """`value`, refused when it holds a control or text-direction character (for names and ids)."""
    found = _UNSAFE_IN_NAMES.search(value)
    if found is not None:
        raise ValueError(
            f"holds the control or text-direction character U+{ord(found.group()):04X}; names may use "
            "letters of any script, digits, spaces, punctuation and emoji"
        )
    return value


def _optional_plain_name(value: str | None) -> str | None:
    return None if value is None else plain_name(value)


# A tool argument naming someone or something (user_id, a title): no control or bidi characters.
PlainName = AfterValidator(_optional_plain_name)

Unit = Annotated[float, Field(ge=0.0, le=1.0)]
Signed = Annotated[float, Field(ge=-1.0, le=1.0)]
Tag = Annotated[str, Field(min_length=1, max_length=100)]
TagList = Annotated[list[Tag], Field(max_length=MAX_LIST_ITEMS)]
Greeting = Annotated[str, Field(min_length=1, max_length=_LONG_TEXT)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BigFive(_Strict):
    """Big Five personality traits, each 0 (low) to 1 (high)."""

    openness: Unit = Field(0.5, description="Curiosity and appetite for new ideas, 0-1.")
    conscientiousness: Unit = Field(0.5, description="Organisation and dependability, 0-1.")
    extraversion: Unit = Field(0.5, description="Sociability and outward energy, 0-1.")
    agreeableness: Unit = Field(0.5, description="Warmth and cooperativeness, 0-1.")
    neuroticism: Unit = Field(0.5, description="Tendency to anxiety and mood swings, 0-1.")


class EmotionalBaseline(_Strict):
    """The emotional state a persona returns to when nothing is happening."""

    valence: Signed = Field(0.2, description="Unpleasant (-1) to pleasant (1).")
    arousal: Unit = Field(0.4, description="Calm (0) to excited (1).")
    dominance: Unit = Field(0.5, description="Submissive (0) to in control (1).")
    energy: Unit = Field(0.7, description="Social energy: drained (0) to fresh (1).")
    stress: Unit = Field(0.2, description="Relaxed (0) to stressed (1).")


class LLMSettings(_Strict):
    """Generation settings for this persona; unset values fall back to the server's defaults."""

    model: str | None = Field(None, max_length=200, description="Model name, e.g. 'llama3.2'.")
    temperature: float | None = Field(None, ge=0.0, le=2.0, description="Sampling temperature, 0-2.")


class CardAsset(BaseModel):
    """An asset of a Character Card V3 (icon, background, emotion...), kept for export."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(max_length=100, description="icon, background, user_icon, emotion, or x_...")
    uri: str = Field(max_length=4_000_000, description="https URL, data URL, embeded:// path or ccdefault:.")
    name: str = Field(max_length=500)
    ext: str = Field(max_length=20, description="File extension without the dot, e.g. 'png'.")


class PersonaSpec(_Strict):
    """The authorable fields of a persona: richer than a character card, and a superset of one."""

    name: str = Field(min_length=1, max_length=100, description="Display name, e.g. 'Aria'.")
    aliases: TagList = Field(default_factory=list, description="Other names the persona answers to.")
    description: str = Field("", max_length=_LONG_TEXT, description="Who the persona is, in a few lines.")
    personality: str = Field("", max_length=_LONG_TEXT, description="Temperament and manner, in prose.")
    scenario: str = Field("", max_length=_LONG_TEXT, description="The situation conversations start in.")
    first_message: str = Field("", max_length=_LONG_TEXT, description="Greeting that opens a conversation.")
    example_dialogue: str = Field(
        "", max_length=_LONG_TEXT, description="Sample exchanges showing the voice."
    )
    system_prompt: str = Field(
        "", max_length=_LONG_TEXT, description="Instructions placed first in the model's context."
    )
    post_history_instructions: str = Field(
        "", max_length=_LONG_TEXT, description="Instructions placed after the chat history (author's note)."
    )
    traits: BigFive = Field(default_factory=BigFive, description="Big Five traits, each 0-1.")
    speaking_style: str = Field("", max_length=_SHORT_TEXT, description="How the persona talks.")
    interests: TagList = Field(default_factory=list, description="Topics the persona enjoys.")
    knowledge_domains: TagList = Field(default_factory=list, description="Fields the persona knows well.")
    backstory: str = Field("", max_length=_LONG_TEXT, description="Life story and formative events.")
    values: TagList = Field(default_factory=list, description="What the persona cares about most.")
    tags: TagList = Field(default_factory=list, description="Labels for filtering, e.g. 'fantasy'.")
    talkativeness: Unit = Field(0.5, description="How readily the persona speaks in groups, 0-1.")
    emotional_baseline: EmotionalBaseline = Field(
        default_factory=EmotionalBaseline, description="Resting emotional state."
    )
    llm: LLMSettings = Field(default_factory=LLMSettings, description="Model and temperature overrides.")
    lorebook: Lorebook | None = Field(
        None, description="World info: entries put into the context when their keys come up."
    )
    alternate_greetings: Annotated[list[Greeting], Field(max_length=MAX_LIST_ITEMS)] = Field(
        default_factory=list, description="Other opening messages (a card's alternate_greetings)."
    )
    group_only_greetings: Annotated[list[Greeting], Field(max_length=MAX_LIST_ITEMS)] = Field(
        default_factory=list, description="Opening messages for group conversations only."
    )
    nickname: str = Field("", max_length=100, description="What {{char}} becomes in prompts, if set.")
    creator: str = Field("", max_length=_SHORT_TEXT, description="Who made the persona.")
    creator_notes: str = Field("", max_length=_LONG_TEXT, description="Notes for users, not the model.")
    creator_notes_multilingual: dict[str, Annotated[str, Field(max_length=_LONG_TEXT)]] = Field(
        default_factory=dict, max_length=MAX_LIST_ITEMS, description="Creator notes by ISO 639-1 code."
    )
    character_version: str = Field("", max_length=100, description="The author's version of the card.")
    source: Annotated[list[Annotated[str, Field(max_length=_SHORT_TEXT)]], Field(max_length=64)] = Field(
        default_factory=list, description="Where the card came from (ids or URLs)."
    )
    assets: Annotated[list[CardAsset], Field(max_length=MAX_LIST_ITEMS)] = Field(
        default_factory=list, description="Card V3 assets, kept for export."
    )
    creation_date: int | None = Field(
        None, ge=0, description="When the card was first made (Unix seconds), kept from an import."
    )
    extensions: dict[str, Any] = Field(
        default_factory=dict, description="Free-form data kept and round-tripped as given."
    )

    @property
    def own_names(self) -> frozenset[str]:
        """Its name and aliases, casefolded: the words that mean the persona itself."""
        return frozenset({self.name.casefold(), *(alias.casefold() for alias in self.aliases)})

    @field_validator("name")
    @classmethod
    def _name_has_text(cls, value: str) -> str:
        value = plain_name(value.strip())
        if not value:
            raise ValueError("must contain a visible character")
        return value

    @field_validator("nickname")
    @classmethod
    def _plain_nickname(cls, value: str) -> str:
        return plain_name(value)

    @field_validator("aliases")
    @classmethod
    def _aliases_distinct(cls, value: list[str]) -> list[str]:
        seen: set[str] = set()
        aliases = []
        for alias in (plain_name(item.strip()) for item in value):
            if not alias:
                raise ValueError("an alias must contain a visible character")
            if alias.casefold() in seen:
                raise ValueError(f"lists {alias!r} twice (ignoring case): give each alias once")
            seen.add(alias.casefold())
            aliases.append(alias)
        return aliases

    @field_validator("interests", "knowledge_domains", "values", "tags")
    @classmethod
    def _dedupe(cls, value: list[str]) -> list[str]:
        seen: dict[str, str] = {}
        for item in (item.strip() for item in value):
            if item and item.casefold() not in seen:
                seen[item.casefold()] = item
        return list(seen.values())


def _partial_of(model: type[BaseModel], name: str, doc: str) -> type[BaseModel]:
    """A model with the same fields, every one optional; `exclude_unset` then yields the change."""
    fields: dict[str, Any] = {}
    for field_name, info in model.model_fields.items():
        annotation: Any = info.annotation
        fields[field_name] = (annotation | None, Field(None, description=info.description))
    partial = create_model(name, __config__=ConfigDict(extra="forbid"), __doc__=doc, **fields)
    return partial


if TYPE_CHECKING:

    class PersonaChanges(BaseModel):
        """Every PersonaSpec field, optional (built at run time from PersonaSpec)."""

else:
    PersonaChanges = _partial_of(
        PersonaSpec,
        "PersonaChanges",
        "Fields to change; anything left out keeps its value. Nested objects (traits, "
        "emotional_baseline, llm) merge key by key; lists and text replace the old value.",
    )


class Persona(PersonaSpec):
    """A stored persona: its fields plus identity, version and timestamps."""

    id: str = Field(pattern=PERSONA_ID_PATTERN, description="Slug id, e.g. 'aria'.")
    version: int = Field(1, ge=1, description="Incremented by every update.")
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None = Field(None, description="Set when the persona was deleted without purge.")
    owner: str | None = Field(
        None, description="The principal that made it; none for the shipped personas everyone may use."
    )

    def summary(self) -> PersonaSummary:
        """The short form used in listings."""
        return PersonaSummary(
            id=self.id,
            name=self.name,
            description=self.description,
            tags=self.tags,
            archived=self.archived_at is not None,
        )


class PersonaSummary(BaseModel):
    """One line of a persona listing."""

    id: str
    name: str
    description: str
    tags: list[str]
    archived: bool = False


class Template(BaseModel):
    """A shipped starting point for persona_create(template=...)."""

    id: str
    name: str
    description: str


class Mood(BaseModel):
    """The five dimensions of a feeling."""

    valence: float = Field(ge=-1.0, le=1.0)
    arousal: float = Field(ge=0.0, le=1.0)
    dominance: float = Field(ge=0.0, le=1.0)
    energy: float = Field(ge=0.0, le=1.0)
    stress: float = Field(ge=0.0, le=1.0)


class EmotionalState(Mood):
    """A persona's current feelings; drifts back toward `baseline` over time."""

    label: str
    baseline: EmotionalBaseline
    updated_at: datetime | None = Field(None, description="None while the persona sits at its baseline.")


class RelationshipSnapshot(BaseModel):
    """Where an exchange left the persona's relationship with whoever it answered."""

    party: str = Field(description="The other party: 'user:<id>' or a persona id.")
    type: str
    affinity: float = Field(ge=-1.0, le=1.0)
    trust: float = Field(ge=0.0, le=1.0)
    familiarity: float = Field(ge=0.0, le=1.0)
    interaction_count: int = Field(ge=0)


class ChatReply(BaseModel):
    """What persona_chat returns."""

    response: str
    conversation_id: str
    memories_used: list[str] = Field(description="Ids of the memories placed in the context.")
    lore_used: list[str] = Field(default_factory=list, description="Names of the lorebook entries used.")
    emotional_state: EmotionalState
    continue_score: int = Field(ge=0, le=100, description="How much the persona wants to keep talking.")
    tokens_used: int = Field(ge=0)
    provider: str = Field(description="'ollama' or 'sampling'.")
    model: str
    processing_time: float = Field(ge=0.0, description="Seconds spent, model included.")
    memories_stored: list[str] = Field(
        default_factory=list, description="Memories the exchange stored or reinforced."
    )
    memories_skipped: list[str] = Field(
        default_factory=list, description="Turns the write gate did not store, and why (trivial, echo)."
    )
    relationship: RelationshipSnapshot | None = Field(
        None, description="The relationship with whoever the persona answered, after this exchange."
    )
    persona_id: str = Field("", description="The persona that spoke.")


class ChatMessage(BaseModel):
    """One message of an assembled context."""

    role: Literal["system", "user", "assistant"]
    content: str


class LoreUsed(BaseModel):
    """A lorebook entry placed in a context, and why."""

    entry: int = Field(ge=0, description="Its index in its book's entries.")
    name: str = Field(description="Its name, comment, or first key.")
    book: str = Field("", description="The book it came from: \"<persona>'s card\" or a lorebook's name.")
    lorebook_id: str | None = Field(None, description="The stored lorebook's id; null for a card's own book.")
    reason: Literal["key", "constant", "sticky", "decorator", "recursion"] = Field(
        description="key: a key matched; sticky: still active from an earlier match; constant; "
        "decorator (@@activate and the like); recursion: another entry's content matched."
    )
    matched: str | None = Field(None, description="The key that matched.")
    placement: Literal["before_char", "after_char", "depth"]
    tokens: int = Field(ge=0)


class ChatContext(BaseModel):
    """What persona_context returns: exactly what persona_chat would send to the model."""

    system_prompt: str
    messages: list[ChatMessage]
    memories_used: list[str]
    lore_used: list[LoreUsed] = Field(
        default_factory=list, description="Lorebook entries placed in the context, in order."
    )
    tokens: int = Field(ge=0, description="Tokens of the system prompt and messages together.")
    token_budget: int = Field(0, ge=0, description="The budget they had to fit.")
    token_counting: str = Field("", description="How tokens were counted (tokenizer, or an estimate).")
    history_turns: int = Field(0, ge=0, description="Turns in the conversation so far.")
    summarized_turns: int = Field(
        0, ge=0, description="Older turns left out for the budget, given as a running summary instead."
    )
    lore_skipped: int = Field(
        0,
        ge=0,
        description="Lorebook key searches given up (a regex key too slow, or matching over its time "
        "budget); entries they would have activated are missing.",
    )
