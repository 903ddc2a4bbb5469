"""Principals and access: who is calling, and what it may see and change (policy.py)."""

from core.access.policy import Level, memory_visible_sql, persona_readable_sql, rank
from core.access.principal import OWNER, OWNER_NAME, Principal, acting, acting_as, require_admin
from core.access.repository import audit
from core.access.service import AccessService, AuditEntry, Grant, PrincipalInfo, WhoAmI, hash_token

__all__ = [
    "OWNER",
    "OWNER_NAME",
    "AccessService",
    "AuditEntry",
    "Grant",
    "Level",
    "Principal",
    "PrincipalInfo",
    "WhoAmI",
    "acting",
    "acting_as",
    "audit",
    "hash_token",
    "memory_visible_sql",
    "persona_readable_sql",
    "rank",
    "require_admin",
]
