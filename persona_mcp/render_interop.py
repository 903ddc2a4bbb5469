"""Text renderings of persona_import / persona_export, state_save / state_load and keys_* results."""

from __future__ import annotations

from core.interop.history_import import HistoryImport
from core.interop.lorebook_files import LorebookExport
from core.interop.transfer import ExportResult, ImportResult
from core.keys import KeyInfo, KeyList, KeyRemoved, KeySet
from core.personas.lorebooks import (
    LorebookAttachment,
    LorebookDeleted,
    LorebookImported,
    LorebookInfo,
    LorebookList,
)
from core.state import LoadResult, SaveResult
from persona_mcp.render import register_renderer

__all__: list[str] = []


@register_renderer
def _imported(result: ImportResult) -> str:
    persona = result.persona
    lines = [f"{result.action.capitalize()} {persona.name} ({persona.id}) from {result.format}."]
    if persona.lorebook is not None:
        lines.append(f"Lorebook: {len(persona.lorebook.entries)} entries.")
    if result.state is not None:
        state = result.state
        lines.append(
            f"State: emotional state {state.emotional_state}; relationships {state.relationships_imported} "
            f"imported, {state.relationships_kept} kept; memories {state.memories_stored} stored, "
            f"{state.memories_merged} merged into existing ones."
        )
    lines.extend(f"Warning: {warning}" for warning in result.warnings)
    return "\n".join(lines)


@register_renderer
def _exported(result: ExportResult) -> str:
    state = "" if result.memories is None else f", with {result.memories} memories and state"
    head = f"{result.persona_id} as {result.format} ({result.size:,} bytes, {result.encoding}{state}):"
    return f"{head}\n{result.content}"


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{name.replace('_', ' ')} {value}" for name, value in counts.items())


@register_renderer
def _saved(result: SaveResult) -> str:
    lock = "encrypted" if result.encrypted else "not encrypted"
    return (
        f"Saved to {result.path} ({result.size:,} bytes, {lock}, format {result.format_version}); "
        f"sha256 {result.sha256}. Holds: {_counts(result.counts)}."
    )


@register_renderer
def _loaded(result: LoadResult) -> str:
    made = f" (saved {result.saved_at} by persona-mcp {result.app_version})" if result.saved_at else ""
    return (
        f"Loaded {result.path}{made} by {result.mode}. Written: {_counts(result.written) or 'nothing new'}. "
        f"Now: {_counts(result.counts)}. Vectors: {result.vectors}."
    )


def _key_line(key: KeyInfo) -> str:
    where = f" at {key.base_url}" if key.base_url else ""
    sealed = "" if key.readable else " [sealed under another master key: unreadable]"
    return f"{key.name} ({key.provider}{where}): {key.masked}, updated {key.updated_at}{sealed}"


@register_renderer
def _key_set(result: KeySet) -> str:
    verb = "Replaced" if result.replaced else "Stored"
    return f"{verb} {_key_line(result)}. The key is stored encrypted and never shown again."


@register_renderer
def _key_list(result: KeyList) -> str:
    if not result.keys:
        return f"No provider keys stored. Master key: {result.master_key}."
    lines = [f"{len(result.keys)} provider key(s); master key: {result.master_key}."]
    lines.extend(_key_line(key) for key in result.keys)
    return "\n".join(lines)


@register_renderer
def _key_removed(result: KeyRemoved) -> str:
    return f"Removed the provider key {result.name}."


def _attached(info: LorebookInfo) -> str:
    places = [*info.personas, *(f"conversation {c}" for c in info.conversations)]
    return f"attached to {', '.join(places)}" if places else "not attached"


@register_renderer
def _book_imported(result: LorebookImported) -> str:
    verb = "Replaced" if result.replaced else "Imported" if result.created else "Already stored:"
    lines = [
        f"{verb} lorebook {result.name} ({result.id}) from {result.format}: {result.entries} entries, "
        f"{_attached(result)}."
    ]
    lines.extend(f"Warning: {warning}" for warning in result.warnings)
    return "\n".join(lines)


@register_renderer
def _book_list(result: LorebookList) -> str:
    if not result.lorebooks:
        return "No lorebooks. lorebook_import stores one (SillyTavern World Info or lorebook_v3)."
    return "\n".join(
        f"{info.name} ({info.id}): {info.entries} entries, {_attached(info)}" for info in result.lorebooks
    )


@register_renderer
def _book_export(result: LorebookExport) -> str:
    head = f"{result.name} as {result.format} ({result.entries} entries; save as {result.filename}):"
    return f"{head}\n{result.content}"


@register_renderer
def _book_attachment(result: LorebookAttachment) -> str:
    target = f"persona {result.persona_id}" if result.persona_id else f"conversation {result.conversation_id}"
    return f"Lorebook {result.lorebook_id}: {result.action.replace('_', ' ')} ({target})."


@register_renderer
def _book_deleted(result: LorebookDeleted) -> str:
    return f"Deleted lorebook {result.name} ({result.lorebook_id}); detached from {result.detached} place(s)."


@register_renderer
def _history(result: HistoryImport) -> str:
    verb = "Would import" if result.dry_run else "Imported"
    made = []
    if result.conversations:
        made.append(f"{result.conversations} conversation(s) with {result.messages} messages")
    made.append(f"{result.memories} {'memories to store' if result.dry_run else 'new memories'}")
    if result.merged:
        made.append(f"{result.merged} repeats merged into existing memories")
    lines = [f"{verb} {result.format} history into {result.persona_id}: {', '.join(made)}."]
    if result.already_imported:
        lines.append(f"Already imported earlier (nothing added): {result.already_imported} item(s).")
    passed = "; ".join(f"{count} {reason}" for reason, count in result.passed_over.items())
    if passed:
        lines.append(f"Passed over by the write gate: {passed}.")
    lines.extend(f"e.g. {text}" for text in result.sample[:3])
    lines.extend(f"Warning: {warning}" for warning in result.warnings)
    return "\n".join(lines)
