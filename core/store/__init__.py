"""Storage: the port (Store), its SQLite adapter (Database) and PostgreSQL adapter
(postgres.PostgresDatabase), and one repository per table group."""

from core.store.database import Database, DatabaseError, damaged_message
from core.store.personas import PersonaRepository
from core.store.port import Store
from core.store.status import StatusRepository

__all__ = ["Database", "DatabaseError", "PersonaRepository", "StatusRepository", "Store", "damaged_message"]
