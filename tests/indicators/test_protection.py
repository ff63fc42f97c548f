"""Complementary suppression on small tables with known answers, and formula-safe writers."""

from __future__ import annotations

import os
from concurrent.futures.process import BrokenProcessPool

import numpy as np
import pandas as pd
import pytest
from lp_attacker import Attacker
from openpyxl import load_workbook
from releases import linked_tables
from scipy import sparse
from scipy.optimize import linprog

from riskmap.errors import PrivacyError
from riskmap.indicators import lp_solvers, protection
from riskmap.indicators.privacy import (
    Guard,
    neutralise,
    neutralised,
    write_csv,
    write_csv_and_parquet,
    write_xlsx,
)
from riskmap.indicators.protection import complementary_suppression


def _wijk(buurten: list[float]) -> tuple[sparse.csr_matrix, np.ndarray]:
    """Cells: each buurt, then the wijk; one atom per buurt."""
    n = len(buurten)
    rows = np.vstack([np.eye(n), np.ones((1, n))])
    return sparse.csr_matrix(rows), np.array(buurten, dtype=float)


def _protect(matrix, atoms, cost=None):
    values = matrix @ atoms
    primary = values < 5
    cost = np.ones(len(values)) if cost is None else np.asarray(cost, float)
    return complementary_suppression(matrix, atoms, primary, np.ones(len(values), bool), cost, 5)


def test_one_small_buurt_needs_a_complement():
    """wijk 40 = 2 + 12 + 26: hiding only the 2 gives it away; the cheapest complement is the
    buurt that can absorb the change (12: stays >= 5 when it gives up 2), not the wijk."""
    matrix, atoms = _wijk([2, 12, 26])
    secondary = _protect(matrix, atoms, cost=[1, 1, 1, 4])
    assert secondary.tolist() == [False, True, False, False]


def test_two_small_buurten_that_add_up_to_five_need_a_third():
    """1 + 4 = 5 is known from the wijk: the 1 could not be 0 or the 4 could not be 0."""
    matrix, atoms = _wijk([1, 4, 20, 30])
    secondary = _protect(matrix, atoms, cost=[1, 1, 1, 1, 4])
    assert secondary[:2].sum() == 0 and secondary[2:4].sum() == 1 and not secondary[4]


def test_small_buurten_that_protect_each_other_need_nothing():
    matrix, atoms = _wijk([0, 3, 2, 4, 40])
    assert not _protect(matrix, atoms).any()


def test_a_small_wijk_total_protects_its_buurten():
    matrix, atoms = _wijk([1, 2, 0])
    assert not _protect(matrix, atoms).any()


def test_a_cell_no_output_shows_protects_for_free():
    """As in the first test, but the 12 is not published (say its denominator is too small):
    the attacker knows nothing of it, so it absorbs the change and nothing more is hidden."""
    matrix, atoms = _wijk([2, 12, 26])
    values = matrix @ atoms
    released = np.array([True, False, True, True])
    secondary = complementary_suppression(matrix, atoms, values < 5, released, np.ones(4), 5)
    assert not secondary.any()


def test_a_small_count_no_suppression_can_protect_is_reported_once(caplog):
    """wijk 6 = 4 + 2: once the wijk is hidden it is known to be at least 5, so neither buurt
    can be 0 whatever is hidden; said in one warning with the number of such counts."""
    matrix, atoms = _wijk([4, 2])
    with caplog.at_level("WARNING", logger="riskmap.indicators.protection"):
        _protect(matrix, atoms, cost=[1, 1, 4])
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and "bij 2 kleine aantallen" in warnings[0] and "niet 0" in warnings[0]


def test_screening_in_other_processes_hides_the_same_complements(monkeypatch):
    monkeypatch.setattr(protection, "CHUNK", 9)  # many tasks, each with the complements so far
    monkeypatch.setattr(protection, "PARALLEL_FROM", 10)  # screened as a large release is
    reuse, kinds = protection._reused, []

    def reused(found: object, hidden: np.ndarray) -> np.ndarray | None:
        extra = reuse(found, hidden)  # type: ignore[arg-type]
        kinds.append("solved again" if extra is None else
                     "nothing more" if len(extra) < len(found.extra) else "the screen's")
        return extra
    monkeypatch.setattr(protection, "_reused", reused)
    for seed in range(4):
        matrix, atoms = linked_tables(seed)
        values = matrix @ atoms
        primary, released = values < 5, np.ones(len(values), bool)
        cost = np.ones(len(values))
        alone = complementary_suppression(matrix, atoms, primary, released, cost, 5, processes=1)
        apart = complementary_suppression(matrix, atoms, primary, released, cost, 5, processes=2)
        assert primary.sum() > 60 and alone.sum() > 5
        assert apart.tolist() == alone.tolist()
    assert {"solved again", "nothing more", "the screen's"} <= set(kinds)


