"""Chat: token counting, summaries of old turns, and the context a model is given."""

from core.chat.context import ContextBuilder
from core.chat.service import ChatRequest, ChatService
from core.chat.tokens import TokenCounter

__all__ = ["ChatRequest", "ChatService", "ContextBuilder", "TokenCounter"]
