"""SQLite storage: the database and one repository per table group."""

from core.store.database import Database, DatabaseError, damaged_message
from core.store.personas import PersonaRepository
from core.store.status import StatusRepository

__all__ = ["Database", "DatabaseError", "PersonaRepository", "StatusRepository", "damaged_message"]
