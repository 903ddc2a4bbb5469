"""A stand-in Ollama server on 127.0.0.1 that speaks Ollama's wire format, for the real `ollama`
client library to talk to. It records every request so tests can check what was sent."""

from __future__ import annotations

import hashlib
import json
import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["OllamaStandIn", "run_standin"]


def fake_embedding(text: str, dimension: int) -> list[float]:
    """A deterministic unit vector derived from the text."""
    digest = hashlib.sha256(text.encode()).digest()
    raw = [digest[i % len(digest)] - 127.5 for i in range(dimension)]
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    return [x / norm for x in raw]


@dataclass
class OllamaStandIn:
    """What the stand-in serves and what it saw."""

    url: str
    embedding_models: dict[str, int] = field(default_factory=dict)  # name -> dimension
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


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

        def do_GET(self) -> None:
            state.requests.append((self.path, {}))
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
                    for name in state.embedding_models
                ]
                self._reply(200, {"models": models})
            else:
                self._reply(404, {"error": "not found"})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            state.requests.append((self.path, body))
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


@contextmanager
def run_standin(embedding_models: dict[str, int] | None = None) -> Iterator[OllamaStandIn]:
    """Serve on a free loopback port for the duration of the block."""
    state = OllamaStandIn(url="", embedding_models=dict(embedding_models or {}))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
