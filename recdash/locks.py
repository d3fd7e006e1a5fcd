"""Exclusive locks between processes (and threads) on one machine, released even by a SIGKILL.

The workspace lets one writer at a time change a dataset: an import, a replace, a rename or a
delete of a name holds that name's lock, and a second one is refused at once with a message that
says who holds it. The locks are POSIX `flock` locks on small files in the workspace's `locks/`
folder: the kernel drops them when the holding process dies, so a killed import never leaves a
stale lock behind (no pid files to clean up). A lock is re-entrant within one thread (a
`save_dataset` inside an import holds it once); another thread of the same process is refused
like another process, since each acquisition opens its own file description.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from recdash.errors import RecdashError

_local = threading.local()


class LockBusy(RecdashError):
    """Another process or thread holds the lock."""


def _held() -> dict[str, int]:
    if not hasattr(_local, "held"):
        _local.held = {}
    return _local.held


def try_lock(path: Path) -> int | None:
    """Take the lock on `path` (created if needed) without waiting.

    Returns:
        The open file descriptor holding it (give it to `release`), or None when it is held.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def release(fd: int) -> None:
    """Give back a lock taken by `try_lock`."""
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


def holder(path: Path) -> str:
    """Who wrote that they hold the lock on `path` ("process 123 since 12:01:02"), or ""."""
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        return ""


@contextmanager
def exclusive(path: Path, busy: str) -> Iterator[None]:
    """Hold the lock on `path` for the block, or raise LockBusy at once.

    Args:
        path: the lock file.
        busy: the message when another holds it; "{holder}" is replaced by who holds it.

    Raises:
        LockBusy: another process or thread holds the lock.
    """
    key = str(path)
    held = _held()
    if key in held:  # this thread holds it already
        held[key] += 1
        try:
            yield
        finally:
            held[key] -= 1
        return
    fd = try_lock(path)
    if fd is None:
        raise LockBusy(busy.replace("{holder}", holder(path) or "another process"))
    held[key] = 1
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"process {os.getpid()} since {time.strftime('%H:%M:%S')}".encode())
        yield
    finally:
        del held[key]
        release(fd)
