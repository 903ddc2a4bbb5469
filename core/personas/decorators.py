"""Character Card V3 lorebook decorators: `@@name value` lines at the top of an entry's content.

Recognised: activate, dont_activate, depth, role, scan_depth, position, activate_only_after,
activate_only_every, keep_activate_after_match, dont_activate_after_match, additional_keys,
exclude_keys. Unknown decorators are ignored, and a `@@@` fallback line stands in for the
unknown decorator before it (as the spec describes). The content keeps its decorators as stored
(so cards round-trip); they are stripped only when the entry goes into a prompt.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Decorators", "parse_decorators"]

_FLAGS = {"activate", "dont_activate", "keep_activate_after_match", "dont_activate_after_match"}
_NUMBERS = {"depth", "scan_depth", "activate_only_after", "activate_only_every"}
_LISTS = {"additional_keys", "exclude_keys"}
_ROLES = {"system", "user", "assistant"}
_POSITIONS = {
    "before_desc": "before_char",
    "after_desc": "after_char",
    "personality": "after_char",
    "scenario": "after_char",
}


@dataclass
class Decorators:
    """The decorators of one entry, read."""

    activate: bool = False
    dont_activate: bool = False
    keep_activate_after_match: bool = False
    dont_activate_after_match: bool = False
    depth: int | None = None
    scan_depth: int | None = None
    activate_only_after: int | None = None
    activate_only_every: int | None = None
    role: str | None = None
    position: str | None = None
    additional_keys: list[str] = field(default_factory=list)
    exclude_keys: list[str] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)

    def apply(self, name: str, value: str) -> bool:
        """Take one decorator; False when it is unknown or its value is invalid (so a fallback
        may be tried). Only the first decorator of a name counts."""
        if name in self.seen:
            return True
        if name in _FLAGS:
            setattr(self, name, True)
        elif name in _NUMBERS:
            try:
                number = int(value.strip())
            except ValueError:
                return False
            if number < 0 or (name == "activate_only_every" and number == 0):
                return False
            setattr(self, name, min(number, 10_000))
        elif name in _LISTS:
            setattr(self, name, [part.strip() for part in value.split(",") if part.strip()])
        elif name == "role" and value.strip() in _ROLES:
            self.role = value.strip()
        elif name == "position" and value.strip() in _POSITIONS:
            self.position = _POSITIONS[value.strip()]
        else:
            return False
        self.seen.add(name)
        return True


def parse_decorators(content: str) -> tuple[Decorators, str]:
    """The decorators at the top of `content`, and the content without them."""
    decorators = Decorators()
    lines = content.split("\n")
    index = 0
    previous_taken = True
    while index < len(lines) and lines[index].startswith("@@"):
        line = lines[index].strip()
        fallback = line.startswith("@@@")
        name, _, value = line.lstrip("@").partition(" ")
        if fallback:
            if not previous_taken:
                previous_taken = decorators.apply(name, value)
        else:
            previous_taken = decorators.apply(name, value)
        index += 1
    return decorators, "\n".join(lines[index:]).strip("\n")
