"""A small model asked for JSON, for the jobs that need judgement: does a new fact end an old one,
what do these episodes establish? Every caller has a rule or an extractive method to fall back on,
so the model is asked only when it is configured and Ollama answers, and any failure (not
reachable, no such model, an answer that does not fit the schema) is None, never an error.

A server without Ollama pays for one refused connection a minute, not one per call: both answers
of the reachability check are kept for a minute."""

from __future__ import annotations

import logging
import time
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from core.errors import Unavailable
from core.llm.chat import OllamaChat, PromptMessage

__all__ = ["StructuredModel", "belief_model_name"]

logger = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)
_REMEMBER_S = 60.0


def belief_model_name(setting: str, chat_model: str) -> str | None:
    """The model the belief_model setting names: 'auto' is the chat model, 'off' is none."""
    return {"off": None, "auto": chat_model}.get(setting, setting)


class StructuredModel:
    """The model named by the belief_model setting: 'auto' (the chat model), 'off', or a name."""

    def __init__(self, chat: OllamaChat, setting: str, chat_model: str) -> None:
        self._chat = chat
        self.name = belief_model_name(setting, chat_model)
        self._checked_at = -_REMEMBER_S
        self._up = False

    async def available(self) -> bool:
        """Whether a model is configured and Ollama answered (checked at most once a minute)."""
        if self.name is None:
            return False
        if time.monotonic() - self._checked_at >= _REMEMBER_S:
            self._up = await self._chat.reachable()
            self._checked_at = time.monotonic()
        return self._up

    async def ask(self, instructions: str, question: str, schema: type[M]) -> M | None:
        """The model's answer to `question`, held to `schema`; None when there is none to have."""
        if self.name is None or not await self.available():
            return None
        messages = [PromptMessage("system", instructions), PromptMessage("user", question)]
        try:
            text = await self._chat.structured(messages, self.name, schema.model_json_schema())
        except Unavailable as exc:
            logger.warning("the belief model is not usable now (%s); rules stand in for it", exc)
            self._up, self._checked_at = False, time.monotonic()
            return None
        try:
            return schema.model_validate_json(text)
        except ValidationError as exc:
            logger.warning("the belief model %s answered outside the schema: %s", self.name, exc.errors()[0])
            return None
