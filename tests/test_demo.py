"""End to end: the demo gemeente from generated sources to outputs."""

import re
from pathlib import Path

import pandas as pd
import pytest
from html_parts import geojson
from scipy import stats

from riskmap.demo import DemoRun
from riskmap.project import Project
from riskmap.sources.demo import build_world, hidden_risk
from riskmap.store import Store


def _scores(run: DemoRun) -> pd.DataFrame:
    return pd.read_csv(run.outputs["scores"], sep=";", decimal=",", encoding="utf-8-sig")


def test_demo_world_is_big_enough():
    world = build_world()
    assert len(world.wijken) >= 8 and len(world.buurten) >= 60
    assert 3 <= len(world.terreinen) <= 5
    assert len(world.establishments) >= 5_000
    assert {"haven", "buitengebied"} <= set(world.buurten["kind"])
    planted = hidden_risk()
    assert planted.loc[planted["level"] == "buurt", "planted"].sum() >= 8
    assert planted.loc[planted["level"] == "bedrijventerrein", "planted"].sum() in (1, 2)


def test_sources_are_written_in_real_formats(demo_run: DemoRun):
    sources = demo_run.project.root / "sources"
    kvk = (sources / "kvk_vestigingen.csv").read_bytes()
    assert kvk.split(b"\n")[0].count(b";") >= 10
    kvk.decode("cp1252")
    assert re.search(rb";\d{6},\d;", kvk)  # decimal commas in the RD coordinates
    assert (sources / "wijkenbuurten_2024.gpkg").exists()
    assert (sources / "registers" / "controles.xlsx").exists()
    assert list((sources / "cbs").glob("85984NED_*.json"))


def test_one_row_per_area_and_ranks_without_gaps(demo_run: DemoRun):
    scores = _scores(demo_run)
    with Store.open(demo_run.project.config.store_path, read_only=True) as store:
        areas = store.query("SELECT level, count(*) AS n FROM areas GROUP BY level")
    expected = dict(zip(areas["level"], areas["n"], strict=True))
    counts = scores["Niveau"].value_counts()
    assert counts["Buurt"] == expected["buurt"] == 69
    assert counts["Bedrijventerrein"] == expected["bedrijventerrein"]
    assert counts["Wijk"] == expected["wijk"]
    assert not scores[["Niveau", "Code"]].duplicated().any()
    for _, level in scores.groupby("Niveau"):
        ranks = level["Rang"].dropna().astype(int).sort_values().tolist()
        assert ranks == list(range(1, len(ranks) + 1))
    # a buurt without a score lacks the data for half the theme weight: all are (nearly)
    # uninhabited port and industrial buurten, which the bedrijventerrein level covers
    unscored = scores.loc[(scores["Niveau"] == "Buurt") & scores["Rang"].isna(), "Code"]
    with Store.open(demo_run.project.config.store_path, read_only=True) as store:
        people = store.query("SELECT area_code, value FROM cbs_values WHERE variable = "
                             "'AantalInwoners'").set_index("area_code")["value"]
    assert len(unscored) <= 8
    assert (people.loc[unscored] < 100).all()


def test_map_holds_every_buurt_polygon(demo_run: DemoRun):
    html = demo_run.outputs["kaart"].read_text(encoding="utf-8")
    buurten = geojson(html)[0]["features"]  # the first layer: buurten, totaalscore
    assert len({feature["properties"]["Code"] for feature in buurten}) == len(buurten) == 69
    assert all(feature["properties"]["Code"].startswith("BU") for feature in buurten)
    assert {feature["geometry"]["type"] for feature in buurten} <= {"Polygon", "MultiPolygon"}
    assert "leaflet" in html.lower() and not re.search(r'src="https?://', html)


@pytest.mark.slow  # make bench; in make test, the walk-through's CLI run gives the demo's scores
def test_demo_twice_gives_identical_scores(demo_run: DemoRun, demo_rerun: Project):
    again = demo_rerun.output_dir / str(demo_run.period) / "scores.csv"
    assert again.read_bytes() == demo_run.outputs["scores"].read_bytes()


