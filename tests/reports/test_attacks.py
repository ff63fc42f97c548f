"""An attacker on the demo's published outputs and on a copy of its store.

Differencing: the attacker reads what the quarter's files show — indicator values (a rate times
its public denominator is a count), indices against the gemeente (a total), the map's grid
counts and the target list — and models them, independently of the package, as sums of atoms
(an event class in one buurt × analysis area of each type × 500 m cell, every place with a BAG
address; the types are those of ``config/area_types.yaml``).
It knows every shown count exactly, that every atom is non-negative, and of every hidden count
whether it is below 5. For each hidden small count it solves two LPs (HiGHS) for the lowest
and highest value all that allows: wijk − buurten, gemeente − wijken, analysis areas (and all
areas of a type together) across buurten, grid cells across areas and every combination at
once. None may be narrowed below ``[0, 4]``.

Linkage: with the public BAG and KvK, a copy of the store may tie at most 5 % of register events
to a single address.
"""

from __future__ import annotations

import json
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from html_parts import geojson
from lp_attacker import Attacker
from openpyxl import load_workbook
from scipy import sparse

from riskmap.areatypes import analysis_levels, area_sql, area_types
from riskmap.branches import branch_of
from riskmap.demo import DemoRun
from riskmap.errors import PrivacyError
from riskmap.indicators.privacy import PRIVACY_REASONS
from riskmap.indicators.signals import DEFAULT_WINDOW, FILTERS
from riskmap.reports.outputs import write_tables
from riskmap.reports.targets import write_targets
from riskmap.sbi import clean_codes
from riskmap.sources._places import cell_codes

MIN = 5
GRID_KINDS = ["meldingen", "maatregelen", "bibob", "hennep"]
TYPES = analysis_levels()
LEVELS = {"Buurt": "buurt", "Wijk": "wijk", **{t.label: t.key for t in area_types().values()}}
# the total an index against the gemeente reveals: the gemeente's, or all areas of the type
TOTAL = {"buurt": "gemeente", "wijk": "gemeente", **{t: f"alle {t}" for t in TYPES}}
AREA_COLUMNS = ", ".join(f"{area_sql(t)} AS {t}" for t in TYPES)
GRID_SERIES = json.dumps({"kind": GRID_KINDS, "window": 12})


def _event_series(catalogue) -> dict[str, tuple[dict, int]]:
    """Every register-event series the catalogue publishes: spec and window."""
    out = {GRID_SERIES: ({"kind": GRID_KINDS}, 12)}
    for indicator in catalogue:
        for m in (indicator.numerator, indicator.denominator):
            if m is not None and m.kind == "events":
                key = json.dumps({**m.params["events"], "window": indicator.window})
                out[key] = (dict(m.params["events"]), indicator.window or DEFAULT_WINDOW)
    return out


def _in_series(events: pd.DataFrame, spec: dict, window: int, period) -> np.ndarray:
    first, end = period.window(window)
    kinds = spec["kind"] if isinstance(spec["kind"], list) else [spec["kind"]]
    mask = events["date"].between(first, end) & events["kind"].isin(kinds)
    for column in FILTERS:
        if spec.get(column):
            mask &= events[column].isin([str(v) for v in spec[column]])
    return mask.to_numpy()


@pytest.fixture(scope="module")
def published(demo_run: DemoRun, demo_output) -> dict:
    """What the quarter's files show, as the attacker reads them."""
    catalogue = demo_run.project.catalogue()
    by_label = {i.label: i for i in catalogue}
    table = pd.read_csv(demo_output / "indicatoren.csv", sep=";", dtype=str,
                        encoding="utf-8-sig", keep_default_na=False)
    shown = set()
    for row in table.itertuples(index=False):
        indicator = by_label[row.Indicator]
        level = LEVELS[row.Niveau]
        for m in (indicator.numerator, indicator.denominator):
            if m is None or m.kind != "events":
                continue
            key = json.dumps({**m.params["events"], "window": indicator.window})
            if row.Waarde != "–":
                shown.add((key, level, row.Code))
            if row[7] != "–":  # the index against the gemeente reveals the total
                shown.add((key, TOTAL[level], "alle"))
    html = (demo_output / "kaart.html").read_text(encoding="utf-8")
    for collection in geojson(html):
        for feature in collection["features"]:
            props = feature["properties"]  # keyed by the map's Dutch labels
            cell = next((str(v) for v in props.values()
                         if re.fullmatch(r"E\d{4}N\d{4}", str(v))), None)
            if cell and any(str(k).startswith("Aantal") for k in props):
                shown.add((GRID_SERIES, "raster500", cell))
    targets = pd.read_csv(demo_output / "doelenlijst.csv", sep=";", dtype=str,
                          encoding="utf-8-sig", keep_default_na=False)
    return {"shown": shown, "targets": targets, "catalogue": catalogue}


