"""Work spread over forked processes, which inherit the caller's data instead of receiving it.

Only where processes can be forked safely (Linux and other Unix systems; not Windows, and not
macOS, where forking a process with threads is unsafe); elsewhere the work runs in this process,
in the same order, with the same results. A forked process may not use a DuckDB connection of
its parent: it opens its own, after the parent closed its.
"""

from __future__ import annotations

import gc
import logging
import mmap
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

# multiprocessing and concurrent.futures are imported where a pool is made: the command line
# imports this module (through its progress bars) and needs neither for its help

T = TypeVar("T")
R = TypeVar("R")

_TASKS: list[Callable[[], Any]] = []  # what the forked processes inherit
_FORKED = False  # set in a forked process: it does not fork again
_MAY_FORK = False  # set in the one forked process of a background block: it may fork
_RUNNING = 0  # pools of started() running while their caller works on: it forks no other
_SETTLED = 0  # depth of settled() blocks
# one byte of memory shared with the processes a started() block forks: set when the block fails
_STOP: mmap.mmap | None = None
# in a forked process: the resource its works of side_by_side_with() share, opened once
_KEPT: tuple[Callable[[], AbstractContextManager[Any]], Callable[[], Any], Any] | None = None


def cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def forked() -> bool:
    """Whether this is a forked process of :func:`fork_pool`."""
    return _FORKED


def can_fork() -> bool:
    """Whether work can go to forked processes here (not in one itself, unless it is the one
    task of a background block (:func:`started`); nor while processes :func:`started` run
    beside this one: forking while their pool's thread runs is unsafe)."""
    import multiprocessing  # noqa: PLC0415 - see the imports

    return "fork" in multiprocessing.get_all_start_methods() and sys.platform != "darwin" \
        and (not _FORKED or _MAY_FORK) and not _RUNNING


@contextmanager
def settled() -> Iterator[None]:
    """The objects that exist when the block starts (the imported modules, data loaded so far)
    are left alone by Python's garbage collector until the outermost such block ends
    (:func:`gc.freeze`). Its full collections then scan only what is new (the demo spends half
    a second less in them), and forked processes do not write to, and so copy, the memory pages
    of their parent's objects (as Python's documentation advises before ``fork``)."""
    global _SETTLED  # noqa: PLW0603 - a process-wide state
    gc.freeze()
    _SETTLED += 1
    try:
        yield
    finally:
        _SETTLED -= 1
        if not _SETTLED:
            gc.unfreeze()


def fork_pool(processes: int, may_fork: bool = False) -> ProcessPoolExecutor:
    """A pool of ``processes`` forked processes, which says so when one dies
    (``BrokenProcessPool``; :class:`multiprocessing.pool.Pool` would wait forever). With
    ``may_fork`` (one process), it may fork work of its own (:func:`can_fork`)."""
    import multiprocessing  # noqa: PLC0415 - see the imports
    from concurrent.futures import ProcessPoolExecutor  # noqa: PLC0415

    return ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("fork"),
                               initializer=partial(_mark_forked, may_fork, os.getpid()))


