"""The everyday commands' benchmark checks issue 18's targets on the code it measured."""

from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_speed_targets_are_those_of_the_code_measured(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.syspath_prepend(str(BENCH))
    import speed  # the benchmark's own module

    report = {"before": {"riskmap demo (end to end)": {"min_s": 11.0}},
              "after": {"riskmap --help": {"min_s": 0.5},
                        "riskmap demo (end to end)": {"min_s": 12.4},
                        "riskmap build --period 2025Q3 (demo)": {"min_s": 2.9}},
              "csv_ratio_to_pandas_pyarrow": {"riskmap read_table (before)": 1.2,
                                              "riskmap read_table (after)": 1.6}}
    found = speed.targets(report)
    assert {name: (t["measured"], t["target"], t["met"]) for name, t in found.items()} == {
        "riskmap --help": (0.5, 0.5, True),
        "riskmap demo (end to end)": (12.4, 12.0, False),  # not the baseline's 11.0
        "riskmap build --period 2025Q3 (demo)": (2.9, 3.0, True),
        "csv / pandas (pyarrow)": (1.6, 1.5, False)}
    assert speed.targets({"after": {}}) == {}