@pytest.fixture(scope="module")
def model(demo_run: DemoRun, published) -> dict:
    """Atoms (with the true counts, to check the attacker against) and the cells over them."""
    period = demo_run.period
    series = _event_series(published["catalogue"])
    keys = list(series)
    with demo_run.project.store(read_only=True) as store:
        events = store.query(f"SELECT *, {AREA_COLUMNS} FROM events WHERE buurt IS NOT NULL")
        places = store.query(f"SELECT DISTINCT buurt, wijk, {AREA_COLUMNS}, cell500 FROM addresses")
    events["date"] = pd.to_datetime(events["date"]).dt.date
    member = np.column_stack([_in_series(events, *series[k], period) for k in keys])
    events, member = events[member.any(axis=1)], member[member.any(axis=1)]
    classes, cls = np.unique(member, axis=0, return_inverse=True)
    events = events.assign(cls=cls)
    gridded = classes[:, 0]
    events.loc[~gridded[events["cls"]], "cell500"] = None
    geo = ["buurt", "wijk", *TYPES, "cell500"]
    places = pd.concat([places, events[geo]])
    atoms = pd.concat([(places if gridded[c] else places.assign(cell500=None))
                       .drop_duplicates().assign(cls=c) for c in range(len(classes))],
                      ignore_index=True)
    geo = ["cls", *geo]
    counts = events.groupby(geo, dropna=False).size().rename("n").reset_index()
    atoms = atoms.astype(object).where(atoms.notna(), None)
    counts = counts.astype(object).where(counts.notna(), None)
    atoms = atoms.merge(counts, on=geo, how="left").fillna({"n": 0})
    rows, cols, cells = [], [], []
    for s, key in enumerate(keys):
        part = atoms[atoms["cls"].isin(np.flatnonzero(classes[:, s]))]
        everywhere = pd.Series("alle", index=part.index)
        groupings = {"buurt": part["buurt"], "wijk": part["wijk"], "gemeente": everywhere,
                     **{t: part[t] for t in TYPES},
                     **{TOTAL[t]: everywhere.where(part[t].notna()) for t in TYPES},
                     "raster500": part["cell500"] if key == GRID_SERIES else part["cell500"][:0]}
        for grouping, found in groupings.items():
            codes = found.dropna()
            for code, members in codes.groupby(codes).groups.items():
                rows += [len(cells)] * len(members)
                cols += list(members)
                cells.append((key, grouping, code))
    matrix = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(cells), len(atoms)))
    # atoms in exactly the same cells are one unknown to the attacker
    patterns, which = np.unique(matrix.T.toarray().astype(bool), axis=0, return_inverse=True)
    counts = np.bincount(which, weights=atoms["n"].to_numpy(float), minlength=len(patterns))
    matrix = sparse.csr_matrix(patterns.T.astype(float))
    values = matrix @ counts
    shown = np.array([c in published["shown"] for c in cells])
    return {"matrix": matrix, "atoms": counts, "values": values, "shown": shown, "cells": cells}


def _narrowed(matrix: sparse.csr_matrix, atoms: np.ndarray, shown: np.ndarray,
              cells: np.ndarray) -> list[tuple[int, float]]:
    """The (cell, end) pairs of [0, 4] the attacker can rule out. Each end is first tried
    moving only the atoms near the cell (those of cells sharing an atom with it, leaving out
    the widest), then moving all atoms."""
    attacker = Attacker(matrix, atoms, shown, MIN)
    width = np.diff(matrix.indptr)

    def near(cell: int) -> np.ndarray:
        own = matrix.indices[matrix.indptr[cell]:matrix.indptr[cell + 1]]
        touching = np.unique(attacker.columns[:, own].indices)
        return np.unique(np.concatenate([own, matrix[touching[width[touching] <= 400]].indices]))
    return attacker.narrowed(cells, near)


