"""Hotspots, emerging hotspots, predictions and the backtest on the demo gemeente.

The demo plants a hidden risk field (never read by the pipeline); these tests check that the
statistics recover it, and stay quiet where there is nothing to find.
"""

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskmap.cli import main
from riskmap.demo import DemoRun
from riskmap.models.hotspots import GetisOrdHotspots
from riskmap.models.ranking import COMBINED_NAME
from riskmap.models.supervised import MODEL_NAME
from riskmap.models.weights import queen_neighbours
from riskmap.sources.demo import hidden_risk
from riskmap.store import Store

PERIOD = "2025Q3"


def _query(run: DemoRun, sql: str, params: list | None = None) -> pd.DataFrame:
    with Store.open(run.project.config.store_path, read_only=True) as store:
        return store.query(sql, params)


def _planted() -> set[str]:
    risk = hidden_risk()
    return set(risk.loc[(risk["level"] == "buurt") & risk["planted"], "code"])


def test_gi_star_finds_the_planted_high_risk_buurten(demo_run: DemoRun):
    stored = _query(demo_run, "SELECT area_code, category FROM hotspots WHERE level = 'buurt' "
                              "AND period = ? AND variable = 'totaal' AND method = 'gi_star'",
                    [PERIOD])
    assert len(stored) == 69
    hot = set(stored.loc[stored["category"] == "hotspot", "area_code"])
    planted = _planted()
    recall = len(hot & planted) / len(planted)
    print(f"\nGi* on totaal {PERIOD}, FDR 0.05: {len(hot & planted)} of {len(planted)} planted "
          f"buurten found (recall {recall:.2f}); {len(hot - planted)} other hot spots")
    assert recall >= 0.7


def test_gi_star_on_shuffled_values_rarely_flags_a_buurt(demo_run: DemoRun):
    """The same scores, randomly reassigned to the buurten 100 times: every flag is false."""
    scores = _query(demo_run, "SELECT area_code, score FROM scores WHERE level = 'buurt' AND "
                              "period = ? AND theme = 'totaal' AND score IS NOT NULL", [PERIOD])
    with Store.open(demo_run.project.config.store_path, read_only=True) as store:
        areas = store.areas("buurt")
    neighbours = queen_neighbours(areas[areas["code"].isin(scores["area_code"])])
    values = scores.set_index("area_code")["score"].reindex(neighbours.codes).to_numpy()
    rng = np.random.default_rng(2025)
    flags = np.zeros((100, values.size), dtype=bool)
    for run in range(100):
        fit = GetisOrdHotspots(seed=run).fit(rng.permutation(values), neighbours)
        flags[run] = np.isin(fit.categories_, ["hotspot", "coldspot"])
    per_buurt = flags.mean(axis=0)
    print(f"\nshuffled Gi*: a buurt is flagged in {per_buurt.mean():.2%} of runs on average "
          f"(max {per_buurt.max():.0%}); {flags.any(axis=1).mean():.0%} of runs flag any buurt")
    assert per_buurt.mean() <= 0.05
    assert flags.any(axis=1).mean() <= 0.10  # BH keeps the chance of any false flag near 5 %


def test_demo_stores_emerging_hotspots_and_predictions(demo_run: DemoRun):
    emerging = _query(demo_run, "SELECT * FROM emerging_hotspots WHERE level = 'buurt'")
    assert len(emerging) == 69 and (emerging["periods"] == 4).all()
    assert set(emerging["category"]) <= {"new", "intensifying", "persistent", "diminishing",
                                         "sporadic", "former", "no_pattern"}
    persistent = set(emerging.loc[emerging["category"] == "persistent", "area_code"])
    assert len(persistent & _planted()) >= 5
    stored = _query(demo_run, "SELECT * FROM predictions WHERE period = ?", [PERIOD])
    assert set(stored["model"]) == {MODEL_NAME, COMBINED_NAME}
    predictions = stored[stored["model"] == MODEL_NAME]
    assert len(predictions) == 69 and (stored["model"] == COMBINED_NAME).sum() == 69
    assert predictions["probability"].between(0, 1).all()
    assert (predictions["target_period"] == "2025Q4").all()
    risk = hidden_risk().set_index("code")["risk"]
    rho = predictions.set_index("area_code")["probability"].corr(risk, method="spearman")
    assert rho > 0.3
    runs = _query(demo_run, "SELECT kind, load_ids FROM runs")
    assert {"hotspots", "emerging_hotspots", "track_record"} <= set(runs["kind"])
    assert runs["load_ids"].str.len().gt(2).all()


def _run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


@pytest.fixture
def project_copy(demo_run: DemoRun, tmp_path: Path) -> Path:
    """A copy of the demo project, for commands that write to it."""
    return Path(shutil.copytree(demo_run.project.root, tmp_path / "demo"))


def test_cli_hotspots_prints_and_stores(capsys, project_copy: Path):
    code, out, _ = _run_cli(capsys, "-q", "hotspots", "--period", PERIOD, "--variable", "drugs",
                            "-p", str(project_copy))
    assert code == 0
    assert out.startswith("drugs (buurt, 2025Q3, gi_star, FDR 0,05)")
    assert "Categorie" in out and "hotspot" in out
    with Store.open(project_copy / "riskmap.duckdb", read_only=True) as store:
        assert store.scalar("SELECT count(*) FROM hotspots WHERE variable = 'drugs'") == 69