@pytest.mark.parametrize("solver", ["Clp", "HiGHS"])
@pytest.mark.parametrize("seed", [3, 6, 7])
def test_after_suppression_every_small_count_can_be_0_and_4(seed, solver, caplog, monkeypatch):
    """The attack, solved afresh over all atoms (by HiGHS): the pairs the LPs proved on the way
    (and skipped) are reachable too; only those said to be unprotectable are not. With Clp
    solving the suppression's LPs, and with HiGHS where Clp is not there."""
    if solver == "HiGHS":
        monkeypatch.setattr(lp_solvers, "_trusted_clp", lambda: None)
    matrix, atoms = linked_tables(seed)
    values = matrix @ atoms
    primary = values < 5
    skipped = []
    add = protection._Proofs.add
    monkeypatch.setattr(protection._Proofs, "add", lambda self, found, chunk: (
        skipped.extend(found), add(self, found, chunk))[1])
    with caplog.at_level("WARNING", logger="riskmap.indicators.protection"):
        secondary = complementary_suppression(matrix, atoms, primary, np.ones(len(values), bool),
                                              np.ones(len(values)), 5, processes=1)
    said = sum(int(r.getMessage().split("bij ")[1].split()[0]) for r in caplog.records)
    ruled_out = Attacker(matrix, atoms, ~(primary | secondary)).narrowed(np.flatnonzero(primary))
    assert sum(len(cells) for _, cells in skipped) > 0  # pairs were proven on the way
    assert len(ruled_out) == said


@pytest.mark.parametrize("processes", [1, 2])
def test_a_table_that_needs_complements_proves_the_small_counts_it_moves(monkeypatch, caplog,
                                                                         processes):
    """The small counts a screen's table with complements brings to an end of their interval
    are proven as those complements are hidden here, and no attack undoes that."""
    monkeypatch.setattr(protection, "CHUNK", 9)
    monkeypatch.setattr(protection, "PARALLEL_FROM", 10)  # screened as a large release is
    settled, reuse = [], protection._reused

    def reused(found: protection._Found | None, hidden: np.ndarray) -> np.ndarray | None:
        extra = reuse(found, hidden)
        if extra is not None and found is not None:
            settled.extend(cell for _, cells in found.settled for cell in cells.tolist())
        return extra
    monkeypatch.setattr(protection, "_reused", reused)
    for seed in (3, 6):
        matrix, atoms = linked_tables(seed)
        values = matrix @ atoms
        primary = values < 5
        caplog.clear()
        with caplog.at_level("WARNING", logger="riskmap.indicators.protection"):
            secondary = complementary_suppression(matrix, atoms, primary,
                                                  np.ones(len(values), bool),
                                                  np.ones(len(values)), 5, processes=processes)
        said = sum(int(r.getMessage().split("bij ")[1].split()[0]) for r in caplog.records)
        attacker = Attacker(matrix, atoms, ~(primary | secondary))
        assert len(attacker.narrowed(np.flatnonzero(primary))) == said
    assert settled  # such tables did prove other small counts


def _die(*_: object) -> None:
    os._exit(1)


def test_a_screening_process_that_dies_is_an_error_not_a_wait(monkeypatch):
    matrix, atoms = linked_tables()
    values = matrix @ atoms
    monkeypatch.setattr(protection, "_screen", _die)
    with pytest.raises(BrokenProcessPool):
        complementary_suppression(matrix, atoms, values < 5, np.ones(len(values), bool),
                                  np.ones(len(values)), 5, processes=2)


