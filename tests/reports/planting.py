"""Model results stored as the models (issue 5) store them, for tests of maps and reports."""

from __future__ import annotations

import pandas as pd

from riskmap.models.ranking import COMBINED_NAME
from riskmap.models.supervised import MODEL_NAME
from riskmap.periods import Period
from riskmap.project import Project


def plant_patterns(project: Project, period: str) -> list[str]:
    """Store Gi* hotspots (the four highest buurten), emerging hotspots and predictions for
    ``period`` in ``project``; returns the codes of the planted hotspots."""
    with project.store() as store:
        codes = store.query("SELECT area_code FROM scores WHERE period = ? AND level = 'buurt' "
                            "AND theme = 'totaal' ORDER BY rank LIMIT 6", [period])["area_code"]
        all_codes = store.query("SELECT DISTINCT area_code FROM scores WHERE period = ? AND "
                                "level = 'buurt'", [period])["area_code"]
        hot = list(codes[:4])
        hotspots = pd.DataFrame({
            "level": "buurt", "period": period, "variable": "totaal", "method": "gi_star",
            "area_code": all_codes, "value": 50.0, "statistic": 0.1, "z": 0.5, "p_value": 0.6,
            "q_value": 0.8, "category": "not_significant", "neighbours": 4, "run_id": 1})
        hotspots.loc[hotspots["area_code"].isin(hot), ["z", "q_value", "category"]] = \
            [3.1, 0.01, "hotspot"]
        emerging = pd.DataFrame({
            "level": "buurt", "variable": "totaal", "first_period": "2024Q4",
            "last_period": period, "area_code": list(codes[:3]),
            "category": ["new", "persistent", "intensifying"], "trend_tau": 0.5,
            "trend_p": 0.01, "run_id": 1})
        predictions = pd.concat([pd.DataFrame({
            "level": "buurt", "period": period, "target_period": str(Period.parse(period) + 1),
            "area_code": all_codes, "probability": 0.3, "explanation": "[]", "model": model,
            "run_id": 1}) for model in (MODEL_NAME, COMBINED_NAME)], ignore_index=True)
        with store.transaction():
            store.con.execute("DELETE FROM hotspots WHERE period = ?", [period])
            store.con.execute("DELETE FROM emerging_hotspots WHERE last_period = ?", [period])
            store.con.execute("DELETE FROM predictions WHERE period = ?", [period])
            for table, frame in (("hotspots", hotspots), ("emerging_hotspots", emerging),
                                 ("predictions", predictions)):
                # the models' tables are still growing: insert the columns this schema has
                columns = set(store.query(f"DESCRIBE {table}")["column_name"])
                store.insert(table, frame[[c for c in frame.columns if c in columns]])
    return hot
