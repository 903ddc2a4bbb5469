"""PersonaCore: opens the store, wires the services, and closes them again."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from core.clock import Clock
from core.config import Settings
from core.personas import PersonaLibrary, PersonaService
from core.store import Database

__all__ = ["PersonaCore"]

logger = logging.getLogger(__name__)


@dataclass
class PersonaCore:
    """Every service the front ends use, over one open database."""

    settings: Settings
    db: Database
    clock: Clock
    personas: PersonaService
    started_monotonic: float = field(default_factory=time.monotonic)

    @classmethod
    async def open(cls, settings: Settings, clock: Clock | None = None) -> PersonaCore:
        """Open the data directory (creating it and the database on first use) and seed the
        shipped personas into a new database."""
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        db = await Database.open(settings.database_path)
        clock = clock or Clock()
        try:
            personas = PersonaService(db, PersonaLibrary(), clock, settings.default_persona)
            if settings.seed_personas:
                added = await personas.seed()
                if added:
                    logger.info("seeded %d shipped personas into %s", added, settings.database_path)
        except BaseException:
            await db.close()
            raise
        return cls(settings=settings, db=db, clock=clock, personas=personas)

    async def close(self) -> None:
        """Close the database; everything acknowledged is already committed."""
        await self.db.close()