def test_the_attacker_model_agrees_with_the_store(demo_run, model):
    """The attacker's cells count what the indicator values count (else the audit is void)."""
    index = {c: i for i, c in enumerate(model["cells"])}
    catalogue = {i.id: i for i in demo_run.project.catalogue()}
    with demo_run.project.store(read_only=True) as store:
        values = store.query("SELECT * FROM indicator_values WHERE period = ?",
                             [str(demo_run.period)])
    checked = 0
    for row in values.itertuples():
        indicator = catalogue[row.indicator]
        if indicator.numerator.kind != "events":
            continue
        key = json.dumps({**indicator.numerator.params["events"], "window": indicator.window})
        cell = index.get((key, row.level, row.area_code))
        assert (model["values"][cell] if cell is not None else 0) == row.numerator
        checked += 1
    assert checked > 500


def test_no_hidden_small_count_is_narrowed_below_its_label(model):
    """wijk − buurten, gemeente − wijken, rates × public denominators, analysis areas across
    buurten, grid cells across areas, all at once: for every hidden count below 5 that shares
    events with a shown count, tables the attacker cannot rule out put it at 0 and at 4, so it is
    neither recovered nor narrowed (the feasible values of a cell form an interval)."""
    matrix, shown = model["matrix"], model["shown"]
    # the small counts a shown count reaches: those sharing an atom with one
    near_shown = (matrix @ (matrix[shown].sum(axis=0).A1 > 0)) > 0
    hidden_small = np.flatnonzero(~shown & (model["values"] < MIN) & near_shown)
    assert len(hidden_small) > 100
    ruled_out = _narrowed(matrix, model["atoms"], shown, hidden_small)
    assert [(model["cells"][c], end) for c, end in ruled_out] == []


def test_shown_counts_are_consistent_and_not_small(model):
    assert model["shown"].sum() > 100
    assert (model["values"][model["shown"]] >= MIN).all()


def test_the_target_list_adds_no_register_count(published):
    """Establishments per cell are public; controles show only as the area's protected rate."""
    targets = published["targets"]
    assert "Aantal vestigingen" in targets.columns
    assert not [c for c in targets.columns if "controles" in c.lower() and "%" not in c]
    assert targets["Aantal vestigingen"].str.fullmatch(r"\d+").all()


def test_formula_payloads_in_area_names_give_no_formula(project_copy, demo_run):
    payload = '=HYPERLINK("http://x","klik")'
    with project_copy.store() as store:
        store.con.execute("UPDATE areas SET name = ? WHERE level IN (SELECT unnest(?))",
                          [payload, ["buurt", *TYPES]])
        store.con.execute("UPDATE areas SET name = ? WHERE level = 'wijk'", ["@SUM(1+1)"])
    with project_copy.quarter_output(demo_run.period) as q:
        paths = write_tables(q)
        paths.update(write_targets(q, 40, exclude_recent=0))
    formulas = starting = 0
    for path in paths.values():
        if path.suffix == ".xlsx":
            book = load_workbook(path)
            formulas += sum(cell.data_type == "f" for sheet in book.worksheets
                            for row in sheet.iter_rows() for cell in row)
            numbers = [cell.value for sheet in book.worksheets for row in sheet.iter_rows()
                       for cell in row if cell.column_letter == "B" and cell.row > 1]
            assert any(isinstance(v, int) for v in numbers)  # ranks stay numbers
        if path.suffix == ".csv":
            table = pd.read_csv(path, sep=";", dtype=str, encoding="utf-8-sig",
                                keep_default_na=False)
            cells = table.to_numpy().ravel().tolist() + list(table.columns)
            starting += sum(str(v).startswith(("=", "+", "@", "\t", "\r")) for v in cells)
            if path.name != "bronnen.csv":  # the lineage names files, not areas
                assert any(str(v).startswith("'=HYPERLINK") for v in cells), path.name
    assert formulas == 0 and starting == 0


