"""Choosing the ranking the outputs use from its track record, without peeking ahead."""

import numpy as np
import pandas as pd
import pytest

from riskmap.models.ranking import MIN_EVIDENCE, choose, chosen_rows
from riskmap.periods import Period


def _table(auc: dict[str, list[float]], first: str = "2024Q1") -> pd.DataFrame:
    start = Period.parse(first)
    rows = []
    for method, values in auc.items():
        for i, value in enumerate(values):
            rows.append({"period": str(start + i), "evaluated": str(start + i + 1),
                         "method": method, "k": 10, "precision_at_k": value,
                         "auc": value, "areas": 40, "positives": 15, "chosen": None})
    return pd.DataFrame(rows)


def test_without_a_track_record_the_score_is_used():
    table = _table({"score": [0.7], "model": [0.9], "combined": [np.nan]})
    choice = choose(table, Period.parse("2024Q2"))
    assert choice.method == "score"
    assert "nog geen" in choice.reason and MIN_EVIDENCE == 2


def test_the_best_mean_auc_on_shared_quarters_wins_and_the_reason_says_so():
    table = _table({"score": [0.7, 0.72, 0.9], "model": [0.8, 0.82, 0.5],
                    "combined": [np.nan, 0.9, 0.9]})
    choice = choose(table, Period.parse("2024Q3"))  # quarters evaluated by 2024Q3: 2024Q1, Q2
    assert choice.method == "model"  # combined lacks 2024Q1, so only shared quarters count
    assert "het model" in choice.reason and "0,81" in choice.reason


def test_the_choice_of_each_quarter_uses_only_the_quarters_before_it():
    # the model is best only in 2024Q4 itself; the score was best before it
    table = _table({"score": [0.8, 0.8, 0.8, 0.6], "model": [0.6, 0.6, 0.6, 0.95],
                    "combined": [0.5, 0.5, 0.5, 0.5]})
    rows = chosen_rows(table).set_index("period")
    assert rows.loc["2024Q4", "chosen"] == "score"
    assert rows.loc["2024Q4", "auc"] == pytest.approx(0.6)  # its honest result that quarter
    assert rows.loc["2024Q1", "chosen"] == "score"  # nothing known yet
