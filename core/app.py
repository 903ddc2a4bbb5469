"""PersonaCore: opens the store, wires the services, runs their background work, closes them."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from core.access import AccessService
from core.chat import ChatService, ContextBuilder, TokenCounter
from core.clock import Clock
from core.config import Settings
from core.conversations import ConversationService, Rooms
from core.emotions import EmotionService
from core.interop.history_import import HistoryImporter
from core.interop.lorebook_files import LorebookTransfer
from core.interop.transfer import PersonaTransfer
from core.keys import KeyService
from core.llm import OllamaChat, StructuredModel
from core.maintenance import Maintenance
from core.memory import EmbedderSlot, Lifecycle, MemoryService, SemanticLayer
from core.memory.reflection import Reflector
from core.onnx_bert import default_cache_dir
from core.personas import PersonaLibrary, PersonaService
from core.personas.lorebooks import LorebookService
from core.relationships import RelationshipService
from core.state import StateService
from core.store import Database, DatabaseError, Store
from core.store.persona_files import PersonaFiles
from core.store.postgres.database import PostgresDatabase

__all__ = ["PersonaCore"]


async def open_store(settings: Settings) -> Store:
    """The database the settings name: PostgreSQL when PERSONA_MCP_DATABASE_URL is set, else the
    data folder's SQLite file."""
    if settings.database_url is not None:
        return await PostgresDatabase.open(settings.database_url.get_secret_value(), settings.fts_config)
    return await Database.open(settings.database_path)


async def _rebuild_vectors(memories: MemoryService) -> str:
    """After a state_load: the vector index again matches SQLite (stale and orphan vectors go)."""
    report = await memories.reindex(None)
    return (
        f"rebuilt: {report.indexed} indexed, {report.embedded} embedded, "
        f"{report.orphans_removed} stale removed"
    )


logger = logging.getLogger(__name__)

# The provider key persona_chat sends to Ollama (its cloud, or a proxy that wants a token).
OLLAMA_KEY = "ollama"


@dataclass
class PersonaCore:
    """Every service the front ends use, over one open database."""

    settings: Settings
    db: Store
    clock: Clock
    personas: PersonaService
    memories: MemoryService
    lifecycle: Lifecycle
    maintenance: Maintenance
    conversations: ConversationService
    rooms: Rooms
    relationships: RelationshipService
    contexts: ContextBuilder
    chats: ChatService
    transfer: PersonaTransfer
    lorebooks: LorebookService
    lorebook_files: LorebookTransfer
    histories: HistoryImporter
    state: StateService
    keys: KeyService
    access: AccessService
    reflector: Reflector
    started_monotonic: float = field(default_factory=time.monotonic)

    @classmethod
    async def open(cls, settings: Settings, clock: Clock | None = None) -> PersonaCore:
        """Open the data directory (creating it and the database on first use) and seed the
        shipped personas into a new database. Call `run_background` to load the embedder and keep
        the vector index caught up; until it has loaded, memory calls wait for it."""
        db = await open_store(settings)
        clock = clock or Clock()
        try:
            access = AccessService(db, clock, settings.shipped_personas == "everyone")
            emotions = EmotionService(
                db,
                clock,
                60 * settings.emotion_half_life_minutes,
                60 * settings.energy_half_life_minutes,
                access,
            )
            personas = PersonaService(db, PersonaLibrary(), clock, settings.default_persona, emotions, access)
            if settings.seed_personas:
                try:
                    added = await personas.seed()
                except DatabaseError:  # damaged pages: serve anyway, so each call can say what to do
                    added = 0
                if added:
                    logger.info("seeded %d shipped personas into %s", added, settings.database_path)
        except BaseException:
            await db.close()
            raise
        semantic = SemanticLayer(
            db,
            clock,
            EmbedderSlot(),
            settings.index_path,
            settings.data_dir / "vectors.lock",
            settings.chroma_host,
            settings.database_url.get_secret_value() if settings.database_url else None,
        )
        master = settings.master_key.get_secret_value() if settings.master_key else None
        keys = KeyService(db, clock, master, settings.key_file_path)
        model = OllamaChat(
            settings.ollama_host, settings.chat_timeout_seconds, credentials=lambda: keys.reveal(OLLAMA_KEY)
        )
        beliefs = StructuredModel(model, settings.belief_model, settings.chat_model)
        memories = MemoryService(db, clock, settings, personas, semantic, beliefs)
        lifecycle = Lifecycle(db, clock, settings, personas, semantic)
        tokens = TokenCounter(settings.cache_dir or default_cache_dir())
        conversations = ConversationService(db, clock, personas, memories, tokens)
        relationships = RelationshipService(db, clock, personas)
        lorebooks = LorebookService(db, personas, clock)
        contexts = ContextBuilder(
            db, personas, memories, conversations, lorebooks, tokens, settings.chat_token_budget
        )
        chats = ChatService(settings, personas, memories, conversations, contexts, relationships, model)
        reflector = Reflector(db, personas, clock, memories, beliefs)
        maintenance = Maintenance(
            settings,
            clock,
            memories,
            lifecycle,
            lambda persona_id, since: reflector.reflect(persona_id, None, since),
            db.leads if isinstance(db, PostgresDatabase) else None,
        )
        conversations.ended.append(maintenance.reflect_after)
        return cls(
            settings=settings,
            db=db,
            clock=clock,
            personas=personas,
            memories=memories,
            lifecycle=lifecycle,
            maintenance=maintenance,
            conversations=conversations,
            rooms=Rooms(clock, personas, conversations),
            relationships=relationships,
            contexts=contexts,
            chats=chats,
            transfer=PersonaTransfer(personas, memories, relationships, clock, PersonaFiles(db)),
            lorebooks=lorebooks,
            lorebook_files=LorebookTransfer(lorebooks, personas),
            histories=HistoryImporter(db, clock, personas, memories, tokens),
            state=StateService(db, settings, clock, after_load=lambda: _rebuild_vectors(memories)),
            keys=keys,
            access=access,
            reflector=reflector,
        )

    async def run_background(self) -> None:
        """Load the embedder, keep the vector index caught up, and run decay and pruning, until
        cancelled."""
        await self.maintenance.run()

    async def close(self) -> None:
        """Release the vector index and close the database; everything acknowledged is committed."""
        await self.memories.semantic.aclose()
        await self.db.close()
