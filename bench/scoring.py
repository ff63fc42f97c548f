"""Benchmark: scores for 10,000 areas x 25 indicators with 200 uncertainty draws.

Target on the 2-core reference machine: under 30 s. Prints wall time and peak memory and writes
``bench/results/scoring.json``. Run with ``make bench`` or ``.venv/bin/python bench/scoring.py``.
"""

from __future__ import annotations

import json
import resource
import time
from pathlib import Path

import numpy as np
import pandas as pd

from riskmap.config import THEMES
from riskmap.indicators.scoring import (
    Design,
    drivers,
    overall_score,
    prepare,
    rank_descending,
    theme_scores,
    uncertainty,
)

AREAS, INDICATORS, DRAWS, TARGET_S = 10_000, 25, 200, 30.0


def main() -> dict[str, float]:
    rng = np.random.default_rng(42)
    raw = pd.DataFrame(rng.lognormal(size=(AREAS, INDICATORS)),
                       columns=[f"i{k:02d}" for k in range(INDICATORS)])
    raw = raw.mask(rng.random(raw.shape) < 0.05)  # 5 % missing, as with small denominators
    themes = {THEMES[k % 5]: [c for j, c in enumerate(raw.columns) if j % 5 == k] for k in range(5)}
    design = Design(directions=pd.Series(1.0, index=raw.columns),
                    weights=pd.Series(1.0, index=raw.columns), themes=themes,
                    theme_weights=pd.Series(1.0, index=list(themes)))
    start = time.perf_counter()
    normalised = prepare(raw, design, "percentile")
    overall = overall_score(theme_scores(normalised, design), design.theme_weights)
    rank_descending(overall)
    interval = uncertainty(raw, design, DRAWS, spread=0.5, seed=1)
    drivers(normalised, design)
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {"areas": AREAS, "indicators": INDICATORS, "draws": DRAWS, "seconds": seconds,
              "peak_rss_mb": peak_mb, "target_seconds": TARGET_S,
              "scored_areas": int(overall.notna().sum()),
              "median_interval_width": float((interval["rank_high"] - interval["rank_low"]).median())}
    print(f"scoring {AREAS:,} areas x {INDICATORS} indicators x {DRAWS} draws: {seconds:.2f} s "
          f"(target < {TARGET_S:.0f} s: {'met' if seconds < TARGET_S else 'MISSED'}), "
          f"peak RSS {peak_mb:,.0f} MB")
    out = Path(__file__).parent / "results" / "scoring.json"
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


if __name__ == "__main__":
    main()
