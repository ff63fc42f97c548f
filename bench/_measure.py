"""Stage timing for the benchmarks: wall time, peak RSS sampled during the stage, throughput.

Peak RSS is sampled every 20 ms by a thread (``psutil``), so a stage's figure is the highest
resident size of this process while that stage ran (DuckDB runs in-process and is included);
the process peak comes from ``getrusage``. Inner steps of the real loaders (reading, assignment,
pseudonymisation, writing to the store) are timed by wrapping those functions in place.
"""

from __future__ import annotations

import contextlib
import functools
import os
import resource
import subprocess
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

import psutil

GB = 1024**3


class PeakSampler:
    """The highest RSS of this process while active."""

    def __init__(self, interval: float = 0.02) -> None:
        self._process = psutil.Process()
        self._interval = interval
        self._stop = threading.Event()
        self.peak = self._process.memory_info().rss
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.peak = max(self.peak, self._process.memory_info().rss)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss)


def tree_peak(running: subprocess.Popen[Any], interval: float = 0.1) -> int:
    """The highest RSS of any one process of a running command and the processes it forks,
    sampled until it ends (bytes)."""
    root, peak = psutil.Process(running.pid), 0
    while running.poll() is None:
        try:
            processes = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            break
        for process in processes:
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                peak = max(peak, process.memory_info().rss)
        time.sleep(interval)
    running.wait()
    return peak


def _cpu_seconds() -> float:
    times = psutil.Process().cpu_times()
    return float(times.user + times.system)


_WORKLOAD: dict[str, Any] = {}


def _compute(_: object = None) -> float:
    """The compute workload (a numpy sort, a SHA-256, a Python loop): its seconds."""
    import hashlib  # noqa: PLC0415 - only the benchmarks' reports ask

    import numpy as np  # noqa: PLC0415

    started = time.perf_counter()
    np.sort(_WORKLOAD["values"])
    hashlib.sha256(_WORKLOAD["data"]).digest()
    sum(i * i for i in range(1_000_000))
    return time.perf_counter() - started


def reference_seconds(repeat: int = 5) -> dict[str, float]:
    """The machine's speed: the best of ``repeat`` runs of fixed workloads, ``compute_s`` (a
    Python loop, a numpy sort, a SHA-256 on one core; ~0.1 s), ``memory_s`` (4 million random
    reads from 256 MB, as hash tables and rasters read; ~0.06 s) and ``both_cores_s`` (the
    compute workload in two forked processes at once, until both end). Figures of runs on
    different days compare by them, where the load average shows nothing of a slower machine
    (a shared host's other guests: on one day the same code took half as much CPU time again
    for the national BAG load; on another, work on both cores was 14 % slower while the one-core
    workload was not)."""
    import multiprocessing  # noqa: PLC0415
    from concurrent.futures import ProcessPoolExecutor  # noqa: PLC0415

    import numpy as np  # noqa: PLC0415

    rng = np.random.default_rng(0)
    _WORKLOAD.update(values=rng.random(3_000_000), data=bytes(range(256)) * 196_608)  # 48 MB
    table = rng.random(32_000_000)  # 256 MB
    at = rng.integers(0, len(table), 4_000_000)
    read = np.empty(len(at))
    best = {"compute_s": float("inf"), "memory_s": float("inf"), "both_cores_s": float("inf")}
    for _ in range(repeat):
        computed = _compute()
        started = time.perf_counter()
        np.take(table, at, out=read)
        best |= {"compute_s": min(best["compute_s"], computed),
                 "memory_s": min(best["memory_s"], time.perf_counter() - started)}
    del table, at, read
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork")) as pool:
        list(pool.map(_compute, range(2)))  # the processes started
        for _ in range(repeat):
            started = time.perf_counter()
            list(pool.map(_compute, range(2)))
            best["both_cores_s"] = min(best["both_cores_s"], time.perf_counter() - started)
    return {name: round(seconds, 3) for name, seconds in best.items()}


def process_peak_gb() -> float:
    """Peak RSS of this process over its life (GB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / GB


def children_peak_gb() -> float:
    """Peak RSS of the largest child process that has ended (GB): the suppression's screening
    processes, which run beside this one."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024 / GB


class Steps:
    """Accumulated wall time of wrapped inner functions, by step name."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self._active = False

    def wrap(self, owner: Any, name: str, step: str) -> None:
        """Replace ``owner.name`` by a wrapper that adds its wall time to ``step``."""
        original: Callable[..., Any] = getattr(owner, name)

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            if self._active:  # nested call of a wrapped function: counted by the outer one
                return original(*args, **kwargs)
            self._active = True
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[step] += time.perf_counter() - started
                self._active = False

        setattr(owner, name, timed)

    def take(self) -> dict[str, float]:
        """The accumulated times, reset to zero."""
        out = {k: round(v, 2) for k, v in self.seconds.items()}
        self.seconds.clear()
        return out


class Stages:
    """Rows of (stage, wall s, peak RSS GB, records, records/s, inner steps)."""

    def __init__(self, steps: Steps | None = None) -> None:
        self.rows: list[dict[str, Any]] = []
        self.steps = steps or Steps()

    @contextlib.contextmanager
    def stage(self, name: str, records: int | None = None) -> Iterator[dict[str, Any]]:
        """Time a block; the yielded dict may set ``records`` (and extra fields) afterwards,
        and ``peak_rss_gb`` where this process's own peak is not the one that counts (a block
        that runs a command and waits for it)."""
        row: dict[str, Any] = {"stage": name, "records": records}
        self.steps.take()
        started, cpu = time.perf_counter(), _cpu_seconds()
        with PeakSampler() as sampler:
            yield row
        row["wall_s"] = round(time.perf_counter() - started, 2)
        # CPU seconds of this process (all threads): other processes on the machine inflate
        # wall time, not this; the load average says how busy the machine was
        row["cpu_s"] = round(_cpu_seconds() - cpu, 2)
        row["load_avg_1m"] = round(os.getloadavg()[0], 2)
        row.setdefault("peak_rss_gb", round(sampler.peak / GB, 2))
        if row["records"]:
            row["per_s"] = round(row["records"] / row["wall_s"]) if row["wall_s"] else None
            row["us_per_record"] = round(row["wall_s"] / row["records"] * 1e6, 2)
        inner = self.steps.take()
        if inner:
            row["steps"] = inner
        self.rows.append(row)
        print(describe(row), flush=True)


def describe(row: dict[str, Any]) -> str:
    """One printed line for a stage."""
    text = f"  {row['stage']:<34} {row['wall_s']:8.2f} s  peak {row['peak_rss_gb']:5.2f} GB"
    if "cpu_s" in row:
        text += f"  cpu {row['cpu_s']:7.1f} s  load {row['load_avg_1m']:.1f}"
    if row.get("records"):
        text += f"  {row['records']:>11,} rec  {row['per_s']:>11,}/s  {row['us_per_record']:.2f} us/rec"
    if row.get("steps"):
        text += "\n      " + ", ".join(f"{k} {v:.1f} s" for k, v in row["steps"].items())
    return text
