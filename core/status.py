"""system_status: one picture of the running server."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from core import __version__
from core.access import acting
from core.config import Settings
from core.llm import OllamaProbe, belief_model_name, probe_ollama
from core.store import StatusRepository

if TYPE_CHECKING:
    from core.app import PersonaCore

__all__ = ["EmbedderStatus", "IndexStatus", "ModelDownload", "SystemStatus", "system_status"]


class ModelDownload(BaseModel):
    """all-MiniLM-L6-v2 being fetched from the hub (no copy was installed)."""

    source: str = Field(description="The hub (or HF_ENDPOINT mirror) and repository.")
    file: str | None = Field(description="The file being fetched now.")
    bytes_done: int
    bytes_total: int
    finished: bool
    error: str | None = Field(description="Why the last attempt failed; it is retried with backoff.")


class EmbedderStatus(BaseModel):
    """Which embedding model this server uses, and why others were passed over."""

    loaded: bool = Field(description="False while it is still loading (a few seconds after start).")
    provider: str | None
    model_id: str | None
    dimension: int | None
    skipped: dict[str, str] = Field(description="Providers tried before it, and why they were not used.")
    error: str | None = Field(description="Why no embedder could be loaded (search then matches words only).")
    download: ModelDownload | None = Field(
        None, description="Progress of fetching the model from the hub, when it had to be."
    )


class IndexStatus(BaseModel):
    """The vector index and how far it lags behind SQLite."""

    location: str = Field(description="Local folder, or the Chroma server.")
    owner: bool = Field(description="True when this process writes the index (one process at a time).")
    pending: int = Field(description="Live memories not in the index yet.")
    unembedded: int = Field(description="Live memories without a vector of the current model.")
    error: str | None
    repaired: str | None = Field(
        None, description="The last damaged index this server moved aside and rebuilt, when and where."
    )


class SystemStatus(BaseModel):
    """What system_status returns."""

    version: str
    uptime_seconds: float
    data_dir: str
    database: str
    schema_version: int
    counts: dict[str, int]
    background_tasks: dict[str, str]
    embedder: EmbedderStatus
    vector_index: IndexStatus
    llm: OllamaProbe


_ADMINS_ONLY = "(shown to admins)"


async def _counts(core: PersonaCore) -> dict[str, int]:
    """How many personas, memories, conversations and relationships the acting principal may see."""
    return await StatusRepository(core.db).visible_counts()


def _beliefs(settings: Settings, ollama: OllamaProbe) -> str:
    """Who judges contradictions and reflects: the belief model, or the rules."""
    name = belief_model_name(settings.belief_model, settings.chat_model)
    every = settings.reflect_interval_minutes
    when = f"; reflection every {every:g} min and after conversations" if every else ""
    if name is None:
        return f"contradiction rule and extractive reflection (belief model off){when}"
    if ollama.reachable and any(model in (name, f"{name}:latest") for model in ollama.models):
        return f"contradictions and reflection judged by {name} through Ollama{when}"
    return f"contradiction rule and extractive reflection until Ollama answers with {name}{when}"


async def system_status(core: PersonaCore) -> SystemStatus:
    """Gather the status; probes Ollama with a short timeout."""
    semantic = core.memories.semantic
    slot = semantic.slot
    choice = slot.choice
    counts = await _counts(core)
    stats = await core.memories.stats(None) if slot.loaded else None
    settings = core.settings
    admin = acting().admin
    ollama = await probe_ollama(settings.ollama_host)
    return SystemStatus(
        version=__version__,
        uptime_seconds=round(time.monotonic() - core.started_monotonic, 3),
        data_dir=str(settings.data_dir) if admin else _ADMINS_ONLY,
        database=str(settings.database_path) if admin else _ADMINS_ONLY,
        schema_version=await core.db.schema_version(),
        counts=counts,
        background_tasks={
            "embedder_load": "done" if slot.loaded else "loading",
            "vector_index_sync": f"every {settings.index_sync_seconds:g}s and after each write"
            + ("" if semantic.owns_index else " (waiting: another process owns the index)"),
            "decay": core.maintenance.describe(),
            "beliefs": _beliefs(settings, ollama),
        },
        embedder=EmbedderStatus(
            loaded=slot.loaded,
            provider=choice.provider if choice else None,
            model_id=choice.embedder.model_id if choice else None,
            dimension=choice.embedder.dimension if choice else None,
            skipped=choice.skipped if choice else {},
            error=slot.error,
            download=ModelDownload(**slot.download.as_dict()) if slot.download else None,
        ),
        vector_index=IndexStatus(
            location=(settings.chroma_host or str(settings.index_path)) if admin else _ADMINS_ONLY,
            owner=semantic.owns_index,
            pending=stats.index_lag if stats else counts["memories"],
            unembedded=stats.unembedded if stats else counts["memories"],
            error=semantic.index_error,
            repaired=semantic.index_repaired,
        ),
        llm=ollama,
    )
