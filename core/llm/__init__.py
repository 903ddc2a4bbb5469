"""Language-model providers: whether Ollama answers, and chat through it."""

from core.llm.chat import ChatModel, Completion, OllamaChat, PromptMessage
from core.llm.probe import OllamaProbe, probe_ollama
from core.llm.structured import StructuredModel

__all__ = [
    "ChatModel",
    "Completion",
    "OllamaChat",
    "OllamaProbe",
    "PromptMessage",
    "StructuredModel",
    "probe_ollama",
]
