"""The national benchmark runs end to end at a small size (slow: run by ``make bench``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "national.py"


@pytest.mark.slow
def test_national_benchmark_small(tmp_path: Path, realdata: Path):
    del realdata  # the benchmark reads it itself; skip cleanly where it is absent
    doc = tmp_path / "performance.md"
    done = subprocess.run(
        [sys.executable, str(BENCH), "--sizes", "20000,40000", "--addresses", "60000",
         "--events", "5000", "--data", str(tmp_path / "data"), "--results",
         str(tmp_path / "results"), "--doc", str(doc)],
        capture_output=True, text=True, timeout=1800, check=False)
    assert done.returncode in (0, 1), done.stderr[-3000:]  # 1 = a target missed
    report = json.loads((tmp_path / "results" / "national-latest.json").read_text())
    assert [r["establishments"] for r in report["runs"]] == [20_000, 40_000]
    assert report["assignment"]["identical_buurten"]
    assert report["runs"][0]["counts"]["addresses"] > 50_000
    # the BAG file has the nummeraanduiding, as real extracts do (and the load hashes it)
    bag = next((tmp_path / "data").glob("*/bag_verblijfsobjecten.csv"))
    assert "nummeraanduiding" in bag.open(encoding="utf-8").readline()
    assert report["runs"][1]["command"]["exit_code"] == 0  # riskmap build on the project
    assert "bench:national:begin" in doc.read_text(encoding="utf-8")
    # the machine's speed, before and after, on one core and on both
    assert all(set(speed) == {"compute_s", "memory_s", "both_cores_s"} and
               all(v > 0 for v in speed.values()) for speed in report["machine"]["reference_s"])
    assert "on both cores at once" in doc.read_text(encoding="utf-8")
