"""The shape of a lorebook (a card's character_book, SillyTavern's world info): models only.

The fields follow the Character Card V2/V3 lorebook field by field. The behaviour SillyTavern keeps
in each entry's `extensions` (selective logic, sticky, cooldown, depth, role, scan depth, whole-word
matching) has typed fields here; cards map them both ways (core/interop/lore_codec.py) and the
matching itself lives in core/personas/lore.py.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.world_info import as_lorebook

__all__ = ["MAX_LORE_ENTRIES", "MAX_LORE_KEYS", "LoreEntry", "LoreLogic", "LoreRole", "Lorebook"]

MAX_LORE_ENTRIES = 1_000
# Keys (primary and secondary) in one book. The largest community lorebooks hold a few thousand;
# each key is searched in every scanned message, so this bounds what one chat can be made to do.
MAX_LORE_KEYS = 20_000
_KEY = Annotated[str, Field(min_length=1, max_length=500)]
_KEYS = Annotated[list[_KEY], Field(max_length=100)]

LoreLogic = Literal["and_any", "and_all", "not_any", "not_all"]
LoreRole = Literal["system", "user", "assistant"]


class LoreEntry(BaseModel):
    """One piece of lore, put into the context while its keys appear in the recent conversation."""

    model_config = ConfigDict(extra="forbid")

    keys: _KEYS = Field(default_factory=list, description="Words or phrases that activate the entry.")
    content: str = Field("", max_length=16_000, description="Text added to the context when active.")
    secondary_keys: _KEYS = Field(
        default_factory=list, description="Further keys, combined with `keys` by `logic` when selective."
    )
    selective: bool | None = Field(
        None, description="Apply `logic` to secondary_keys; default: true when secondary_keys are given."
    )
    logic: LoreLogic = Field(
        "and_any",
        description="With secondary keys: and_any (one must match too), and_all (all must), not_any "
        "(none may), not_all (not all may).",
    )
    constant: bool = Field(False, description="Always active, whatever the conversation says.")
    enabled: bool = Field(True, description="A disabled entry never activates.")
    insertion_order: int = Field(100, description="Lower numbers are placed earlier in the context.")
    priority: int | None = Field(
        None, description="When the token budget is short, lower priority gives way first."
    )
    position: Literal["before_char", "after_char"] | None = Field(
        None, description="Before or after the persona's description in the system prompt (default after)."
    )
    depth: int | None = Field(
        None, ge=0, le=1_000, description="Insert as a message this many messages from the end instead."
    )
    role: LoreRole = Field("system", description="Role of the message inserted at `depth`.")
    case_sensitive: bool | None = Field(None, description="Match keys with case (default: ignore case).")
    whole_words: bool | None = Field(
        None,
        description="Keys match whole words only: 'art' not in 'party'. Default: anywhere in the text, as "
        "SillyTavern does ('Slime' in 'slimes'); Chinese, Japanese, Thai and Korean never need a boundary.",
    )
    use_regex: bool = Field(False, description="Keys are regular expressions.")
    scan_depth: int | None = Field(
        None, ge=0, le=1_000, description="How many recent messages to scan (default: the book's)."
    )
    sticky: int | None = Field(
        None, ge=0, le=10_000, description="Stay active this many messages after activating."
    )
    cooldown: int | None = Field(
        None, ge=0, le=10_000, description="After an activation ends, wait this many messages."
    )
    name: str | None = Field(None, max_length=500)
    id: int | str | None = Field(None, description="The entry's id in its source, kept as given.")
    comment: str | None = Field(None, max_length=16_000)
    extensions: dict[str, Any] = Field(default_factory=dict, description="Kept and round-tripped as given.")

    @property
    def is_selective(self) -> bool:
        """Whether secondary keys take part in matching."""
        return (
            bool(self.secondary_keys)
            if self.selective is None
            else self.selective and bool(self.secondary_keys)
        )

    def label(self, index: int) -> str:
        """How listings name the entry: its name, comment, first key, or its place in the book."""
        return self.name or self.comment or (self.keys[0] if self.keys else f"entry {index}")


class Lorebook(BaseModel):
    """A persona's lorebook: entries and the rules for scanning them."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=500)
    description: str | None = Field(None, max_length=16_000)
    scan_depth: int | None = Field(
        None, ge=0, le=1_000, description="How many recent messages keys are looked for in (default 4)."
    )
    token_budget: int | None = Field(
        None, ge=0, le=1_000_000, description="Most tokens all active entries together may use."
    )
    recursive_scanning: bool | None = Field(
        None, description="Active entries' content can activate further entries."
    )
    entries: list[LoreEntry] = Field(default_factory=list, max_length=MAX_LORE_ENTRIES)
    extensions: dict[str, Any] = Field(default_factory=dict, description="Kept and round-tripped as given.")

    @model_validator(mode="before")
    @classmethod
    def _other_shapes(cls, data: Any) -> Any:
        """A SillyTavern World Info file or a lorebook_v3 file, taken as it is (core/world_info.py)."""
        return as_lorebook(data)

    @model_validator(mode="after")
    def _bounded_keys(self) -> Lorebook:
        keys = sum(len(entry.keys) + len(entry.secondary_keys) for entry in self.entries)
        if keys > MAX_LORE_KEYS:
            raise ValueError(
                f"the entries hold {keys} keys in all; a lorebook may hold at most {MAX_LORE_KEYS} "
                "(split it, or drop keys that never come up)"
            )
        return self