def _mark_forked(may_fork: bool, parent: int) -> None:
    global _FORKED, _MAY_FORK, _RUNNING, _KEPT  # noqa: PLW0603 - process-wide facts
    _FORKED, _MAY_FORK = True, may_fork
    _RUNNING = 0  # the pools running in the parent are not this process's
    _KEPT = None  # nor is the resource a forked parent opened
    _end_with(parent)


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _end_with(parent: int) -> None:
    """Have Linux end this forked process when its parent ends without ending its pool (killed,
    or stopped by a signal it does not handle): it would else wait for work forever, holding
    the memory it shares with its parent. A parent always waits for its pool's processes
    before the thread that made the pool returns (see :func:`started`), so none is ended
    early. Elsewhere nothing changes."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes  # noqa: PLC0415 - only in a forked process on Linux

    try:
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # no C library to call, or without prctl
        return
    if os.getppid() != parent:  # the parent ended before the request was made
        os._exit(1)


class _Collect(logging.Handler):
    """Takes every log record of a forked process, to be handled in its parent."""

    def __init__(self) -> None:
        super().__init__()
        self.records: dict[int, logging.LogRecord] = {}  # once, though several loggers pass it

    def emit(self, record: logging.LogRecord) -> None:
        if id(record) not in self.records:
            if record.exc_info and not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.msg, record.args, record.exc_info = record.getMessage(), None, None
            self.records[id(record)] = record


def _run(index: int) -> tuple[bool, Any, list[logging.LogRecord]]:
    """Run a task with this process's log records collected instead of written: its parent
    handles them, so console lines held until a command ends and the run's log file get them
    once, in order."""
    collect = _Collect()
    loggers = [logging.getLogger(), *(logger for logger in logging.Logger.manager.loggerDict
                                      .values() if isinstance(logger, logging.Logger))]
    for logger in loggers:
        if logger.handlers:
            logger.handlers = [collect]
    try:
        return True, _TASKS[index](), list(collect.records.values())
    except Exception as exc:  # raised again in the parent, after its log
        return False, exc, list(collect.records.values())


def available_memory() -> int | None:
    """Bytes of memory available to new work (Linux's ``MemAvailable``; ``None`` elsewhere)."""
    try:
        with Path("/proc/meminfo").open(encoding="ascii") as info:
            for line in info:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def processes_for(tasks: int, memory_each: int = 0) -> int:
    """How many forked processes :func:`side_by_side` would run ``tasks`` in (1: here)."""
    if not can_fork():
        return 1
    processes = min(tasks, cores())
    available = available_memory() if memory_each else None
    if available is not None:
        processes = min(processes, available // memory_each)
    return max(processes, 1)


def side_by_side(tasks: Sequence[Callable[[], T]], memory_each: int = 0) -> Iterator[T]:
    """Run each task in a forked process of its own, at most one per core at a time, and yield
    their results in order. Results must pickle; what a task logs is logged here, and an error
    in a task is raised here.

    ``memory_each`` (bytes a task may need) limits the processes to what the available memory
    holds. Where processes cannot be forked, or with one core, one task or memory for one, the
    tasks run here, one after the other.
    """
    with started(tasks, memory_each) as results:
        yield from results


@contextmanager
def started(tasks: Sequence[Callable[[], T]], memory_each: int = 0,
            background: bool = False) -> Iterator[Iterator[T]]:
    """:func:`side_by_side` with the forked processes started when the block starts: the
    caller works on while they run, and takes the results, in order, from the iterator it is
    given. Where the tasks run here, each runs as its result is taken. The block ends when the
    processes have ended; when it ends with an error, their results are not wanted and a task
    that asks :func:`stopping` now and then ends early (a load that finds a bad row does not
    wait for its pseudonyms).

    With ``background``, even one task (or one core) goes to a forked process, so that it runs
    while the caller works; that one task may fork work of its own (a quarter's build computed
    while ``riskmap build`` imports its writers screens its small counts on every core). Inside
    the block this process forks no other (:func:`can_fork`): work that would is done here.
    """
    count = processes_for(len(tasks), memory_each)
    if count < (1 if background and can_fork() else 2):
        yield (task() for task in tasks)
        return
    global _TASKS, _RUNNING, _STOP  # noqa: PLW0603 - what the forked processes inherit
    outer = _STOP  # the flag of the block that started this process, if one did
    with settled():
        _TASKS = list(tasks)
        _STOP = mmap.mmap(-1, 1)  # shared with the processes forked below
        pool = fork_pool(count, may_fork=background and len(_TASKS) == 1)
        _RUNNING += 1
        try:
            # a fork pool starts all its processes at the first task: each copies _TASKS
            futures = [pool.submit(_run, index) for index in range(len(tasks))]
            # the forked processes have the tasks: this one lets go of the data they hold
            _TASKS = []
            del tasks
            yield _results(futures)
        except BaseException:
            _STOP[0] = 1  # the running tasks end at their next look (see stopping())
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            _RUNNING -= 1
            _TASKS, _STOP = [], outer


@contextmanager
def threaded(tasks: Sequence[Callable[[], T]]) -> Iterator[Iterator[T]]:
    """The tasks run one after the other in a thread of this process while the caller works
    on, which takes their results, in order, from the iterator it is given: for work that lets
    go of Python's lock (a C library's), where a forked process would copy the data instead.
    Inside the block this process forks no other (:func:`can_fork`); when the block fails, the
    tasks not yet started are dropped and the block ends with the one running."""
    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415 - see the imports

    global _RUNNING  # noqa: PLW0603 - a process-wide state
    with ThreadPoolExecutor(1, thread_name_prefix="riskmap") as pool:
        futures = [pool.submit(task) for task in tasks]
        del tasks  # the pool lets go of each task once it has run, and of what it holds
        _RUNNING += 1
        try:
            yield (future.result() for future in futures)
        finally:
            for future in futures:
                future.cancel()
            pool.shutdown(wait=True)
            _RUNNING -= 1


class Stopped(Exception):  # noqa: N818 - a task's way of ending early
    """Raised by a started task that ends early because its results are no longer wanted."""


def stopping() -> None:
    """In a task forked by :func:`started`: raise :class:`Stopped` when the block that started
    it has failed (its results are not wanted). A long task calls this now and then; a
    forked process is never killed, so no result is cut off half-sent."""
    if _STOP is not None and _FORKED and _STOP[0]:
        raise Stopped("de taak is gestopt: de opdracht die haar startte is mislukt")


def _results(futures: list[Future[tuple[bool, Any, list[logging.LogRecord]]]]) -> Iterator[Any]:
    """The results of forked tasks, in order, with what they logged handled here."""
    for future in futures:
        done, result, records = future.result()
        for record in records:
            logging.getLogger(record.name).handle(record)
        if not done:
            raise result
        yield result


def _opened(resource: Callable[[], AbstractContextManager[R]], work: Callable[[R], T]) -> T:
    """``work`` on what ``resource()`` opens. A forked process opens it once for all the works
    of its block that it runs (the demo's track record opened its store 17 times, at 25 ms
    each) and closes it as it ends, with the block (multiprocessing's exit functions)."""
    global _KEPT  # noqa: PLW0603 - this process's resource
    if not _FORKED:
        with resource() as opened:
            return work(opened)
    if _KEPT is None or _KEPT[0] is not resource:
        from multiprocessing.util import Finalize  # noqa: PLC0415 - see the imports

        if _KEPT is not None:
            _KEPT[1]()  # closes the one before
        manager = resource()
        opened = manager.__enter__()
        _KEPT = (resource, Finalize(manager, manager.__exit__, args=(None, None, None),
                                    exitpriority=0), opened)
    return work(_KEPT[2])


def side_by_side_with(resource: Callable[[], AbstractContextManager[R]],
                      works: Sequence[Callable[[R], T]], memory_each: int = 0) -> Iterator[T]:
    """:func:`side_by_side` for work that reads a resource (a store connection): each forked
    process opens its own with ``resource()``; run here, one opened resource serves every work.
    The caller must not hold the resource open itself (a forked process may not use it)."""
    if processes_for(len(works), memory_each) < 2:
        with resource() as opened:
            for work in works:
                yield work(opened)
        return
    yield from side_by_side([partial(_opened, resource, work) for work in works], memory_each)
