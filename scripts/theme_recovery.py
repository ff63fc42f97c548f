"""How well the themes witwassen, zorg and gelegenheid (vakantieparken) find what the demo planted.

Reads a built demo project (``riskmap demo --out DIR``) and the demo's hidden fields
(:func:`riskmap.sources.demo.hidden_risk`, which no indicator reads) and prints, per theme, the
Spearman correlation of the theme score with the field it should recover and how many of the
planted areas are in the theme's top k (k = the number planted). Run:

    .venv/bin/python scripts/theme_recovery.py out/demo
"""

from __future__ import annotations

import sys

import pandas as pd
from scipy import stats

from riskmap import Project
from riskmap.sources.demo import hidden_risk

# theme, level, the hidden field it should recover, and what counts as planted
CHECKS = [("witwassen", "buurt", "activity_risk", 0.5), ("zorg", "buurt", "zorg_risk", 0.5),
          ("gelegenheid", "vakantiepark", "risk", 0.5),
          ("witwassen", "bedrijventerrein", "risk", 0.5)]


def recovery(project: Project) -> pd.DataFrame:
    """Per check: areas scored, Spearman rho and p (two-sided), planted, planted in top k."""
    hidden = hidden_risk()
    period = project.latest_period()
    with project.store(read_only=True) as store:
        scores = store.query("SELECT area_code AS code, level, theme, score FROM scores WHERE "
                             "period = ?", [str(period)])
    rows = []
    for theme, level, field, cut in CHECKS:
        found = scores[(scores["theme"] == theme) & (scores["level"] == level)].merge(
            hidden[hidden["level"] == level], on="code").dropna(subset=["score", field])
        if len(found) < 2:
            continue
        rho, p = stats.spearmanr(found["score"], found[field])
        planted = found[field] >= cut
        k = int(planted.sum())
        top = found.nlargest(k, "score")["code"]
        rows.append({"theme": theme, "level": level, "field": field, "areas": len(found),
                     "spearman": round(float(rho), 3), "p": float(p), "planted": k,
                     "planted_in_top_k": int(found.loc[planted, "code"].isin(top).sum())})
    return pd.DataFrame(rows)


if __name__ == "__main__":
    folder = sys.argv[1] if len(sys.argv) > 1 else "out/demo"
    print(f"period {Project(folder).latest_period()}")
    print(recovery(Project(folder)).to_string(index=False))
