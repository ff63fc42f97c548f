"""Progress feedback for steps that take more than a few seconds.

Bars are drawn with rich on standard error when it is a terminal and the ``riskmap`` logger shows
INFO; in notebooks, pipes, CI logs and with ``--quiet`` they are off.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Iterator, Sized
from typing import TypeVar

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from riskmap._forked import forked

T = TypeVar("T")


def enabled() -> bool:
    """Whether progress bars are shown: on a terminal, unless the console shows only warnings,
    and not by a forked process (its parent draws them)."""
    if forked():
        return False
    logger = logging.getLogger("riskmap")
    console = [h for h in logger.handlers if not isinstance(h, logging.FileHandler)]
    level = min((h.level for h in console), default=logger.getEffectiveLevel())
    return sys.stderr.isatty() and level <= logging.INFO


def progress(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """Iterate over ``items`` with a progress bar when :func:`enabled`."""
    if not enabled():
        yield from items
        return
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/"
               "{task.total}"), TimeElapsedColumn())
    with Progress(*columns, transient=True) as bar:
        if total is None and isinstance(items, Sized):
            total = len(items)
        task = bar.add_task(description, total=total)
        for item in items:
            yield item
            bar.advance(task)
