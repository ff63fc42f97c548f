"""Target lists: ranking, selection within capacity, spreading, skipping recent controles."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from riskmap.cli import main
from riskmap.errors import InputError
from riskmap.reports.targets import (
    COUNT_COLUMNS,
    HEADERS,
    SPREAD,
    area_rate,
    select_cells,
    target_cells,
)


def _cells(**columns) -> pd.DataFrame:
    base = {"area_code": ["A", "A", "A", "B", "B", "C"],
            "branch": ["horeca", "opslag", "transport", "horeca", "opslag", "horeca"],
            "establishments": [2, 2, 2, 2, 2, 2],
            "priority": [0.9, 0.85, 0.8, 0.5, 0.45, 0.4],
            "recent": [False] * 6}
    return pd.DataFrame({**base, **columns})


def test_selection_spreads_over_areas_and_branches():
    picks = select_cells(_cells(), capacity=6)["pick"]
    chosen = _cells()[picks.notna()]
    assert len(chosen) == 3
    # by priority alone all three picks would be in area A; spreading takes another area and
    # never the same branch twice while another branch is close
    assert (chosen["area_code"] == "A").sum() <= 2
    assert chosen["branch"].is_unique
    assert picks.iloc[0] == 1


def test_selection_stays_within_capacity_and_skips_cells_that_do_not_fit():
    cells = _cells(establishments=[9, 1, 1, 1, 1, 1])
    picks = select_cells(cells, capacity=4)["pick"]
    assert cells.loc[picks.notna(), "establishments"].sum() <= 4
    assert pd.isna(picks.iloc[0])  # 9 visits do not fit in 4


def test_recently_controlled_and_zero_priority_cells_are_never_picked():
    cells = _cells(recent=[True, True, True, False, False, False],
                   priority=[0.9, 0.85, 0.8, 0.5, 0.0, 0.4])
    selected = select_cells(cells, capacity=100)
    picks = selected["pick"]
    assert set(cells.loc[picks.notna(), "area_code"]) == {"B", "C"}
    assert pd.isna(picks.iloc[4])
    assert selected["spread"].iloc[:3].isna().all()  # skipped cells have no spread priority


def test_priority_after_spreading_is_what_the_pick_saw():
    selected = select_cells(_cells(), capacity=6)
    first, second, third = ((selected["pick"] == n).idxmax() for n in (1, 2, 3))
    assert selected.loc[first, "spread"] == 0.9  # the first pick sees its own priority
    # B/opslag shares no area or branch with A/horeca: it saw its own priority
    assert selected.loc[second, "spread"] == 0.45
    # every pick halves the others in its area and its branch: A/transport saw half of 0.8
    assert selected.loc[third, "spread"] == pytest.approx(0.4)
    waiting = selected["pick"].isna()
    assert (selected.loc[waiting, "spread"] <= _cells().loc[waiting, "priority"]).all()


def test_demo_target_cells_rank_by_priority_and_respect_exclusion(demo_run):
    with demo_run.project.store(read_only=True) as store:
        cells = target_cells(store, demo_run.period, capacity=40, min_count=5, exclude_recent=1)
        recent = store.query(
            "SELECT DISTINCT coalesce(analysis_areas[1], buurt) AS a FROM events "
            "WHERE kind = 'controles' AND date BETWEEN ? AND ?",
            [demo_run.period.start, demo_run.period.end])["a"]
    assert cells["priority"].is_monotonic_decreasing
    picked = cells[cells["pick"].notna()]
    assert 0 < picked["establishments"].sum() <= 40
    assert not picked["area_code"].isin(recent).any()
    assert cells.loc[cells["area_code"].isin(recent), "recent"].all()
    assert picked["branch"].nunique() >= 4 and picked["area_code"].nunique() >= 4


def test_written_target_list_has_dutch_headers_counts_through_privacy(demo_output):
    csv = pd.read_csv(demo_output / "doelenlijst.csv", sep=";", encoding="utf-8-sig", dtype=str)
    assert list(csv.columns) == list(HEADERS.values())
    assert COUNT_COLUMNS == ()  # establishments are public; controles show per area, protected
    assert csv["Aantal vestigingen"].str.fullmatch(r"\d+").all()
    assert (csv["Aantal vestigingen"].astype(int) < 5).any()  # small public counts are shown
    rate = csv["Controles met bevinding in gebied (12 mnd, %)"]
    assert rate.str.fullmatch(r"<5|–|\d+(,\d)?").all() and rate.str.fullmatch(r"\d+(,\d)?").any()
    sheets = pd.read_excel(demo_output / "doelenlijst.xlsx", sheet_name=None, dtype=str)
    assert list(sheets) == ["Selectie", "Alle cellen", "Toelichting"]
    assert (sheets["Selectie"]["Status"] == "geselecteerd").all()
    assert len(sheets["Alle cellen"]) == len(csv)
    notes = sheets["Toelichting"]["Toelichting"]
    assert any("geen bewijs" in text for text in notes)
    # the list says which ranking set the priority, and why (the track record)
    assert any(text.startswith("Gebruikte rangorde: ") and "AUC" in text for text in notes)
    assert any(re.match(r"Capaciteit: \d+ van de 40 controles ingepland \(\d+%\)", text)
               for text in notes)


def test_xlsx_has_numbers_autofilter_and_frozen_header(demo_output):
    book = load_workbook(demo_output / "doelenlijst.xlsx")
    sheet = book["Alle cellen"]
    headers = [cell.value for cell in sheet[1]]
    assert sheet.auto_filter.ref == sheet.dimensions and sheet.freeze_panes == "A2"
    row = list(sheet[2])
    for header in (HEADERS["score"], HEADERS["priority"], HEADERS["spread"],
                   HEADERS["branch_factor"], HEADERS["area_rank"], HEADERS["rank"]):
        cell = row[headers.index(header)]
        assert cell.data_type == "n" and isinstance(cell.value, int | float), header
    assert row[headers.index(HEADERS["priority"])].number_format == "0.0"
    # establishments per cell are public (trade register): exact whole numbers
    column = get_column_letter(headers.index(HEADERS["establishments"]) + 1)
    assert all(isinstance(c.value, int) and c.value >= 1 for c in sheet[column][1:])
    # the priority after spreading sits beside the original; the pick order explains the ranks
    assert headers.index(HEADERS["spread"]) == headers.index(HEADERS["priority"]) + 1


def test_capacity_must_be_positive(demo_run):
    with demo_run.project.store(read_only=True) as store, \
            pytest.raises(InputError, match=r"de capaciteit moet minstens 1 controle zijn, niet 0"):
        target_cells(store, demo_run.period, capacity=0, min_count=5)


def test_cli_targets_on_an_unbuilt_quarter_is_one_line(demo_run, capsys, tmp_path):
    copy = shutil.copytree(demo_run.project.root, tmp_path / "kopie")  # the CLI writes a log
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        main(["targets", "--period", "2020Q1", "--capacity", "5", "-p", str(copy)])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert "2020Q1 is nog niet berekend; draai eerst `riskmap kwartaal --period 2020Q1`" in err
    assert "Traceback" not in err


def test_cli_targets_writes_both_files(project_copy, demo_run, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["targets", "--period", str(demo_run.period), "--capacity", "12",
              "--exclude-recent", "0", "-p", str(project_copy.root)])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "doelenlijst.csv" in out and "doelenlijst.xlsx" in out
    selected = pd.read_excel(project_copy.output_dir / str(demo_run.period) / "doelenlijst.xlsx",
                             sheet_name="Selectie")
    assert not selected.empty


def test_areas_without_a_prediction_are_put_on_the_model_scale():
    cells = pd.DataFrame({"score": [80.0, 40.0, 60.0, None],
                          "expected": [0.4, 0.2, None, None]})
    rate = area_rate(cells)
    assert rate.iloc[:2].tolist() == [0.4, 0.2]
    assert rate.iloc[2] == pytest.approx(0.6 * 0.3 / 0.6)  # mean rate / mean score share
    assert pd.isna(rate.iloc[3])
    assert area_rate(cells.assign(expected=None)).tolist()[:3] == [0.8, 0.4, 0.6]


def _picked_plainly(cells: pd.DataFrame, capacity: int) -> tuple[list[int], list[float]]:
    """The greedy rule read literally: the highest priority that fits (the first of equals),
    then the others of its area and of its branch at half; and each cell's priority when it
    was picked, or when the capacity ran out (NaN for a cell never eligible)."""
    priority = [p if not r and p > 0 else 0.0
                for p, r in zip(cells["priority"], cells["recent"], strict=True)]
    spread = [p if p > 0 else np.nan for p in priority]
    picks, remaining = [], capacity
    while True:
        fitting = [i for i, p in enumerate(priority)
                   if p > 0 and cells["establishments"].iloc[i] <= remaining]
        if not fitting:
            return picks, [priority[i] if i not in picks and not np.isnan(s) else s
                           for i, s in enumerate(spread)]
        best = max(fitting, key=lambda i: (priority[i], -i))
        spread[best] = priority[best]
        picks.append(best)
        remaining -= int(cells["establishments"].iloc[best])
        priority[best] = 0.0
        for column in ("area_code", "branch"):
            same = cells[column].iloc[best]
            for i in range(len(priority)):
                if pd.notna(same) and cells[column].iloc[i] == same:
                    priority[i] *= SPREAD


def test_selection_is_the_greedy_rule_read_literally():
    rng = np.random.default_rng(7)
    for _ in range(200):
        n = int(rng.integers(0, 40))
        cells = pd.DataFrame({"area_code": rng.choice(["A", "B", "C", None], n),
                              "branch": rng.choice(["horeca", "opslag", "transport"], n),
                              "establishments": rng.integers(1, 5, n),
                              "priority": rng.choice([0.0, 0.25, 0.5, 1.0, 2.0], n),
                              "recent": rng.random(n) < 0.2})
        capacity = int(rng.integers(0, 30))
        selected = select_cells(cells, capacity)
        order = selected["pick"].dropna().sort_values()
        picked, spread = _picked_plainly(cells, capacity)
        assert order.index.tolist() == picked
        assert order.tolist() == list(range(1, len(order) + 1))
        assert np.allclose(selected["spread"], spread, rtol=0, atol=0, equal_nan=True)
