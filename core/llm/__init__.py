"""Language-model providers: whether Ollama answers, and chat through it."""

from core.llm.chat import ChatModel, Completion, OllamaChat, PromptMessage
from core.llm.probe import OllamaProbe, probe_ollama
from core.llm.structured import StructuredModel, belief_model_name

__all__ = [
    "ChatModel",
    "Completion",
    "OllamaChat",
    "OllamaProbe",
    "PromptMessage",
    "StructuredModel",
    "belief_model_name",
    "probe_ollama",
]
