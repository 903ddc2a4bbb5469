"""Provider keys sealed under a master key."""

from core.keys.service import KeyInfo, KeyList, KeyRemoved, KeyService, KeySet, mask

__all__ = ["KeyInfo", "KeyList", "KeyRemoved", "KeyService", "KeySet", "mask"]
