"""The project lock: one command at a time changes or reads a project's store.

DuckDB lets one process write a file, and a command opens the store several times (a build,
then its outputs); the lock is held over the whole command, so a load started during a build is
refused with one line instead of slipping in between. The lock is an OS file lock (``filelock``:
``fcntl`` on Unix, ``msvcrt`` on Windows), released by the OS when a process dies, so a killed
run never leaves the project locked.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path

from filelock import FileLock, Timeout

from riskmap.errors import ProjectError

LOCK_NAME = "riskmap.lock"


@contextmanager
def project_lock(root: Path, what: str) -> Iterator[None]:
    """Hold the lock of the project in ``root`` for the ``with`` block (re-entrant).

    Parameters
    ----------
    what
        What holds the lock (e.g. ``riskmap build``), shown to a command that is refused.

    Raises
    ------
    ProjectError
        When another process holds the lock, naming what it is doing.
    """
    path = root / LOCK_NAME
    lock = FileLock(path, timeout=0, is_singleton=True)
    first = not lock.is_locked
    try:
        lock.acquire()
    except Timeout:
        raise ProjectError(f"{root}: het project is bezig met een andere opdracht "
                           f"({_holder(path)}); probeer het opnieuw als die klaar is") from None
    try:
        if first:
            with suppress(OSError):  # Windows locks the file's first byte against other handles
                path.write_text(f"{what} (proces {os.getpid()}, sinds "
                                f"{datetime.now():%H:%M:%S})", encoding="utf-8")
        yield
    finally:
        lock.release()


def _holder(path: Path) -> str:
    with suppress(OSError, UnicodeDecodeError):
        text = path.read_text(encoding="utf-8").strip()
        if text:
            return text
    return "onbekend"
