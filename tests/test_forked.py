import gc
import logging
import os
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import pytest

from riskmap import _forked
from riskmap._forked import (
    can_fork,
    settled,
    side_by_side,
    side_by_side_with,
    started,
    stopping,
    threaded,
)

log = logging.getLogger("riskmap.test_forked")

apart = pytest.mark.skipif(not can_fork() or _forked.cores() < 2,
                           reason="needs fork and two cores")


def _work(n: int) -> tuple[int, int, bool]:
    log.info("taak %s", n)
    return n * n, os.getpid(), can_fork()


@apart
def test_tasks_run_in_other_processes_and_come_back_in_order():
    results = list(side_by_side([partial(_work, n) for n in range(5)]))
    assert [square for square, _, _ in results] == [0, 1, 4, 9, 16]
    assert os.getpid() not in {pid for _, pid, _ in results}
    assert not any(fork for _, _, fork in results)  # a forked process does not fork again


def _touch(path: Path) -> int:
    path.touch()
    return os.getpid()


@apart
def test_started_tasks_run_while_the_caller_works(tmp_path):
    signal = tmp_path / "gedaan"
    with started([partial(_touch, signal), partial(_work, 2)]) as results:
        deadline = time.monotonic() + 30
        while not signal.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert signal.exists()  # the task ran before its result was taken
        pid, (square, _, _) = results
    assert square == 4 and pid != os.getpid()


def test_threaded_tasks_run_in_a_thread_while_the_caller_works(tmp_path):
    signal, forks = tmp_path / "gedaan", can_fork()
    with threaded([partial(_touch, signal), lambda: threading.current_thread().name]) as results:
        assert not can_fork()  # forking beside a running thread is unsafe
        deadline = time.monotonic() + 30
        while not signal.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert signal.exists()  # the task ran before its result was taken
        pid, name = results
    assert pid == os.getpid() and name != threading.current_thread().name
    assert can_fork() == forks


class _Data:
    """Something a task holds (values to hash, in riskmap)."""


def test_a_threaded_task_lets_go_of_its_data_once_it_has_run():
    data = _Data()
    held = weakref.ref(data)
    with threaded([partial(id, data), partial(time.sleep, 0.05)]) as results:
        del data
        next(results)
        deadline = time.monotonic() + 5
        while held() is not None and time.monotonic() < deadline:
            gc.collect()
            time.sleep(0.01)
        assert held() is None  # let go while the block still runs
        next(results)


def test_started_tasks_run_here_as_taken(monkeypatch):
    monkeypatch.setattr(_forked, "processes_for", lambda *_: 1)
    ran = []
    with started([partial(ran.append, 1), partial(ran.append, 2)]) as results:
        assert ran == []
        list(results)
    assert ran == [1, 2]


@pytest.mark.skipif(not can_fork(), reason="needs fork")
def test_a_background_task_runs_apart_while_the_caller_works_even_on_one_core(tmp_path,
                                                                               monkeypatch):
    monkeypatch.setattr(_forked, "cores", lambda: 1)
    signal = tmp_path / "gedaan"
    with started([partial(_touch, signal)], background=True) as results:
        deadline = time.monotonic() + 30
        while not signal.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert signal.exists()
        [pid] = results
    assert pid != os.getpid()


def test_a_background_task_runs_here_as_taken_where_nothing_can_fork(tmp_path, monkeypatch):
    monkeypatch.setattr(_forked, "can_fork", lambda: False)
    signal = tmp_path / "gedaan"
    with started([partial(_touch, signal)], background=True) as results:
        assert not signal.exists()
        [pid] = results
    assert pid == os.getpid() and signal.exists()


def test_one_task_runs_here():
    [(square, pid, _)] = side_by_side([partial(_work, 3)])
    assert (square, pid) == (9, os.getpid())


@apart
def test_what_a_task_logs_is_logged_here_once_in_order(caplog):
    caplog.set_level(logging.INFO, logger="riskmap")
    list(side_by_side([partial(_work, n) for n in range(4)]))
    assert [r.getMessage() for r in caplog.records if r.name == log.name] == \
        [f"taak {n}" for n in range(4)]


def _fails() -> None:
    log.warning("voor de fout")
    raise ValueError("kapot in het kind")


@apart
def test_an_error_in_a_task_is_raised_here_after_its_log(caplog):
    with pytest.raises(ValueError, match="kapot in het kind"):
        list(side_by_side([partial(_work, 1), _fails]))
    assert "voor de fout" in caplog.text


@apart
def test_tasks_run_here_when_memory_holds_one(monkeypatch):
    monkeypatch.setattr(_forked, "available_memory", lambda: 3 * 2**30)
    assert {pid for _, pid, _ in side_by_side([partial(_work, n) for n in range(3)],
                                              memory_each=2 * 2**30)} == {os.getpid()}
    assert os.getpid() not in {pid for _, pid, _ in side_by_side(
        [partial(_work, n) for n in range(3)], memory_each=2**30)}


def test_available_memory_is_read_where_linux_tells():
    available = _forked.available_memory()
    assert available is None or available > 2**20


def test_processes_for_tasks_cores_and_memory(monkeypatch):
    monkeypatch.setattr(_forked, "cores", lambda: 4)
    monkeypatch.setattr(_forked, "can_fork", lambda: True)
    monkeypatch.setattr(_forked, "available_memory", lambda: 10 * 2**30)
    assert _forked.processes_for(3) == 3
    assert _forked.processes_for(9) == 4
    assert _forked.processes_for(9, memory_each=4 * 2**30) == 2
    assert _forked.processes_for(9, memory_each=20 * 2**30) == 1
    monkeypatch.setattr(_forked, "can_fork", lambda: False)
    assert _forked.processes_for(9) == 1