def test_cli_hotspots_on_the_grid_shows_no_counts(capsys, project_copy: Path):
    code, out, _ = _run_cli(capsys, "-q", "hotspots", "--period", PERIOD, "--level", "grid500",
                            "-p", str(project_copy))
    assert code == 0
    assert "signalen (grid500" in out
    header = out.splitlines()[1]
    assert header.split() == ["Code", "Categorie", "z", "q", "(FDR)"]


@pytest.mark.parametrize(("args", "message"), [
    (["--period", PERIOD, "--variable", "geen_indicator"], "variabele 'geen_indicator' onbekend voor buurt"),
    (["--period", "2019Q1"], "2019Q1 is nog niet berekend"),
    (["--period", "2025-3"], "periode '2025-3' is geen kwartaal; schrijf het als 2025Q3"),
])
def test_cli_hotspots_bad_input_is_one_line(capsys, project_copy: Path, args, message):
    code, _, err = _run_cli(capsys, "-q", "hotspots", *args, "-p", str(project_copy))
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and message in lines[0]


def test_cli_backtest_writes_table_and_plot(capsys, project_copy: Path):
    code, out, _ = _run_cli(capsys, "-q", "backtest", "--from", "2025Q1", "--to", "2025Q2",
                            "-p", str(project_copy))
    assert code == 0
    assert "Model (kans op bevinding)" in out
    csv = next((project_copy / "output" / "terugtoets").glob("terugtoets_2025Q1_2025Q2.csv"))
    png = csv.with_suffix(".png")
    assert png.read_bytes()[:4] == b"\x89PNG"
    table = pd.read_csv(csv, sep=";", decimal=",", encoding="utf-8-sig")
    assert list(table.columns[:5]) == ["Kwartaal van de rangorde", "Kwartaal van de controles",
                                       "Methode", "Precisie in top-k", "AUC"]
    assert len(table) == 2 * 6 + 6  # score, model, combined, 2 baselines, chosen; means
    counts = table["Gecontroleerde gebieden"].dropna().astype(str)
    assert counts.str.fullmatch(r"<5|\d+|–").all()


@pytest.mark.parametrize(("args", "message"), [
    (["--from", "2025Q2", "--to", "2024Q3"], "loopt achteruit"),
    (["--from", "2025Q2", "--to", "2025Q3"], "geen controles in 2025Q4 om het kwartaal ervoor"),
])
def test_cli_backtest_bad_range_is_one_line(capsys, project_copy: Path, args, message):
    code, _, err = _run_cli(capsys, "-q", "backtest", *args, "-p", str(project_copy))
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and message in lines[0]


def test_grid_counts_and_anomalies_go_through_privacy(demo_run: DemoRun):
    grid = demo_run.project.grid(500)
    assert grid.crs == "EPSG:28992" and grid["code"].str.fullmatch(r"E\d{4}N\d{4}").all()
    shown = grid["count"].astype(str)
    assert shown.str.fullmatch(r"<5|–|\d+(\.\d{3})*").all() and shown.str.fullmatch(r"\d+").any()
    assert not shown.isin(["1", "2", "3", "4"]).any()
    terreinen = demo_run.project.anomalies()
    assert len(terreinen) == 4 and terreinen["name"].notna().all()
    assert terreinen["score"].between(0, 1).all()
    assert terreinen["establishments"].astype(str).str.fullmatch(r"<5|\d+(\.\d{3})*").all()


def test_cli_track_record_on_an_unbuilt_quarter_is_one_line(capsys, project_copy: Path):
    code, _, err = _run_cli(capsys, "-q", "track-record", "--period", "2019Q1", "-p",
                            str(project_copy))
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and "2019Q1 is nog niet berekend" in lines[0]


def test_emerging_hotspots_take_the_gi_star_of_hotspot_runs_computed_alike(demo_run: DemoRun,
                                                                          monkeypatch):
    from riskmap.models import runs
    from riskmap.periods import Period

    config, last = demo_run.project.config, Period.parse(PERIOD)
    with Store.open(config.store_path, read_only=True) as store:
        quarters = [last - 3, last - 2, last - 1, last]
        alike = [runs.computed_hotspots(store, config, q) for q in quarters]
        other = [runs.computed_hotspots(store, config, q, alpha=0.1) for q in quarters]
        plain = runs.computed_emerging(store, config, quarters[0], last)
        computed = []
        hotspots_of = runs.hotspots_of
        monkeypatch.setattr(runs, "hotspots_of",
                            lambda *a, **k: computed.append(a[2]) or hotspots_of(*a, **k))
        taken = runs.computed_emerging(store, config, quarters[0], last, hotspots=alike[1:])
        assert computed == [quarters[0]]  # the three given are not computed again
        pd.testing.assert_frame_equal(taken.table, plain.table)
        assert (taken.settings, taken.summary) == (plain.settings, plain.summary)
        computed.clear()
        runs.computed_emerging(store, config, quarters[0], last, hotspots=other)
        assert computed == quarters  # computed with another alpha: not taken
