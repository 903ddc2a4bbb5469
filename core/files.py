"""Reading and writing the files a user names: bounded, private, and never half-written.

Reads refuse what is not a regular file (a device such as /dev/zero, a FIFO, a folder) before
reading a byte, and read at most `limit + 1` bytes, so a file that is too large costs nothing to
refuse. Writes go to a private temporary file beside the target that replaces it in one rename:
the target is whole or untouched, and no partial file is left behind on any failure.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path
from typing import BinaryIO

from core.errors import InvalidInput

__all__ = [
    "PRIVATE_FILE",
    "PRIVATE_FOLDER",
    "open_regular",
    "private_folder",
    "read_limited",
    "write_atomically",
]

PRIVATE_FOLDER = 0o700
PRIVATE_FILE = 0o600


def _size(limit: int) -> str:
    return f"{limit // 2**20} MiB" if limit >= 2**20 else f"{limit:,} bytes"


def open_regular(path: Path, limit: int, argument: str) -> BinaryIO:
    """`path` opened for reading, once it is known to be a regular file of at most `limit` bytes;
    InvalidInput (naming `argument`) for a missing or unreadable file, something that is not a
    regular file (a folder, device or pipe), or a file over the limit."""
    try:
        # O_NONBLOCK: opening a FIFO with no writer would otherwise wait for ever.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise InvalidInput(argument, str(path), f"It cannot be read ({exc.strerror}).") from None
    handle = os.fdopen(fd, "rb")
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        handle.close()
        raise InvalidInput(
            argument, str(path), "It is not a regular file (a folder, device or pipe): give a file."
        )
    if info.st_size > limit:
        handle.close()
        raise InvalidInput(
            argument, str(path), f"It is {info.st_size:,} bytes; at most {_size(limit)} are accepted."
        )
    return handle


def read_limited(path: Path, limit: int, argument: str) -> bytes:
    """The bytes of the regular file `path`, at most `limit` of them (see open_regular)."""
    with open_regular(path, limit, argument) as handle:
        try:
            data = handle.read(limit + 1)
        except OSError as exc:
            raise InvalidInput(argument, str(path), f"It cannot be read ({exc.strerror}).") from None
    if len(data) > limit:  # it grew while we read
        raise InvalidInput(argument, str(path), f"It is larger than the {_size(limit)} accepted.")
    return data


def write_atomically(target: Path, data: bytes) -> None:
    """Write `data` to `target` (mode 0600) through a temporary file and one rename."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed below; unlinked on failure)
        dir=target.parent, prefix=f".{target.name}.", suffix=".partial", delete=False
    )
    partial = Path(handle.name)
    try:
        with handle:
            os.chmod(partial, PRIVATE_FILE)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        partial.replace(target)
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise


def private_folder(folder: Path) -> None:
    """Create `folder` (and its parents) if needed, and make it readable by its owner only. A
    folder that is not ours (a shared parent) is left as it is."""
    folder.mkdir(parents=True, exist_ok=True, mode=PRIVATE_FOLDER)
    if os.name != "posix":
        return
    info = folder.stat()
    if info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) != PRIVATE_FOLDER:
        os.chmod(folder, PRIVATE_FOLDER)
