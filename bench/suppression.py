"""Secondary suppression on all Dutch buurten: one quarter's build, and its release, timed.

Uses the national world of ``bench/dashboard.py`` (10,416 real buurten, 1,000,000 addresses,
300,000 establishments, 100,000 register events; built there in ``bench/.data/dashboard``):
copies its store, builds the last quarter again with the real ``build_period`` and times the
complementary suppression inside it (:func:`riskmap.indicators.protection.complementary_suppression`).
Prints the size of the release (cells, atoms, small counts), the complements hidden, the time of
the suppression and of the whole build, the process's peak RSS and the load average; writes
``bench/results/suppression-latest.json``.

    python bench/dashboard.py --only national   # once, builds the world
    python bench/suppression.py
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _measure
import dashboard
import national

from riskmap import _memory
from riskmap.config import CONFIG_NAME, KEY_NAME, STORE_NAME, load_config
from riskmap.indicators import release
from riskmap.indicators.build import build_period
from riskmap.indicators.catalogue import load_catalogue
from riskmap.store import Store

PERIOD = dashboard.QUARTERS[-1]


def timed_suppression(record: dict[str, Any]) -> None:
    """Wrap the suppression ``build_period`` calls so that ``record`` gets its size and time."""
    inner = release.complementary_suppression

    def wrapper(matrix: Any, atoms: np.ndarray, primary: np.ndarray, released: np.ndarray,
                cost: np.ndarray, min_count: int) -> np.ndarray:
        started = time.perf_counter()
        secondary = inner(matrix, atoms, primary, released, cost, min_count)
        record.update(cells=int(matrix.shape[0]), atoms=int(matrix.shape[1]),
                      primary=int(primary.sum()), released=int(released.sum()),
                      complements=int(secondary.sum()),
                      suppression_s=round(time.perf_counter() - started, 1))
        return secondary

    release.complementary_suppression = wrapper


def main() -> int:
    """Build the last quarter of the national world again and print the figures."""
    _memory.small_pages()  # as the riskmap command does
    world = dashboard.DATA / "national"
    if not (world / STORE_NAME).is_file():
        print(f"no national world in {world}: run python bench/dashboard.py --only national")
        return 2
    record: dict[str, Any] = {"period": str(PERIOD), "load_before": dashboard.load_average()}
    timed_suppression(record)
    with tempfile.TemporaryDirectory(prefix="riskmap-suppression-") as folder:
        work = Path(folder)
        for name in (CONFIG_NAME, KEY_NAME, STORE_NAME, f"{STORE_NAME}.wal"):
            if (world / name).is_file():
                shutil.copy(world / name, work / name)
        config = load_config(work)
        with Store.open(work / STORE_NAME) as store:
            started = time.perf_counter()
            build_period(store, config, load_catalogue(), PERIOD)
            record["build_s"] = round(time.perf_counter() - started, 1)
    record.update(load_after=dashboard.load_average(),
                  peak_rss_gb=round(_measure.process_peak_gb(), 2),
                  children_peak_rss_gb=round(_measure.children_peak_gb(), 2),
                  when=datetime.now().isoformat(timespec="seconds"), machine=national.machine(),
                  cpus=os.cpu_count())
    print(f"release {record['period']}: {record['cells']:,} cells over {record['atoms']:,} atoms, "
          f"{record['primary']:,} small counts or groups, {record['released']:,} published; "
          f"{record['complements']:,} complements in {record['suppression_s']} s; whole build "
          f"{record['build_s']} s, peak RSS {record['peak_rss_gb']} GB; load "
          f"{record['load_before']} → {record['load_after']}")
    dashboard.RESULTS.mkdir(parents=True, exist_ok=True)
    (dashboard.RESULTS / "suppression-latest.json").write_text(json.dumps(record, indent=1),
                                                               encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
