"""A stand-in Ollama server on 127.0.0.1 that speaks Ollama's wire format, for the real `ollama`
client library to talk to. It records every request so tests can check what was sent."""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["OllamaStandIn", "echo_reply", "fake_embedding", "run_standin"]


def fake_embedding(text: str, dimension: int) -> list[float]:
    """A deterministic unit vector derived from the text."""
    digest = hashlib.sha256(text.encode()).digest()
    raw = [digest[i % len(digest)] - 127.5 for i in range(dimension)]
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    return [x / norm for x in raw]


def echo_reply(messages: list[dict[str, Any]]) -> str:
    """The default chat model: answers deterministically from the last user message."""
    last = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
    return f"You said: {last} Tell me more about it?"


@dataclass
class OllamaStandIn:
    """What the stand-in serves and what it saw, and how it misbehaves when told to."""

    url: str
    embedding_models: dict[str, int] = field(default_factory=dict)  # name -> dimension
    chat_models: dict[str, Callable[[list[dict[str, Any]]], str]] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    chunk_delay: float = 0.0  # seconds between streamed chunks
    fail_next: list[int] = field(default_factory=list)  # HTTP statuses for the next chat requests
    fail_after_chunks: int | None = None  # drop the connection after this many chunks
    authorization: list[str | None] = field(default_factory=list)  # each request's Authorization
    require_token: str | None = None  # answer 401 to requests without `Bearer <this>`, as ollama.com does


def _handler(state: OllamaStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            return

        def _reply(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _chat(self, body: dict[str, Any]) -> None:
            model = body.get("model", "")
            if state.fail_next:
                status = state.fail_next.pop(0)
                self._reply(status, {"error": f"stand-in failure {status}"})
                return
            if model not in state.chat_models:
                self._reply(404, {"error": f'model "{model}" not found, try pulling it first'})
                return
            text = state.chat_models[model](body["messages"])
            words = text.split(" ")
            pieces = [word + (" " if i < len(words) - 1 else "") for i, word in enumerate(words)]
            prompt_tokens = sum(len(m["content"].split()) for m in body["messages"])
            final = {
                "model": model,
                "created_at": "2026-01-01T00:00:00Z",
                "message": {"role": "assistant", "content": ""},
                "done": True,
                "done_reason": "stop",
                "prompt_eval_count": prompt_tokens,
                "eval_count": len(pieces),
            }
            if not body.get("stream", True):
                self._reply(200, {**final, "message": {"role": "assistant", "content": text}})
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/x-ndjson")
            self.end_headers()
            for index, piece in enumerate(pieces):
                if state.fail_after_chunks is not None and index >= state.fail_after_chunks:
                    self.close_connection = True
                    return
                chunk = {"model": model, "created_at": "2026-01-01T00:00:00Z", "done": False}
                chunk["message"] = {"role": "assistant", "content": piece}
                self.wfile.write(json.dumps(chunk).encode() + b"\n")
                self.wfile.flush()
                time.sleep(state.chunk_delay)
            self.wfile.write(json.dumps(final).encode() + b"\n")

        def _refused(self) -> bool:
            given = self.headers.get("Authorization")
            state.authorization.append(given)
            if state.require_token is None or given == f"Bearer {state.require_token}":
                return False
            self._reply(401, {"error": "unauthorized"})
            return True

        def do_GET(self) -> None:
            state.requests.append((self.path, {}))
            if self._refused():
                return
            if self.path == "/api/version":
                self._reply(200, {"version": "0.6.0"})
            elif self.path == "/api/tags":
                models = [
                    {
                        "name": name,
                        "model": name,
                        "modified_at": "2026-01-01T00:00:00Z",
                        "size": 1,
                        "digest": "0",
                    }
                    for name in [*state.embedding_models, *state.chat_models]
                ]
                self._reply(200, {"models": models})
            else:
                self._reply(404, {"error": "not found"})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            state.requests.append((self.path, body))
            if self._refused():
                return
            if self.path == "/api/chat":
                self._chat(body)
                return
            if self.path != "/api/embed":
                self._reply(404, {"error": "not found"})
                return
            model = body.get("model", "")
            if model not in state.embedding_models:
                self._reply(404, {"error": f'model "{model}" not found, try pulling it first'})
                return
            inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
            dimension = state.embedding_models[model]
            self._reply(200, {"model": model, "embeddings": [fake_embedding(t, dimension) for t in inputs]})

    return Handler


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # Ollama (Go) listens with the system's backlog, not socketserver's 5

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (timeouts in tests) leaves a broken pipe: not worth a traceback."""


@contextmanager
def run_standin(
    embedding_models: dict[str, int] | None = None,
    chat_models: dict[str, Callable[[list[dict[str, Any]]], str]] | None = None,
) -> Iterator[OllamaStandIn]:
    """Serve on a free loopback port for the duration of the block."""
    state = OllamaStandIn(
        url="", embedding_models=dict(embedding_models or {}), chat_models=dict(chat_models or {})
    )
    server = _Server(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
