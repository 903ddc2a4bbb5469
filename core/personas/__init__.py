"""Personas: the service, and the shipped personas and templates."""

from core.personas.library import PersonaLibrary
from core.personas.service import PersonaService, PersonaStatus

__all__ = ["PersonaLibrary", "PersonaService", "PersonaStatus"]
