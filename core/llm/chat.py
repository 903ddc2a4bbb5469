"""Chat models: the protocol persona_chat talks to, and Ollama's implementation of it.

The Ollama provider uses the official `ollama` async client: streaming chat (each piece of text is
handed to `on_chunk` as it arrives), retries with backoff on transient failures before any text
has arrived (connection refused, timeouts, 5xx), and clear errors otherwise. Cancelling the
calling task cancels the request.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import anyio
import httpx

from core.errors import Unavailable

if TYPE_CHECKING:  # imported where used: the library costs start-up time
    import ollama

__all__ = ["RETRYABLE_STATUS", "ChatModel", "Completion", "OllamaChat", "PromptMessage"]

logger = logging.getLogger(__name__)

OnChunk = Callable[[str], Awaitable[None]]
T = TypeVar("T")
# The API key to send (as `Authorization: Bearer`), looked up at each call; None sends none.
Credentials = Callable[[], Awaitable[str | None]]
# Ollama answers worth retrying (busy, or a proxy in front of it failing): chat and embeddings.
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
_PROBE_TIMEOUT_S = 1.0


@dataclass(frozen=True)
class PromptMessage:
    role: str  # system, user or assistant
    content: str


@dataclass(frozen=True)
class Completion:
    """A finished reply."""

    text: str
    model: str
    prompt_tokens: int | None  # as the provider counted them, when it says
    completion_tokens: int | None


class ChatModel(Protocol):
    """Something that answers a list of messages."""

    @property
    def provider(self) -> str: ...

    async def reachable(self) -> bool:
        """Whether the model answers at all (asked with a short timeout)."""
        ...

    async def complete(
        self,
        messages: Sequence[PromptMessage],
        model: str,
        temperature: float | None,
        on_chunk: OnChunk | None = None,
    ) -> Completion: ...


def _not_reachable(host: str, model: str, why: str) -> Unavailable:
    return Unavailable(
        f"Ollama is not reachable at {host} ({why}). Start it with `ollama serve` and fetch the model "
        f"with `ollama pull {model}` (or set OLLAMA_HOST). Without it, persona_context and the roleplay "
        "prompt still give your own model everything it needs to speak as the persona."
    )


class OllamaChat:
    """Chat through an Ollama server."""

    provider = "ollama"

    def __init__(
        self,
        host: str,
        timeout: float,
        retries: int = 2,
        backoff: float = 0.5,
        credentials: Credentials | None = None,
    ) -> None:
        self._host = host
        self._timeout = timeout
        self._retries = retries
        self._backoff = backoff
        self._credentials = credentials
        self._key: str | None = None
        self._built: tuple[ollama.AsyncClient, ollama.AsyncClient] | None = None

    @property
    def _client(self) -> ollama.AsyncClient:
        return self._pair()[0]

    @property
    def _probe(self) -> ollama.AsyncClient:
        return self._pair()[1]

    def _pair(self) -> tuple[ollama.AsyncClient, ollama.AsyncClient]:
        """The clients, made on first use (importing the ollama library costs start-up time)."""
        if self._built is None:
            self._built = self._clients(self._key)
        return self._built

    def _clients(self, key: str | None) -> tuple[ollama.AsyncClient, ollama.AsyncClient]:
        import ollama

        # Lower-case `authorization`: the ollama library adds OLLAMA_API_KEY only when it is absent.
        headers = {"authorization": f"Bearer {key}"} if key else None
        return (
            ollama.AsyncClient(host=self._host, timeout=self._timeout, headers=headers),
            ollama.AsyncClient(host=self._host, timeout=_PROBE_TIMEOUT_S, headers=headers),
        )

    async def _refresh(self) -> None:
        """Use the current key (keys_set name=ollama): clients are rebuilt when it changed."""
        if self._credentials is None:
            return
        key = await self._credentials()
        if key != self._key:
            self._key = key
            self._built = self._clients(key)

    async def reachable(self) -> bool:
        try:
            await self._refresh()
            await self._probe.list()
        except Exception:  # refused, timed out, not Ollama: all mean "not usable now"
            return False
        return True

    async def complete(
        self,
        messages: Sequence[PromptMessage],
        model: str,
        temperature: float | None,
        on_chunk: OnChunk | None = None,
    ) -> Completion:
        payload = [{"role": m.role, "content": m.content} for m in messages]
        options = {"temperature": temperature} if temperature is not None else None
        received: list[str] = []

        async def attempt() -> Completion:
            received.clear()
            return await self._stream(payload, model, options, received, on_chunk)

        return await self._retrying(model, attempt, lambda: bool(received))

    async def structured(self, messages: Sequence[PromptMessage], model: str, schema: dict[str, Any]) -> str:
        """One reply held to a JSON schema (Ollama's structured outputs), not streamed, at
        temperature 0 with a fixed seed (the same question gets the same answer): its text."""
        payload = [{"role": m.role, "content": m.content} for m in messages]

        async def attempt() -> str:
            response = await self._client.chat(
                model=model,
                messages=payload,
                stream=False,
                format=schema,
                options={"temperature": 0, "seed": 0},
            )
            return response.message.content or ""

        return await self._retrying(model, attempt, lambda: False)

    async def _retrying(
        self, model: str, attempt: Callable[[], Awaitable[T]], started: Callable[[], bool]
    ) -> T:
        """`attempt`, retried with backoff on transient failures unless part of a reply has
        already arrived (`started`): retrying would repeat it to the client."""
        import ollama

        await self._refresh()
        tries = 0
        while True:
            try:
                return await attempt()
            except ollama.ResponseError as exc:
                if exc.status_code == 404:
                    raise Unavailable(
                        f"Ollama at {self._host} has no model {model!r}: run `ollama pull {model}`, or set "
                        "the persona's llm.model or PERSONA_MCP_CHAT_MODEL to one `ollama list` shows."
                    ) from None
                error: Exception = exc
                retryable = exc.status_code in RETRYABLE_STATUS
                why = f"HTTP {exc.status_code}: {exc.error}"
            except (ConnectionError, OSError, httpx.TransportError) as exc:
                error, retryable, why = exc, True, type(exc).__name__
            if started() or not retryable or tries >= self._retries:
                if started():
                    raise Unavailable(
                        f"Ollama at {self._host} stopped in the middle of its reply ({why}); "
                        "nothing was stored."
                    ) from None
                raise _not_reachable(self._host, model, why) from None
            tries += 1
            delay = self._backoff * 2 ** (tries - 1)
            logger.warning("Ollama chat failed (%s); retry %d in %.1fs", error, tries, delay)
            await anyio.sleep(delay)

    async def _stream(
        self,
        payload: list[dict[str, str]],
        model: str,
        options: dict[str, float] | None,
        received: list[str],
        on_chunk: OnChunk | None,
    ) -> Completion:
        prompt_tokens = completion_tokens = None
        finished = False
        stream = await self._client.chat(model=model, messages=payload, stream=True, options=options)
        async for part in stream:
            piece = part.message.content or ""
            if piece:
                received.append(piece)
                if on_chunk is not None:
                    await on_chunk(piece)
            if part.done:
                finished = True
                prompt_tokens, completion_tokens = part.prompt_eval_count, part.eval_count
        if not finished:
            raise ConnectionError("the stream ended before the reply was done")
        return Completion(
            text="".join(received).strip(),
            model=model,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
        )
