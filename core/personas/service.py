"""PersonaService: create, read, update, archive and purge personas; resolve which one a call means."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import aiosqlite
from pydantic import BaseModel, Field, ValidationError

from core.access import AccessService, Level, acting, audit
from core.clock import Clock, iso
from core.emotions import EmotionService
from core.errors import Conflict, InvalidInput, MissingInput, NotFound
from core.models import PERSONA_ID_PATTERN, EmotionalState, Persona, PersonaSpec, PersonaSummary, Template
from core.personas.blend import blend_fields, normalized_weights
from core.personas.library import PersonaLibrary
from core.store import PersonaRepository, StatusRepository, Store

__all__ = ["DeleteResult", "PersonaService", "PersonaStatus", "numbered", "slugify", "validated_spec"]

_SHOWN_IDS = 12  # how many existing ids an error message lists
_SEEDED_KEY = "personas_seeded_at"
_ACTIVE_KEY = "active_persona:"  # + a principal's name


class PersonaStatus(BaseModel):
    """Everything about a persona's current state in one place."""

    persona: PersonaSummary
    emotional_state: EmotionalState
    memory_counts: dict[str, int] = Field(description="Live memories by kind, plus total and archived.")
    relationships: list[dict[str, Any]] = Field(description="Closest relationships, strongest first.")
    open_conversation: dict[str, Any] | None = Field(description="Most recent open conversation, if any.")
    social_energy: float = Field(ge=0.0, le=1.0, description="Energy left for conversation, 0-1.")


class DeleteResult(BaseModel):
    """What persona_delete did."""

    persona_id: str
    action: Literal["archived", "purged", "already_archived"]
    counts: dict[str, int] = Field(description="Rows archived with the persona, or removed for good.")


