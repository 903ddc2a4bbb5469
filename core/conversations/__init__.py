"""Conversations: who takes part, their messages, who speaks next, and how they end."""

from core.conversations.models import (
    Conversation,
    ConversationList,
    EndResult,
    History,
    Message,
    NextSpeaker,
)
from core.conversations.rooms import Rooms
from core.conversations.service import ConversationService, TurnRow

__all__ = [
    "Conversation",
    "ConversationList",
    "ConversationService",
    "EndResult",
    "History",
    "Message",
    "NextSpeaker",
    "Rooms",
    "TurnRow",
]
