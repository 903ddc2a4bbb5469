"""Language-model providers. For now: checking whether Ollama answers."""

from core.llm.probe import OllamaProbe, probe_ollama

__all__ = ["OllamaProbe", "probe_ollama"]
