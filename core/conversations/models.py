"""What the conversation tools return."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

__all__ = ["Conversation", "ConversationList", "EndResult", "History", "Message", "Role"]

Role = Literal["user", "assistant", "system"]


class Message(BaseModel):
    """One turn of a conversation."""

    id: int
    role: Role
    persona_id: str | None = Field(description="The persona that spoke (assistant turns).")
    content: str
    tokens: int
    created_at: datetime


class Conversation(BaseModel):
    """A conversation between a user and one or more personas."""

    id: str
    title: str | None
    user_id: str | None
    status: Literal["open", "closed"]
    participants: list[str] = Field(description="Persona ids, in the order they joined.")
    turns: int
    tokens: int = Field(description="Tokens of all its messages.")
    summary: str | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None


class History(BaseModel):
    """conversation.history: messages oldest first."""

    conversation_id: str
    messages: list[Message]
    has_more: bool = Field(description="Older messages exist: pass the first id here as `before`.")


class ConversationList(BaseModel):
    conversations: list[Conversation]
    total_count: int


class EndResult(BaseModel):
    """conversation.end."""

    conversation: Conversation
    summary: str
    memories_created: list[str] = Field(description="A reflective memory per participant.")