def test_a_copy_of_the_store_links_few_events_to_one_address(demo_run):
    """With the public BAG (addresses with gebruiksdoel, oppervlakte, coordinates) and KvK, the
    attacker narrows each register event to the addresses that fit everything the store keeps
    about it; at most 5 % of events may end with exactly one."""
    root = demo_run.project.root
    bag = pd.read_csv(root / "sources" / "bagadres-full.csv", sep=";", dtype=str)  # NLExtract
    bag = bag.rename(columns={"verblijfsobjectgebruiksdoel": "gebruiksdoel"})
    x, y = bag["x"].astype(float).to_numpy(), bag["y"].astype(float).to_numpy()
    bag["cell100"], bag["cell500"] = cell_codes(x, y, 100), cell_codes(x, y, 500)
    kvk = pd.read_csv(root / "sources" / "kvk_vestigingen.csv", sep=";", dtype=str,
                      encoding="cp1252")
    with demo_run.project.store(read_only=True) as store:
        events = store.query(f"SELECT *, {AREA_COLUMNS} FROM events")
        addresses = store.query("SELECT * FROM addresses")
        areas = store.areas()
    points = gpd.GeoDataFrame(bag, geometry=gpd.points_from_xy(x, y), crs=areas.crs)
    for level in ("buurt", *TYPES):
        found = gpd.sjoin(points, areas[areas["level"] == level][["code", "geometry"]],
                          predicate="within")
        bag[level] = found[~found.index.duplicated()]["code"]
    bag["object"] = np.where(bag["gebruiksdoel"] == "woonfunctie", "woning", "bedrijfspand")
    kx, ky = (kvk[c].str.replace(",", ".").astype(float).to_numpy() for c in ("X RD", "Y RD"))
    kvk["cell100"], kvk["cell500"] = cell_codes(kx, ky, 100), cell_codes(kx, ky, 500)
    kvk["branch"] = branch_of(clean_codes(kvk["SBI hoofdactiviteit"]), 2025)
    kvk_points = gpd.GeoDataFrame(kvk, geometry=gpd.points_from_xy(kx, ky), crs=areas.crs)
    for level in ("buurt", *TYPES):
        found = gpd.sjoin(kvk_points, areas[areas["level"] == level][["code", "geometry"]],
                          predicate="within")
        kvk[level] = found[~found.index.duplicated()]["code"]
    kept = [c for c in ("buurt", *TYPES, "cell100", "cell500")
            if events[c].notna().any()]
    assert "cell100" not in kept and events["address"].isna().all()
    assert set(addresses.columns) & {"floor_area", "oppervlakte"} == set()
    assert addresses["cell100"].isna().all() and set(addresses["use"]) <= {"woonfunctie", "overig"}
    # each event against the pool that fits it, on what the store keeps of it: the number of
    # candidates is the size of its group among the pool's rows with those values
    controle = (events["kind"] == "controles") & events["branch"].map(_text)
    known = {c: events[c].map(_text) for c in [*kept, "object"]}
    single = 0
    for (is_controle, *present, has_object), group in events.groupby(
            [controle, *known.values()], sort=False):
        pool = kvk if is_controle else bag
        where = [c for c, there in zip(kept, present, strict=True) if there]
        where += ["branch"] if is_controle else ["object"] if has_object else []
        if not where:
            single += len(group) * (len(pool) == 1)
            continue
        sizes = pool.groupby(where).size().rename("candidates")
        found = group[where].merge(sizes, left_on=where, right_index=True, how="left")
        single += int(found["candidates"].eq(1).sum())
    assert single <= 0.05 * len(events), f"{single} of {len(events)} events tied to one address"


def _text(value: object) -> bool:
    return isinstance(value, str)


def test_store_and_key_are_readable_by_their_owner_only(demo_run):
    root = demo_run.project.root
    assert (root / "riskmap.duckdb").stat().st_mode & 0o777 == 0o600
    assert (root / "riskmap.key").stat().st_mode & 0o777 == 0o600



def test_the_api_returns_protected_values_and_logs_raw_access(project_copy, demo_run):
    values = project_copy.indicator_values(demo_run.period, "buurt")
    hidden = values[values["suppressed"]]
    assert len(hidden) > 100 and hidden["value"].isna().all()
    assert hidden.loc[hidden["reason"] == "klein aantal", "numerator"].isna().all()
    raw = project_copy.indicator_values(demo_run.period, "buurt", raw=True)
    small = raw[raw["reason"] == "klein aantal"]
    assert small["numerator"].between(0, 4).all() and small["numerator"].notna().all()
    assert "indicator_values" in (project_copy.root / "logs" / "ruwe-waarden.log").read_text()
    with pytest.raises(PrivacyError, match=r"raw=True"):
        project_copy.grid(500, kinds=["controles"])


def test_drivers_never_name_a_hidden_value(demo_run):
    with demo_run.project.store(read_only=True) as store:
        scores = store.query("SELECT area_code, drivers FROM scores WHERE period = ? AND theme = "
                             "'totaal'", [str(demo_run.period)])
        hidden = store.query("SELECT area_code, indicator FROM indicator_values WHERE period = ? "
                             "AND reason IN (SELECT unnest(?))",
                             [str(demo_run.period), list(PRIVACY_REASONS)])
    by_area = hidden.groupby("area_code")["indicator"].apply(set)
    named = [(a, set(json.loads(d)) & by_area.get(a, set())) for a, d in
             zip(scores["area_code"], scores["drivers"], strict=True) if isinstance(d, str)]
    assert len(named) > 50 and [n for n in named if n[1]] == []
