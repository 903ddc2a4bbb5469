"""A stand-in Hugging Face Hub on 127.0.0.1: the `resolve` endpoint huggingface_hub downloads
from (HEAD for the commit, ETag and size, then GET), serving files it is given, for tests that
set HF_ENDPOINT. It records requests and can send slowly or serve other bytes.

    python tests/hf_standin.py MODEL_FOLDER [SECONDS_PER_MB]   # serve a folder; prints the URL

Standard library only, so a fresh user install (scripts/check_user_install.py) can run it by path.
"""

from __future__ import annotations

import hashlib
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

__all__ = ["HubStandIn", "run_hub"]


@dataclass
class HubStandIn:
    """What the stand-in serves (repository -> path -> bytes) and what it saw."""

    url: str
    files: dict[str, dict[str, bytes]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path)
    seconds_per_mb: float = 0.0  # slow sending, so a test can watch a download in progress


def _handler(state: HubStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def _find(self) -> tuple[str, bytes] | None:
            # /{owner}/{name}/resolve/{revision}/{path}
            parts = self.path.split("?", 1)[0].lstrip("/").split("/")
            if len(parts) < 5 or parts[2] != "resolve":
                return None
            repo, revision, path = f"{parts[0]}/{parts[1]}", parts[3], "/".join(parts[4:])
            data = state.files.get(repo, {}).get(path)
            return None if data is None else (revision, data)

        def _head(self, found: tuple[str, bytes] | None) -> bytes | None:
            if found is None:
                self.send_response(404)
                self.send_header("X-Error-Code", "EntryNotFound")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            revision, data = found
            self.send_response(200)
            self.send_header("X-Repo-Commit", revision)
            self.send_header("ETag", f'"{hashlib.sha256(data).hexdigest()}"')
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Content-Type", "application/octet-stream")
            self.end_headers()
            return data

        def do_HEAD(self) -> None:
            state.requests.append(("HEAD", self.path))
            self._head(self._find())

        def do_GET(self) -> None:
            state.requests.append(("GET", self.path))
            data = self._head(self._find())
            if data is None:
                return
            step = 1 << 18
            for start in range(0, len(data), step):
                self.wfile.write(data[start : start + step])
                if state.seconds_per_mb:
                    time.sleep(state.seconds_per_mb * step / 1e6)

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True


@contextmanager
def run_hub(files: dict[str, dict[str, bytes]] | None = None) -> Iterator[HubStandIn]:
    """Serve on a free loopback port for the duration of the block."""
    state = HubStandIn(url="", files=dict(files or {}))
    server = _Server(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def folder_files(folder: Path) -> dict[str, bytes]:
    """Every file under `folder`, by its path relative to it."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


if __name__ == "__main__":
    served = {"sentence-transformers/all-MiniLM-L6-v2": folder_files(Path(sys.argv[1]))}
    with run_hub(served) as hub:
        if len(sys.argv) > 2:
            hub.seconds_per_mb = float(sys.argv[2])
        print(hub.url, flush=True)
        threading.Event().wait()
