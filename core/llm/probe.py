"""Is Ollama reachable, and which models does it have? Asked with a short timeout."""

from __future__ import annotations

import time

from pydantic import BaseModel

__all__ = ["OllamaProbe", "probe_ollama"]

_TIMEOUT_S = 2.0


class OllamaProbe(BaseModel):
    """The answer of one reachability check."""

    host: str
    reachable: bool
    detail: str
    models: list[str] = []
    elapsed_ms: float


async def probe_ollama(host: str, wait_seconds: float = _TIMEOUT_S) -> OllamaProbe:
    """List Ollama's models; never raises."""
    import ollama

    client = ollama.AsyncClient(host=host, timeout=wait_seconds)
    started = time.perf_counter()

    def elapsed() -> float:
        return round((time.perf_counter() - started) * 1000, 1)

    try:
        listing = await client.list()
    except (ollama.ResponseError, ConnectionError, OSError) as exc:
        return OllamaProbe(
            host=host,
            reachable=False,
            detail=f"not reachable at {host} ({type(exc).__name__}). Start it with `ollama serve` and "
            "fetch a "
            "model with `ollama pull llama3.2`, or set OLLAMA_HOST. Without it, persona_context and your "
            "client's own model still work.",
            elapsed_ms=elapsed(),
        )
    except Exception as exc:  # httpx timeouts and protocol errors: report them, never crash a status call
        return OllamaProbe(
            host=host,
            reachable=False,
            detail=f"not usable at {host}: {type(exc).__name__}: {exc}",
            elapsed_ms=elapsed(),
        )
    names = [model.model or "?" for model in listing.models]
    shown = ", ".join(names[:5]) or "no models pulled yet"
    return OllamaProbe(
        host=host,
        reachable=True,
        detail=f"answered in {elapsed():.0f} ms; models: {shown}",
        models=names,
        elapsed_ms=elapsed(),
    )
