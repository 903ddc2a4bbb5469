"""Counting tokens for context budgets.

With all-MiniLM-L6-v2 on this machine (installed, or fetched once), tokens are counted by a real
tokenizer: its WordPiece tokenizer (`tokenizers` ships with ChromaDB). Chat models tokenize
differently, but WordPiece counts of English text are within about 10-20% of theirs, far closer
than a character estimate. Without it the count is an estimate: one token per 4 characters,
rounded up. `method` says which.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from core import minilm

__all__ = ["TokenCounter"]

_CHARS_PER_TOKEN = 4
_MESSAGE_OVERHEAD = 4  # role and separators a chat template adds around each message
_LOOK_AGAIN_SECONDS = 60.0


def _wordpiece(cache_dir: Path) -> Callable[[list[str]], list[int]] | None:
    try:
        from tokenizers import Tokenizer
    except ImportError:
        return None
    text = minilm.tokenizer_text(cache_dir)
    if text is None:
        return None
    tokenizer = Tokenizer.from_str(text)
    tokenizer.no_truncation()
    tokenizer.no_padding()

    def count(texts: list[str]) -> list[int]:
        # Without the [CLS] and [SEP] the tokenizer adds around every text.
        return [len(e.ids) - 2 for e in tokenizer.encode_batch(texts)]

    return count


class TokenCounter:
    """Counts tokens of texts and of chat messages."""

    def __init__(self, cache_dir: Path) -> None:
        self._cache_dir = cache_dir
        self._count = _wordpiece(cache_dir)
        self._looked_at = time.monotonic()

    @property
    def method(self) -> str:
        """How tokens are counted now."""
        if self._counter() is not None:
            return "wordpiece tokenizer (all-MiniLM-L6-v2)"
        return f"estimate: {_CHARS_PER_TOKEN} characters per token"

    def _counter(self) -> Callable[[list[str]], list[int]] | None:
        """The tokenizer; while there is none (the model is still being fetched), looked for
        again at most once a minute."""
        if self._count is None and time.monotonic() - self._looked_at > _LOOK_AGAIN_SECONDS:
            self._looked_at = time.monotonic()
            self._count = _wordpiece(self._cache_dir)
        return self._count

    def count_many(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        if (count := self._counter()) is not None:
            return [max(0, n) for n in count(list(texts))]
        return [math.ceil(len(text) / _CHARS_PER_TOKEN) for text in texts]

    def count(self, text: str) -> int:
        return self.count_many([text])[0]

    def message(self, text: str) -> int:
        """Tokens one chat message takes, its role and separators included."""
        return self.count(text) + _MESSAGE_OVERHEAD

    def messages(self, texts: Sequence[str]) -> list[int]:
        """Like `message`, for many at once (one tokenizer call)."""
        return [n + _MESSAGE_OVERHEAD for n in self.count_many(texts)]
