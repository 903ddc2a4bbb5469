"""Language-model providers: whether Ollama answers, and chat through it."""

from core.llm.chat import ChatModel, Completion, OllamaChat, PromptMessage
from core.llm.probe import OllamaProbe, probe_ollama

__all__ = ["ChatModel", "Completion", "OllamaChat", "OllamaProbe", "PromptMessage", "probe_ollama"]