def _collected(thing: object) -> bool:
    """Whether the garbage collector scans ``thing`` (a frozen object is in no generation)."""
    return any(tracked is thing for tracked in gc.get_objects())


def test_settled_leaves_what_exists_to_the_collector_only_after_the_outermost_block():
    before = [[]]
    with settled():
        made = [[]]
        assert not _collected(before[0]) and _collected(made[0])
        with settled():
            assert not _collected(made[0])
        assert not _collected(made[0]) and not _collected(before[0])
    assert _collected(before[0]) and _collected(made[0])


@apart
def test_forked_processes_start_settled_and_the_parent_is_not_left_so():
    assert all(frozen > 0 for frozen in side_by_side([gc.get_freeze_count] * 2))
    assert gc.get_freeze_count() == 0


@pytest.mark.skipif(not can_fork(), reason="needs fork")
def test_no_process_is_forked_while_started_ones_run():
    with started([partial(_work, 1)], background=True) as results:
        assert not can_fork()  # side_by_side here would run its tasks in this process
        [(_, pid, _)] = results
    assert can_fork()
    assert pid != os.getpid()


def _own_work() -> tuple[int, list[int]]:
    """This process's id and those of the processes its own work ran in."""
    return os.getpid(), [pid for _, pid, _ in side_by_side([partial(_work, n) for n in range(2)])]


@apart
def test_the_one_task_of_a_background_block_may_fork_work_of_its_own():
    # a quarter computed while `riskmap build` imports its writers screens on every core
    with started([_own_work], background=True) as results:
        [(task, pids)] = results
    assert task != os.getpid()
    assert task not in pids  # its work ran in processes it forked
    # tasks side by side do not: two of them would each fork a pool as large as the machine
    assert not any(fork for _, _, fork in side_by_side([partial(_work, n) for n in range(2)]))


class _Data:
    """Something a task holds (weakly referable)."""


@pytest.mark.skipif(not can_fork(), reason="needs fork")
def test_what_a_started_task_holds_is_let_go_here_once_it_is_forked():
    data = _Data()
    held = weakref.ref(data)
    with started([partial(id, data)], background=True) as results:
        del data
        gc.collect()
        assert held() is None  # ten million rows stay in the forked process only
        [_] = results


def _until_stopped(seconds: float) -> float:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        stopping()
        time.sleep(0.01)
    return seconds


@apart
def test_tasks_end_early_when_the_block_that_started_them_fails():
    begun = time.monotonic()
    with pytest.raises(ValueError, match="slechte regel"), \
            started([partial(_until_stopped, 60), partial(_until_stopped, 60),
                     partial(_until_stopped, 60)]):
        time.sleep(0.2)  # the tasks are running
        raise ValueError("slechte regel")
    assert time.monotonic() - begun < 30
    assert can_fork()  # and this process may fork again, its tasks not told to stop
    assert list(side_by_side([partial(_until_stopped, 0.1)] * 2)) == [0.1, 0.1]


def test_a_task_that_runs_here_is_never_stopped(monkeypatch):
    monkeypatch.setattr(_forked, "processes_for", lambda *_: 1)
    with started([partial(_until_stopped, 0.05)]) as results:
        assert list(results) == [0.05]


@contextmanager
def _logged_resource(folder: Path) -> Iterator[int]:
    (folder / f"open-{os.getpid()}-{time.monotonic_ns()}").touch()
    try:
        yield os.getpid()
    finally:
        (folder / f"closed-{os.getpid()}-{time.monotonic_ns()}").touch()


def _pid_of(opened: int) -> tuple[int, int]:
    return opened, os.getpid()


@apart
def test_each_forked_process_opens_the_resource_once_and_closes_it_as_it_ends(tmp_path):
    works = [_pid_of] * 6
    results = list(side_by_side_with(partial(_logged_resource, tmp_path), works))
    assert all(opened == pid != os.getpid() for opened, pid in results)
    pids = {pid for _, pid in results}
    opened = [p.name for p in tmp_path.glob("open-*")]
    closed = [p.name for p in tmp_path.glob("closed-*")]
    assert sorted(int(name.split("-")[1]) for name in opened) == sorted(pids)
    assert sorted(int(name.split("-")[1]) for name in closed) == sorted(pids)


def test_run_here_one_resource_serves_every_work(tmp_path, monkeypatch):
    monkeypatch.setattr(_forked, "processes_for", lambda *_: 1)
    results = list(side_by_side_with(partial(_logged_resource, tmp_path), [_pid_of] * 3))
    assert results == [(os.getpid(), os.getpid())] * 3
    assert len(list(tmp_path.glob("open-*"))) == len(list(tmp_path.glob("closed-*"))) == 1


PARENT = """
import sys, time
from riskmap._forked import fork_pool
pool = fork_pool(1)
print(pool.submit(__import__("os").getpid).result(), flush=True)
time.sleep(600)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux ends them")
def test_forked_processes_end_when_their_parent_is_killed():
    """A command killed while its pool runs leaves no process behind waiting for work."""
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    try:
        worker = int(parent.stdout.readline())
        os.kill(worker, 0)  # running
    finally:
        parent.kill()
        parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(worker, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    pytest.fail(f"process {worker} still runs after its parent was killed")
