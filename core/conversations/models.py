"""What the conversation tools return."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

__all__ = ["Conversation", "ConversationList", "EndResult", "History", "Message", "NextSpeaker", "Role"]

Role = Literal["user", "assistant", "system"]


class Message(BaseModel):
    """One turn of a conversation."""

    id: int
    role: Role
    persona_id: str | None = Field(description="The persona that spoke (assistant turns).")
    content: str
    tokens: int
    created_at: datetime
    witnesses: list[str] = Field(
        default_factory=list, description="Personas in the room when it was said (they remember it)."
    )


class Conversation(BaseModel):
    """A conversation between a user and one or more personas."""

    id: str
    title: str | None
    user_id: str | None
    status: Literal["open", "closed"]
    participants: list[str] = Field(description="Persona ids, in the order they joined.")
    present: list[str] = Field(
        default_factory=list,
        description="Participants in the room now (not left); only they witness new turns.",
    )
    turns: int
    tokens: int = Field(description="Tokens of all its messages.")
    summary: str | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None


class History(BaseModel):
    """conversation_history: messages oldest first."""

    conversation_id: str
    messages: list[Message]
    has_more: bool = Field(description="Older messages exist: pass the first id here as `before`.")


class ConversationList(BaseModel):
    conversations: list[Conversation]
    total_count: int


class EndResult(BaseModel):
    """conversation_end."""

    conversation: Conversation
    summary: str
    memories_created: list[str] = Field(description="A reflective memory per participant.")


class NextSpeaker(BaseModel):
    """conversation_next_speaker."""

    conversation_id: str
    persona_id: str
    reason: Literal["mention", "talkativeness", "rotation", "only_one"] = Field(
        description="mention: named in the message; talkativeness: the likeliest speaker won the draw; "
        "rotation: another present persona got its turn; only_one: nobody else is present."
    )
    weights: dict[str, float] = Field(description="Each present persona's draw weight (empty for a mention).")
    seed: int = Field(description="The seed of the draw; the same state and seed give the same speaker.")