def slugify(name: str) -> str:
    """A persona id from a display name: 'Dr. Élise Moreau' -> 'dr-elise-moreau'."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:64].strip("-")
    if not slug:  # a name with no Latin letters or digits at all
        slug = "persona-" + hashlib.sha256(name.encode()).hexdigest()[:8]
    return slug


def numbered(slug: str, number: int) -> str:
    """The slug with `-<number>` (2, 3...) for the next free id, still at most 64 characters."""
    suffix = f"-{number}"
    return slug[: 64 - len(suffix)].rstrip("-") + suffix


def _deep_merge(base: dict[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def validated_spec(data: Mapping[str, Any], argument: str) -> PersonaSpec:
    """The fields as a PersonaSpec, or InvalidInput naming what is wrong under `argument`."""
    try:
        spec = PersonaSpec.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput.from_validation(exc, prefix=argument) from None
    if spec.name.casefold() in (alias.casefold() for alias in spec.aliases):
        where = f"{argument}.aliases" if argument else "aliases"
        raise InvalidInput(where, spec.aliases, f"{spec.name!r} is the name itself: aliases are other names.")
    return spec


class PersonaService:
    """The persona operations behind the persona_* tools."""

    def __init__(
        self,
        db: Store,
        library: PersonaLibrary,
        clock: Clock,
        default_persona: str,
        emotions: EmotionService,
        access: AccessService,
    ) -> None:
        self._db = db
        self.access = access
        self.emotions = emotions
        self._repo = PersonaRepository(db)
        self._status = StatusRepository(db)
        self._library = library
        self._clock = clock
        self.default_persona = default_persona

    async def seed(self) -> int:
        """Insert the shipped personas into a database that has never been seeded. Returns how
        many were added. Runs once per database, so personas a user deleted stay deleted."""
        now = self._clock.now()
        added = 0
        async with self._db.transaction() as tx:
            if await PersonaRepository.setting_in_tx(tx, _SEEDED_KEY) is not None:
                return 0
            for persona_id, spec in self._library.personas().items():
                if await PersonaRepository.get_in_tx(tx, persona_id) is not None:
                    continue
                persona = Persona(**spec.model_dump(), id=persona_id, created_at=now, updated_at=now)
                await PersonaRepository.insert(tx, persona)
                added += 1
            await PersonaRepository.put_setting_in_tx(tx, _SEEDED_KEY, iso(now), iso(now))
        return added

    async def _unknown(self, persona_id: str, argument: str = "persona_id") -> NotFound:
        known = [p.id for p in await self._visible(await self._repo.all())]
        known.sort()
        listed = ", ".join(known[:_SHOWN_IDS]) + (", ..." if len(known) > _SHOWN_IDS else "")
        hint = f"Existing personas: {listed}." if known else "No personas exist yet: create one first."
        return NotFound(argument, persona_id, hint)

    async def _visible(self, personas: Sequence[Persona]) -> list[Persona]:
        """Those of `personas` the acting principal may see."""
        return await self.access.visible_among(personas)

    async def find(self, persona_id: str) -> Persona | None:
        """The persona with this id (archived ones too), or None (also when the acting principal
        may not see it)."""
        persona = await self._repo.get(persona_id)
        return persona if persona is not None and await self.access.visible(persona) else None

    async def active_of(self, principal: str) -> str | None:
        """The persona `principal` switched to in sessionless requests (2026-07-28), if any. Kept
        in the database, so every worker on a store sees one switch."""
        return await self._repo.setting(f"{_ACTIVE_KEY}{principal}")

    async def set_active(self, principal: str, persona_id: str) -> None:
        await self._repo.put_setting(f"{_ACTIVE_KEY}{principal}", persona_id, iso(self._clock.now()))

    async def fingerprint(self) -> tuple[Any, ...]:
        """A value that changes whenever the persona list or a persona changes (in any process)."""
        return await self._repo.fingerprint()

    async def named(self, name: str) -> Persona | None:
        """The live persona with this name (ignoring case) the acting principal may see, or None."""
        for persona in await self._visible(await self._repo.all()):
            if persona.name.casefold() == name.strip().casefold():
                return persona
        return None

    async def blend(
        self,
        persona_ids: Sequence[str],
        weights: Sequence[float] | None,
        name: str,
        persona_id: str | None = None,
    ) -> Persona:
        """A new persona mixing these (see core/personas/blend.py for how each field mixes)."""
        if len(set(persona_ids)) != len(persona_ids) or len(persona_ids) < 2:
            raise InvalidInput(
                "persona_ids", list(persona_ids), "name two or more different personas to blend."
            )
        if weights is not None and len(weights) != len(persona_ids):
            raise InvalidInput(
                "weights", list(weights), f"give one weight per persona ({len(persona_ids)}), or none."
            )
        if weights is not None and not all(w > 0 for w in weights):
            raise InvalidInput("weights", list(weights), "weights must be greater than 0.")
        parents = [await self.get_live(pid, f"persona_ids[{index}]") for index, pid in enumerate(persona_ids)]
        fields = blend_fields(parents, normalized_weights(len(parents), weights), name, self._clock.now())
        return await self.create(fields, persona_id=persona_id)

    async def get(self, persona_id: str, argument: str = "persona_id") -> Persona:
        """The persona with this id (archived ones too), or NotFound listing the ids that exist.
        One the acting principal may not see is answered exactly as one that does not exist."""
        persona = await self._repo.get(persona_id)
        if persona is None or not await self.access.visible(persona):
            if persona is not None:
                self.access.denied("persona", persona_id)
            raise await self._unknown(persona_id, argument)
        return persona

    async def get_for(
        self, persona_id: str, need: Level, doing: str, argument: str = "persona_id"
    ) -> Persona:
        """`get`, then Forbidden unless the acting principal holds `need` on it."""
        persona = await self.get(persona_id, argument)
        await self.access.require(persona, need, doing)
        return persona

    async def get_live(self, persona_id: str, argument: str = "persona_id") -> Persona:
        """Like get, but an archived persona is an error."""
        persona = await self.get(persona_id, argument)
        if persona.archived_at is not None:
            raise InvalidInput(
                argument,
                persona_id,
                "That persona is archived. Restore it with persona_update(restore=true), or pick another.",
            )
        return persona

    async def resolve(self, persona_id: str | None, active: str | None = None) -> Persona:
        """The persona a call means: the one named, else the session's active one, else the
        configured default."""
        if persona_id is not None:
            return await self.get_live(persona_id)
        chosen, source = (
            (active, "this session's active persona")
            if active
            else (
                self.default_persona,
                "the default persona (PERSONA_MCP_DEFAULT_PERSONA)",
            )
        )
        persona = await self.find(chosen)
        if persona is None or persona.archived_at is not None:
            state = "is archived" if persona else "does not exist"
            raise MissingInput(
                "persona_id",
                f"Calls without one use {source}, {chosen!r}, which {state}. Pass persona_id or "
                "switch to another persona.",
            )
        return persona

    async def list_personas(self, tag: str | None = None, include_archived: bool = False) -> list[Persona]:
        """Personas ordered by name, optionally only those carrying `tag` (case-insensitive)."""
        personas = await self._visible(await self._repo.all(include_archived))
        if tag is not None:
            wanted = tag.strip().casefold()
            personas = [p for p in personas if wanted in (t.casefold() for t in p.tags)]
        return personas

    def templates(self) -> list[Template]:
        """The shipped templates."""
        return self._library.templates()

    async def create(
        self, fields: Mapping[str, Any], template: str | None = None, persona_id: str | None = None
    ) -> Persona:
        """A new persona from `fields`, or from a template with `fields` as overrides."""
        base: dict[str, Any] = {}
        if template is not None:
            spec = self._library.template(template)
            if spec is None:
                known = ", ".join(t.id for t in self._library.templates())
                raise NotFound("template", template, f"Available templates: {known}.")
            base = spec.model_dump()
        elif not fields.get("name"):
            raise InvalidInput("name", fields.get("name"), "Give the persona a name, or pass a template.")
        spec = validated_spec(_deep_merge(base, fields), "")
        new_id = persona_id if persona_id is not None else await self._free_slug(slugify(spec.name))
        if not re.match(PERSONA_ID_PATTERN, new_id):
            raise InvalidInput(
                "id", new_id, "Ids are 1-64 lowercase letters, digits and inner hyphens, e.g. 'aria-2'."
            )
        now = self._clock.now()
        persona = Persona(**spec.model_dump(), id=new_id, created_at=now, updated_at=now, owner=acting().name)
        async with self._db.transaction() as tx:
            await self._check_free(tx, persona, new=True)
            await PersonaRepository.insert(tx, persona)
        return persona

    async def _free_slug(self, slug: str) -> str:
        """The id a new persona named like this gets: the slug, or (when a persona the acting
        principal cannot see holds it) the first free `slug-2`, `slug-3`, ... so that creating a
        persona never reveals another principal's. A visible holder is a Conflict as before."""
        candidate, number = slug, 1
        while (holder := await self._repo.get(candidate)) is not None and not await self.access.visible(
            holder
        ):
            number += 1
            candidate = numbered(slug, number)
        return candidate

    async def _check_free(self, tx: aiosqlite.Connection, persona: Persona, new: bool) -> None:
        """Raise Conflict if a new persona's id exists (archived or not), or a live persona the
        acting principal can see, or one with the same owner, has the name. Read in the write
        transaction, so what other processes committed before it began counts. An id held by a
        persona the caller cannot see is only "not available": ids are one namespace, but nothing
        more is told."""
        if new and (holder := await PersonaRepository.get_in_tx(tx, persona.id)) is not None:
            if not await self.access.visible(holder):
                self.access.denied("persona", persona.id)
                raise Conflict(f"The id {persona.id!r} is not available. Pass another id.")
            archived = " (archived: purge it to reuse the id)" if holder.archived_at else ""
            raise Conflict(
                f"A persona with id {persona.id!r} already exists{archived}. Pass another id, "
                "or update the existing persona instead."
            )
        for holder in await PersonaRepository.named_in_tx(tx, persona.name, None if new else persona.id):
            if holder.owner == persona.owner or await self.access.visible(holder):
                raise Conflict(
                    f"The name {persona.name!r} is already used by persona {holder.id!r}. Names of live "
                    "personas are unique (ignoring case): choose another name."
                )

    async def update(self, persona_id: str, changes: Mapping[str, Any], restore: bool = False) -> Persona:
        """Apply a partial change (nested objects merge key by key) and bump the version."""
        current = await self.get_for(persona_id, "write", "persona_update")
        if current.archived_at is not None and not restore:
            raise InvalidInput(
                "persona_id", persona_id, "That persona is archived: pass restore=true to bring it back."
            )
        if not changes and not (restore and current.archived_at is not None):
            raise InvalidInput(
                "changes", dict(changes), "Name at least one field to change, e.g. {'tags': [...]}."
            )
        merged = _deep_merge(current.model_dump(include=set(PersonaSpec.model_fields)), changes)
        spec = validated_spec(merged, "changes")
        updated = Persona(
            **spec.model_dump(),
            id=current.id,
            version=current.version + 1,
            created_at=current.created_at,
            updated_at=self._clock.now(),
            archived_at=None if restore else current.archived_at,
            owner=current.owner,
        )
        async with self._db.transaction() as tx:
            await self._check_free(tx, updated, new=False)
            await PersonaRepository.replace(tx, updated)
        return updated

    async def delete(self, persona_id: str, purge: bool = False) -> DeleteResult:
        """Archive the persona (reversible), or with purge remove it and all it owns for good."""
        persona = await self.get_for(persona_id, "own", "persona_delete")
        async with self._db.transaction() as tx:
            counts = await PersonaRepository.owned_counts(tx, persona_id)
            now = iso(self._clock.now())
            await audit(tx, now, acting().name, "purge" if purge else "archive", "persona", persona_id)
            if purge:
                await PersonaRepository.purge(tx, persona_id)
                return DeleteResult(persona_id=persona_id, action="purged", counts={"personas": 1, **counts})
            if persona.archived_at is not None:
                return DeleteResult(persona_id=persona_id, action="already_archived", counts={})
            archived = persona.model_copy(update={"archived_at": self._clock.now()})
            await PersonaRepository.replace(tx, archived)
        return DeleteResult(persona_id=persona_id, action="archived", counts={"personas": 1, **counts})

    async def emotional_state(self, persona: Persona) -> EmotionalState:
        """How the persona feels now (its baseline until something has moved it, drifting back
        toward it as time passes)."""
        return await self.emotions.state(persona)

    async def status(self, persona: Persona) -> PersonaStatus:
        """The persona's emotional state, memory counts, relationships and open conversation."""
        emotional = await self.emotional_state(persona)
        return PersonaStatus(
            persona=persona.summary(),
            emotional_state=emotional,
            memory_counts=await self._status.memory_counts(persona.id),
            relationships=await self._status.strongest_relationships(persona.id),
            open_conversation=await self._status.open_conversation(persona.id),
            social_energy=emotional.energy,
        )