def test_failing_load_leaves_store_unchanged(demo_run: DemoRun, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(demo_run.project.root, copy)
    from riskmap.project import Project

    project = Project(copy)

    def snapshot() -> dict[str, pd.DataFrame]:
        with project.store(read_only=True) as store:
            return {t: store.query(f"SELECT * FROM {t} ORDER BY ALL")
                    for t in ("establishments", "loads", "events")}

    before = snapshot()

    def fail(self: Store, table: str, frame: pd.DataFrame) -> None:
        raise OSError("disk full")  # after the old slice was deleted: a part-way failure

    monkeypatch.setattr(Store, "insert", fail)
    with pytest.raises(OSError, match="disk full"):
        project.load_kvk(copy / "sources" / "kvk_vestigingen.csv")
    monkeypatch.undo()
    after = snapshot()
    for table in before:
        pd.testing.assert_frame_equal(before[table], after[table])


def test_outputs_hold_no_pseudonym_and_no_small_count(demo_run: DemoRun):
    store_path = demo_run.project.config.store_path
    with Store.open(store_path, read_only=True) as store:
        for path in demo_run.outputs.values():
            text = path.read_text(encoding="utf-8-sig", errors="ignore")
            tokens = set(re.findall(r"[0-9a-f]{16}", text))
            assert not store.pseudonyms_among(tokens), path
        small = store.query("SELECT v.area_code, v.indicator FROM indicator_values v "
                            "WHERE v.period = '2025Q3' AND v.reason = 'klein aantal'")
    scores = _scores(demo_run).set_index("Code")
    labels = {i.id: i.label for i in demo_run.project.catalogue()}
    checked = 0
    for row in small.itertuples():
        cell = scores.loc[row.area_code, labels[row.indicator]]
        assert cell == "aantal <5", (row.area_code, row.indicator, cell)
        checked += 1
    assert checked > 50
    for name in ("vestigingsnummer", "handelsnaam", "postcode", "x_rd"):
        assert name not in _scores(demo_run).columns.str.lower()


def test_score_ranks_areas_by_hidden_risk(demo_run: DemoRun):
    """Spearman correlation between the buurt score and the planted risk (never read by it).

    A buurt's risk is the higher of its own field and that of its establishments: the buurten
    of bedrijventerrein De Kooi have a low field but sit in a terrein of high risk, which drives
    their events and findings (they have a score since scores cover business buurten)."""
    scores = _scores(demo_run)
    buurten = scores[scores["Niveau"] == "Buurt"].dropna(subset=["Totaalscore"])
    planted = hidden_risk().set_index("code")
    risk = planted[["risk", "activity_risk"]].max(axis=1)
    rho, p = stats.spearmanr(buurten["Totaalscore"], risk.loc[buurten["Code"]])
    print(f"\nSpearman rho buurt score vs hidden risk: {rho:.3f} (p={p:.1e}, n={len(buurten)})")
    assert rho > 0.4 and p < 0.001


def test_lineage_names_every_load(demo_run: DemoRun):
    lineage = pd.read_csv(demo_run.outputs["bronnen"], sep=";", encoding="utf-8-sig")
    # last year's KvK extract was replaced by this year's: every load still in use is named
    in_use = {(r.source, r.slice) for r in demo_run.loads}
    assert len(lineage) == len(in_use) == len(demo_run.loads) - 1
    assert lineage["SHA-256"].str.len().eq(64).sum() >= len(in_use) - 2
    reasons = lineage["Redenen van afwijzing"].dropna()  # text for Excel, not JSON
    assert reasons.str.fullmatch(r"\d[\d.]* [^;{]+(; \d[\d.]* [^;{]+)*").all() and len(reasons)


def test_demo_extracts_before_and_after_the_sbi_switch_agree(project, demo_sources: Path):
    """Last year's KvK extract (SBI 2008) and this year's (SBI 2025): every establishment whose
    activity did not change keeps its branch and section, the ones that did are recorded as
    activity changes, and a quarter both cover has the same counts from either."""
    from riskmap.indicators.business import establishments_measure
    from riskmap.periods import Period

    quarter = Period(2024, 3)  # the last quarter the older extract covers

    def snapshot() -> tuple[pd.DataFrame, pd.Series, pd.Series, set[str]]:
        with project.store(read_only=True) as store:
            rows = store.query("SELECT id, sbi_version, branch, section FROM establishments")
            codes = sorted(store.query("SELECT code FROM areas WHERE level = 'buurt'")["code"])
            branches = establishments_measure(store, {"branches": "all"}, "buurt", quarter, None,
                                              codes)
            total = establishments_measure(store, {}, "buurt", quarter, None, codes)
            changed = set(store.query("SELECT id FROM establishment_changes "
                                      "WHERE kind = 'activiteit'")["id"])
        return rows.set_index("id"), branches, total, changed

    old = project.load_kvk(demo_sources / "kvk_vestigingen_2024.csv")
    before, branches_before, total_before, _ = snapshot()
    new = project.load_kvk(demo_sources / "kvk_vestigingen.csv")
    after, branches_after, total_after, changed = snapshot()
    assert set(before["sbi_version"]) == {2008} and set(after["sbi_version"]) == {2025}
    assert old.rows_kept < new.rows_kept and before.index.isin(after.index).all()
    same = before.index[~before.index.isin(changed)]
    assert 0 < len(changed) < 0.05 * len(before)  # the generator changes a few activities
    pd.testing.assert_frame_equal(before.loc[same, ["branch", "section"]],
                                  after.loc[same, ["branch", "section"]])
    assert before["branch"].notna().sum() > 1_000
    moved = (branches_before - branches_after).abs().sum()
    assert moved <= len(changed)  # only changed activities move between risk branches
    pd.testing.assert_series_equal(total_before, total_after)