@pytest.mark.parametrize(("text", "safe"), [
    ('=HYPERLINK("http://x","klik")', '\'=HYPERLINK("http://x","klik")'),
    ("+31 6", "'+31 6"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"), ("\rx", "'\rx"),
    ("-2+3", "'-2+3"), ("-2,5", "-2,5"), ("+1.234", "+1.234"), ("Havenwaard", "Havenwaard"),
])
def test_text_that_could_start_a_formula_is_neutralised(text, safe):
    assert neutralise(text) == safe


def test_a_table_is_neutralised_cell_by_cell():
    rng = np.random.default_rng(5)
    texts = ["=1+1", "+31 6", "-2,5", "-2+3", "@A1", "\tx", "\rx", "Noordkade", "", "<5", "–"]
    mixed = [*texts, None, np.nan, pd.NA, -3, 2.5, "-1.234,5"]
    frame = pd.DataFrame({
        "tekst": pd.Series(rng.choice(texts, 300), dtype="str"),
        "gemengd": pd.Series([mixed[i] for i in rng.integers(0, len(mixed), 300)], dtype=object),
        "getal": rng.normal(size=300), "=kop": rng.integers(-5, 5, 300)},
        index=rng.integers(0, 50, 300))  # labels repeat, as after a concatenation
    frame.loc[frame.index[:3], "tekst"] = None
    out = neutralised(frame)
    assert list(out.columns) == ["tekst", "gemengd", "getal", "'=kop"]
    assert list(out.dtypes) == list(frame.dtypes) and out.index.equals(frame.index)
    for column in ("tekst", "gemengd"):
        expected = [neutralise(v) for v in frame[column].tolist()]
        assert [v if isinstance(v, str) else repr(v) for v in out[column].tolist()] == \
            [v if isinstance(v, str) else repr(v) for v in expected], column
    assert out["getal"].equals(frame["getal"]) and (out["'=kop"] == frame["=kop"]).all()


@pytest.mark.parametrize("column", ["Omschrijving", "Waarde"])
def test_a_pseudonym_stops_both_the_csv_and_the_parquet_file(tmp_path, column):
    known = {"1234567890123456", "a1b2c3d4e5f60718"}
    frame = pd.DataFrame({"Omschrijving": ["Noordkade", "Zuidkade"], "Waarde": [1.5, 2.5]})
    frame[column] = frame[column].astype(object)
    frame.loc[1, column] = 1234567890123456 if column == "Waarde" else "zie a1b2c3d4e5f60718"
    guard = Guard(lambda tokens: tokens & known)
    with pytest.raises(PrivacyError, match="gepseudonimiseerde"):
        write_csv_and_parquet(frame, tmp_path / "h.csv", tmp_path / "h.parquet", guard)
    assert not list(tmp_path.iterdir())
    csv, parquet = write_csv_and_parquet(frame.drop(index=1), tmp_path / "h.csv",
                                         tmp_path / "h.parquet", guard)
    assert pd.read_parquet(parquet).astype(str).to_numpy().tolist() == [["Noordkade", "1.5"]]
    assert "Noordkade" in csv.read_text(encoding="utf-8-sig")


def test_workbooks_hold_numbers_as_numbers_and_never_a_formula(tmp_path):
    frame = pd.DataFrame({"Gebied": ["=1+1", "Noordkade"], "Rang": [1, 2],
                          "Score": ["63,2", "1.234"], "Aandeel": ["45%", "–"],
                          "Code": ["0113", "BU99990101"]})
    path = write_xlsx({"Blad": frame}, tmp_path / "t.xlsx", Guard())
    sheet = load_workbook(path).active
    assert [c.value for c in sheet[2]] == ["'=1+1", 1, 63.2, "45%", "0113"]
    assert sheet["C3"].value == 1234
    assert not any(c.data_type == "f" for row in sheet.iter_rows() for c in row)
    text = write_csv(frame, tmp_path / "t.csv", Guard()).read_text(encoding="utf-8-sig")
    assert "'=1+1" in text and "\n=1+1" not in text


def test_text_that_gets_past_neutralising_is_still_text_in_a_workbook(tmp_path, monkeypatch):
    monkeypatch.setattr("riskmap.indicators.privacy.neutralise", lambda value: value)
    frame = pd.DataFrame({"Gebied": ["=1+1", "http://x.nl", "1e5"], "Rang": [1, 2, None]})
    path = write_xlsx({"Blad": frame}, tmp_path / "t.xlsx", Guard())
    sheet = load_workbook(path).active
    assert [(c.value, c.data_type) for c in sheet["A"][1:]] == [
        ("=1+1", "s"), ("http://x.nl", "s"), ("1e5", "s")]
    assert [c.value for c in sheet["B"][1:]] == [1, 2, None] and not sheet["A2"].hyperlink
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.xlsx"]  # nothing left beside it


def test_a_workbook_that_cannot_be_written_leaves_none_behind(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("schijf vol")
    (tmp_path / "t.xlsx").write_bytes(b"de vorige")
    monkeypatch.setattr("riskmap.indicators.privacy._write_sheet", broken)
    with pytest.raises(OSError, match="schijf vol"):
        write_xlsx({"Blad": pd.DataFrame({"Gebied": ["Noordkade"]})}, tmp_path / "t.xlsx", Guard())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.xlsx"]
    assert (tmp_path / "t.xlsx").read_bytes() == b"de vorige"


def _textbook_lp(matrix: sparse.csr_matrix, values: np.ndarray, atoms: np.ndarray,
                 lp: protection._Neighbourhood, hidden: np.ndarray, cell: int, target: float,
                 chosen: np.ndarray) -> float | None:
    """The optimum of the LP of ``reach`` written as in the literature, with a slack
    t_c >= |A_c y| per shown cell, solved by scipy (None: infeasible)."""
    sub = matrix[:, chosen].tocsr()
    touched = np.flatnonzero(sub.getnnz(axis=1))
    a, shown = sub[touched], ~hidden[touched]
    lower, upper = lp.lower[touched] - values[touched], lp.upper[touched] - values[touched]
    upper[shown] = np.inf
    at = np.flatnonzero(touched == cell)[0]
    lower[at] = upper[at] = target - values[cell]
    n_y, n_t = len(chosen), int(shown.sum())
    slack = sparse.eye(n_t, format="csr")
    bounded = np.isfinite(upper)
    a_ub = sparse.vstack([
        sparse.hstack([a[bounded], sparse.csr_matrix((int(bounded.sum()), n_t))]),
        sparse.hstack([-a, sparse.csr_matrix((len(touched), n_t))]),
        sparse.hstack([a[shown], -slack]), sparse.hstack([-a[shown], -slack])]).tocsr()
    b_ub = np.concatenate([upper[bounded], -lower, np.zeros(2 * n_t)])
    cost = np.concatenate([np.zeros(n_y), lp.cost[touched][shown]])
    bounds = [(-atoms[a_], None) for a_ in chosen] + [(0, None)] * n_t
    found = linprog(cost, A_ub=a_ub, b_ub=b_ub, bounds=bounds, method="highs")
    assert found.status in (0, 2), found.message
    return found.fun if found.status == 0 else None


@pytest.mark.parametrize("solver", ["clp", "highs"])
def test_the_lp_has_the_optimum_of_the_lp_with_slacks(solver):
    """One row per cell (an increase and a decrease per shown cell, the decrease no more than
    brings it to m): the same optimum as the LP with a slack per shown cell and two rows for
    it, and the cells it hides are those its table changes."""
    matrix, atoms = linked_tables(4, 900, 80)
    values = np.asarray(matrix @ atoms)
    rng = np.random.default_rng(4)
    released = rng.random(len(values)) > 0.05
    hidden = (values < 5) | ~released | (rng.random(len(values)) < 0.3)
    cost = rng.integers(1, 4, len(values)).astype(float)
    lp = protection._Neighbourhood(matrix, matrix.tocsc(), atoms, values, released, cost, 5,
                                   native=False, solver=solver)
    assert lp.solver.name == {"clp": "Clp", "highs": "HiGHS"}[solver]
    solved = infeasible = 0
    for cell in np.flatnonzero(values < 5)[:60].tolist():
        chosen = lp.near(lp.own(cell), hidden)
        for target in lp.targets:
            extra = lp.reach(cell, target, hidden, chosen)
            expected = _textbook_lp(matrix, values, atoms, lp, hidden, cell, target, chosen)
            if expected is None:
                assert extra is None
                infeasible += 1
                continue
            assert extra is not None
            assert lp.solution is not None
            assert lp.solution.objective == pytest.approx(expected)
            y = lp.solution.columns[:len(chosen)]
            change = matrix[:, chosen] @ y
            moved = np.flatnonzero((np.abs(change) > 1e-6) & ~hidden)
            assert sorted(extra.tolist()) == moved.tolist()
            solved += bool(len(extra))
    assert solved > 10 and infeasible > 0


@pytest.mark.parametrize("size", [0, 1, 2, 50, 3000])
def test_distinct_cells_are_numpys_unique(size):
    values = np.random.default_rng(size).integers(0, max(size // 3, 1), size).astype(np.int32)
    found = protection._distinct(values)
    assert np.array_equal(found, np.unique(values)) and found.dtype == values.dtype
