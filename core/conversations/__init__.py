"""Conversations: who takes part, their messages, and how they end."""

from core.conversations.models import Conversation, ConversationList, EndResult, History, Message
from core.conversations.service import ConversationService, TurnRow

__all__ = [
    "Conversation",
    "ConversationList",
    "ConversationService",
    "EndResult",
    "History",
    "Message",
    "TurnRow",
]
