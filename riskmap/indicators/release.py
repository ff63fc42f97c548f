"""What a quarter publishes from the municipality's registers, protected as a whole.

Every sensitive count an output shows, or lets an attacker compute (a rate times its public
denominator, an index times the gemeente's total), is a *cell*: a series of register events
(kind, filters, window) counted over one grouping — buurt, wijk, gemeente, an analysis area of
each type (bedrijventerrein, vakantiepark, ...: :mod:`riskmap.areatypes`), all areas of a type
together, or a 500 m grid cell. Cells are sums of *atoms* (an event class in one buurt × analysis
area of every type × grid cell), which gives every linear relation between them: buurt ⊂ wijk ⊂
gemeente, analysis areas across buurten (and across each other), grid cells across areas. The
target list shows the controles of an area through its indicator value (already a cell here),
not per branch.

Primary rules (:mod:`riskmap.indicators.privacy`): a count below the minimum, or one about a
group of fewer than the minimum establishments or addresses, is hidden. Complementary cells
are then hidden by :func:`riskmap.indicators.protection.complementary_suppression`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, partial
from itertools import pairwise
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy import sparse

from riskmap.areatypes import AREA_COLUMN, analysis_levels, area_sql, area_types
from riskmap.config import GRID_KINDS
from riskmap.fmt import integer
from riskmap.indicators.catalogue import Indicator
from riskmap.indicators.privacy import PROTECTION, SMALL_COUNT, SMALL_GROUP, threshold
from riskmap.indicators.protection import complementary_suppression, screened_apart
from riskmap.indicators.signals import DEFAULT_WINDOW, FILTERS
from riskmap.periods import Period
from riskmap.sources._io import arrow_strings, first_appearance
from riskmap.store import Store

log = logging.getLogger(__name__)

UNPUBLISHED = "niet gepubliceerd"
GRID_SIZE = 500
# The total each level's cells add up to (an analysis-area type: all its areas together).
TOTALS = {"buurt": "gemeente", "wijk": "gemeente",
          **{t.key: t.source for t in area_types().values()}}
# Hiding a wide cell costs more information than hiding a narrow one.
COSTS = {"buurt": 1.0, "raster500": 1.0, "wijk": 4.0, "gemeente": 50.0,
         **{t.key: 1.0 for t in area_types().values()},
         **{t.source: 50.0 for t in area_types().values()}}
AREA_LEVELS = ("buurt", "wijk", *analysis_levels())
CELL_COLUMNS = ["series", "grouping", "area_code", "shown", "reason"]


def series_key(spec: Mapping[str, Any], window: int | None) -> str:
    """A stable name for a series of register events: its filters and window."""
    return json.dumps({"events": dict(spec), "window": window or DEFAULT_WINDOW}, sort_keys=True)


GRID = series_key({"kind": list(GRID_KINDS)}, 12)


@dataclass
class Release:
    """The cells of a quarter's release and what is shown of them.

    ``cells`` has :data:`CELL_COLUMNS` plus ``value`` (the true count, kept in memory only).
    """

    cells: pd.DataFrame

    def status(self, series: str, grouping: str) -> pd.DataFrame:
        """The cells of one series and grouping."""
        return self.cells[(self.cells["series"] == series) & (self.cells["grouping"] == grouping)]


def indicator_series(indicator: Indicator) -> list[str]:
    """The event series an indicator's value reveals (numerator, and a sensitive denominator)."""
    measures = [indicator.numerator, indicator.denominator]
    return [series_key(m.params["events"], indicator.window) for m in measures
            if m is not None and m.kind == "events"]


def _groupings(catalogue: Sequence[Indicator], levels: Sequence[str]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {GRID: {"raster500"}}
    for indicator in catalogue:
        for key in indicator_series(indicator):
            for level in set(indicator.levels) & set(levels):
                out.setdefault(key, set()).update({level, TOTALS[level]})
    return out


def _mask(events: pd.DataFrame, key: str, period: Period,
          coded: dict[str, tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """The events of a series (``key``) in its window before the end of ``period`` (``coded``:
    the columns' codes and distinct values, filled as they are asked for)."""
    spec = json.loads(key)
    first, end = period.window(spec["window"])
    mask = ((events["date"] >= pd.Timestamp(first)) & (events["date"] <= pd.Timestamp(end))) \
        .to_numpy(bool, copy=True)
    kinds = spec["events"]["kind"]
    mask &= _among(events, "kind", kinds if isinstance(kinds, list) else [kinds], coded)
    for column in FILTERS:
        if spec["events"].get(column):
            mask &= _among(events, column, [str(v) for v in spec["events"][column]], coded)
    return mask


def _among(events: pd.DataFrame, column: str, values: list[str],
           coded: dict[str, tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """``events[column].isin(values)``, looked up among the column's distinct values (coded
    once per column: pandas' ``isin`` on Arrow-backed text looks up each row's value)."""
    if column not in coded:
        codes, distinct = pd.factorize(events[column])  # missing: -1
        coded[column] = codes, np.asarray(distinct, dtype=object)
    codes, distinct = coded[column]
    return np.append(np.isin(distinct, values), False)[codes]


@dataclass
class _Atoms:
    """Atoms (event class × place) with their counts, class by class. A class of the grid
    series has an atom per place with a 500 m cell, any other class one per place without it;
    both kinds of place are rows of ``places``. So a column of the atoms is read from
    ``places`` (thousands of rows), not from an atoms × columns frame (2.5 million rows
    nationally)."""

    places: pd.DataFrame  # buurt, wijk, the analysis areas and the cell of each place
    cls: np.ndarray  # class per atom
    row: np.ndarray  # place per atom
    count: np.ndarray

    def codes(self, grouping: str, gemeente: str) -> tuple[np.ndarray, np.ndarray]:
        """Per atom, the code of its cell in ``grouping`` (-1: in none), and the cells by
        code, sorted."""
        # numbered by Arrow's hash table, then in the order of the sorted codes
        encoded = pc.dictionary_encode(arrow_strings(_cell_keys(self.places, grouping, gemeente)))
        order = pc.sort_indices(encoded.dictionary).to_numpy()
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        codes = np.append(rank, -1)[encoded.indices.fill_null(len(order)).to_numpy()]
        return codes[self.row], np.array(encoded.dictionary.take(order).to_pylist(), dtype=object)


def _typed() -> str:
    """One column per analysis-area type (the first code of that type in the point's list); in
    a fixed order, so the suppression's ties fall the same way."""
    return ", ".join(f"{area_sql(t)} AS {t}" for t in analysis_levels())


def _address_places(store: Store) -> pd.DataFrame:
    """The places (buurt, wijk, analysis areas, 500 m cell) of the BAG addresses, in order, with
    their number of addresses (``n``)."""
    return store.side_query(
        f"SELECT buurt, wijk, {_typed()}, cell500, n FROM (SELECT buurt, wijk, {AREA_COLUMN}, "
        f"cell500, count(*) AS n FROM addresses GROUP BY ALL) ORDER BY buurt, wijk, "
        f"{AREA_COLUMN}, cell500")


def _atoms(store: Store, period: Period, keys: list[str],
           addressed: Callable[[], pd.DataFrame]) -> tuple[_Atoms, np.ndarray]:
    """Atoms (event class × buurt × analysis areas × grid cell) with their counts, and the
    classes × series membership. Every place of a BAG address in a buurt (``addressed()``)
    gets atoms, also empty ones."""
    longest = max(json.loads(k)["window"] for k in keys)
    first, end = period.window(longest)
    types = list(analysis_levels())
    typed = _typed()
    events = store.side_query(
        f"SELECT kind, date, category, branch, outcome, source, object, buurt, wijk, cell500, "
        f"{typed} FROM events WHERE date BETWEEN ? AND ? AND buurt IS NOT NULL ORDER BY kind, "
        f"date, category, branch, outcome, source, object, buurt, wijk, {AREA_COLUMN}, cell500",
        [first, end])
    events["date"] = pd.to_datetime(events["date"])  # compared as datetimes, not date objects
    coded: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    masks = np.column_stack([_mask(events, k, period, coded) for k in keys]) if len(events) \
        else np.zeros((0, len(keys)), dtype=bool)
    used = masks.any(axis=1)
    events, masks = events[used].reset_index(drop=True), masks[used]
    classes, events["cls"] = _classes(masks)
    gridded = classes[:, keys.index(GRID)]
    geo = ["buurt", "wijk", *types, "cell500"]
    places = addressed()
    places = pd.concat([places.loc[places["buurt"].notna(), geo], events[geo]]).drop_duplicates()
    ungridded = places.assign(cell500=None).drop_duplicates()
    events.loc[~gridded[events["cls"]], "cell500"] = None
    # a number per place (missing values alike, as a merge matches them); an atom's is its
    # place's and its class's
    place, plain, where = _joint_keys(places[geo], ungridded[geo], events[geo])
    width = max((int(k.max()) for k in (place, plain, where) if len(k)), default=0) + 1
    sizes = [len(places) if gridded[cls] else len(ungridded) for cls in range(len(classes))]
    row = np.concatenate([np.arange(size) + (0 if gridded[cls] else len(places))
                          for cls, size in enumerate(sizes)] or [np.zeros(0, int)])
    keys_of_atoms = np.concatenate([(place if gridded[cls] else plain) + cls * width
                                    for cls in range(len(classes))] or [np.zeros(0, int)])
    counts = pd.Series(events["cls"].to_numpy(int) * width + where).value_counts()
    atoms = _Atoms(pd.concat([places[geo], ungridded[geo]], ignore_index=True),
                   np.repeat(np.arange(len(classes)), sizes), row,
                   counts.reindex(keys_of_atoms).fillna(0).to_numpy())
    return atoms, classes


def _classes(masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of a boolean matrix in ascending order (as ``np.unique(axis=0)``) and
    each row's index among them: rows packed into bytes, compared as big-endian numbers."""
    if not len(masks):
        return np.zeros((0, masks.shape[1]), dtype=bool), np.zeros(0, dtype=int)
    packed = np.packbits(masks, axis=1)  # the first column in the highest bit
    keys = np.zeros(len(masks), dtype=object) if packed.shape[1] > 8 else \
        np.zeros(len(masks), dtype=np.uint64)
    for byte in packed.T:
        keys = keys * 256 + byte.astype(keys.dtype)
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    return masks[first], inverse.ravel()


def _joint_keys(*frames: pd.DataFrame) -> list[np.ndarray]:
    """One integer per row of each frame (all with the same columns), equal where the rows are
    equal, also across frames (missing values equal to each other); below the number of rows."""
    sizes = np.cumsum([0, *map(len, frames)])
    keys = np.zeros(sizes[-1], dtype=np.int64)
    for column in frames[0].columns:
        # the text of every frame as one Arrow array, numbered by Arrow's hash table (missing
        # values numbered too); a Python object per value cost three times as much
        encoded = pc.dictionary_encode(pa.concat_arrays(
            [arrow_strings(frame[column]) for frame in frames]), null_encoding="encode")
        codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        keys = pd.factorize(keys * len(encoded.dictionary) + codes)[0]
    return [keys[a:b] for a, b in pairwise(sizes)]


def _cell_keys(places: pd.DataFrame, grouping: str, gemeente: str) -> pd.Series:
    """The cell of each place in ``grouping``."""
    if grouping in AREA_LEVELS:
        return places[grouping]
    if grouping == "gemeente":
        return pd.Series(gemeente, index=places.index)
    for area_type in area_types().values():
        if grouping == area_type.source:
            return pd.Series("alle", index=places.index).where(places[area_type.key].notna())
    return places["cell500"]


def release_cells(store: Store, period: Period, catalogue: Sequence[Indicator],
                  levels: Sequence[str], gemeente: str,
                  addressed: Callable[[], pd.DataFrame]
                  ) -> tuple[pd.DataFrame, sparse.csr_matrix, np.ndarray]:
    """Every sensitive cell of the quarter, the cells × atoms matrix and the atom counts (the
    places of the BAG addresses: :func:`_address_places`, asked for once the events are
    read)."""
    groupings = _groupings(catalogue, levels)
    keys = list(groupings)
    atoms, classes = _atoms(store, period, keys, addressed)
    # the atoms come class by class: a series' atoms are the ranges of its classes
    per_class = np.bincount(atoms.cls, minlength=len(classes))
    ends = np.cumsum(per_class)
    coded: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # per grouping: atoms' cells, by code
    cols: list[np.ndarray] = []
    sizes: list[np.ndarray] = []  # entries per cell
    meta: list[np.ndarray] = []
    for s, key in enumerate(keys):
        ranges = [np.arange(ends[c] - per_class[c], ends[c]) for c in np.flatnonzero(classes[:, s])]
        series = np.concatenate(ranges) if ranges else np.zeros(0, int)
        for grouping in sorted(groupings[key]):
            if grouping not in coded:
                coded[grouping] = atoms.codes(grouping, gemeente)
            codes, names = coded[grouping]
            which = series[codes[series] >= 0]  # ascending
            used = np.bincount(codes[which], minlength=len(names))
            present = np.flatnonzero(used)  # the cells of this series, still by code
            # the entries cell by cell (a stable sort keeps each cell's atoms ascending)
            cols.append(which[np.argsort(codes[which], kind="stable")])
            sizes.append(used[present])
            meta.append(np.column_stack([np.full(len(present), key, dtype=object),
                                         np.full(len(present), grouping, dtype=object),
                                         names[present]]))
    col = np.concatenate(cols) if cols else np.zeros(0, int)
    indptr = np.concatenate([[0], np.cumsum(np.concatenate(sizes) if sizes else [])])
    table = np.concatenate(meta) if meta else np.zeros((0, 3), dtype=object)
    # sorted and without duplicates, as scipy makes it from (row, column) pairs
    matrix = sparse.csr_matrix((np.ones(len(col)), col, indptr.astype(np.int64)),
                               shape=(len(table), len(atoms.count)))
    matrix.has_sorted_indices = True
    cells = pd.DataFrame(table, columns=["series", "grouping", "area_code"])
    return cells, matrix, atoms.count.astype(float)


def _merge_identical_atoms(matrix: sparse.csr_matrix,
                           counts: np.ndarray) -> tuple[sparse.csc_matrix, np.ndarray]:
    """Atoms in exactly the same cells are one atom to an attacker: add them up (each group
    where its first atom stands; atoms in no cell left out). The matrix comes back in
    compressed-column form, as the suppression reads it first.

    Atoms are grouped by a key of their number of cells and two sums of random 64-bit weights
    of those cells, then every atom's cells are compared with its group's first: atoms that
    only share the key are told apart exactly.
    """
    columns = matrix.tocsc()
    columns.sort_indices()
    indptr, indices = columns.indptr, columns.indices
    lengths = np.diff(indptr)
    keep = np.flatnonzero(lengths > 0)
    weights = np.random.default_rng(0).integers(0, 2**63, size=(2, matrix.shape[0]),
                                                dtype=np.uint64)
    starts = indptr[keep]
    sums = [np.add.reduceat(w[indices], starts) if len(keep) else np.zeros(0, np.uint64)
            for w in weights]  # wrapping sums; a column's entries end where the next kept starts
    group = pd.factorize(_atom_keys(lengths[keep], sums))[0]  # in order of first appearance
    first = keep[first_appearance(group)]  # each group's first atom
    # an atom that is not its group's first is compared with that one
    later = np.flatnonzero(keep != first[group])
    same = lengths[keep[later]] == lengths[first[group[later]]]
    same[same] = _same_cells(indptr, indices, keep[later[same]], first[group[later[same]]])
    slots = group  # numbered in order of first appearance
    if not same.all():  # equal keys, other cells: told apart by their cells
        labels: list[Any] = group.tolist()
        for i in later[~same]:
            j = keep[i]
            labels[i] = (labels[i], indices[indptr[j]:indptr[j + 1]].tobytes())
        slots = pd.factorize(pd.Series(labels, dtype=object).to_numpy())[0]
    merged = np.bincount(slots, weights=counts[keep]) if len(keep) else np.zeros(0)
    first = keep[first_appearance(slots)]
    return columns[:, first], merged


def _atom_keys(lengths: np.ndarray, sums: list[np.ndarray]) -> np.ndarray:
    """One number of an atom's number of cells and its two weighted sums: equal for atoms in
    the same cells (others that share it are told apart by their cells)."""
    return sums[0] ^ (sums[1] * np.uint64(0x9E3779B97F4A7C15)) ^ lengths.astype(np.uint64)


def _same_cells(indptr: np.ndarray, indices: np.ndarray, columns: np.ndarray,
                others: np.ndarray) -> np.ndarray:
    """Per column of ``columns``: whether its entries are those of the column in ``others``
    (of the same length)."""
    lengths = indptr[columns + 1] - indptr[columns]
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    equal = indices[np.repeat(indptr[columns], lengths) + offsets] == \
        indices[np.repeat(indptr[others], lengths) + offsets]
    return np.logical_and.reduceat(equal, np.cumsum(lengths) - lengths) if len(columns) \
        else np.zeros(0, dtype=bool)


def _group_sizes(places: pd.DataFrame) -> pd.DataFrame:
    """The BAG addresses per area and 500 m cell (``grouping, area_code, n``), from their
    places (:func:`_address_places`)."""
    columns = [(level, level) for level in AREA_LEVELS] + [("raster500", "cell500")]
    return pd.concat([places.groupby(column)["n"].sum().rename_axis("area_code").reset_index()
                      .assign(grouping=grouping) for grouping, column in columns]
                     ).drop_duplicates(["grouping", "area_code"], keep="last")


def _groups(sizes: pd.DataFrame, cells: pd.DataFrame) -> np.ndarray:
    """The size of the group each cell describes: the BAG addresses in its area or grid cell
    (``sizes``: :func:`_group_sizes`)."""
    found = cells[["grouping", "area_code"]].merge(sizes, how="left", on=["grouping",
                                                                           "area_code"])
    return found["n"].to_numpy(float, na_value=np.inf)


def _released(cells: pd.DataFrame, values: Mapping[str, pd.DataFrame],
              catalogue: Sequence[Indicator]) -> np.ndarray:
    """Cells an output shows or lets compute: a level cell when a value from it is shown
    (not hidden for a small denominator); totals (through the indices) and grid cells always."""
    series = {i.id: indicator_series(i) for i in catalogue}
    # per series and level, the areas with a value shown from it (looked up by a hash table of
    # Python strings: pandas' Arrow strings convert the values one by one, ten times slower)
    seen: dict[tuple[str, str], list[np.ndarray]] = {}
    for level, frame in values.items():
        shown = frame.loc[frame["reason"].isna() | (frame["reason"] == SMALL_COUNT),
                          ["indicator", "area_code"]]
        for indicator, codes in shown.groupby("indicator", sort=False)["area_code"]:
            for key in series.get(str(indicator), ()):
                seen.setdefault((key, level), []).append(codes.to_numpy(object))
    released = ~cells["grouping"].isin(list(AREA_LEVELS)).to_numpy()
    areas = cells["area_code"].to_numpy(object)
    for (key, grouping), rows in cells.groupby(["series", "grouping"], sort=False).indices.items():
        if grouping in AREA_LEVELS and (key, grouping) in seen:
            released[rows] = pd.Index(areas[rows], dtype=object).isin(
                np.concatenate(seen[(key, grouping)]))
    return released


class ReadRelease(NamedTuple):
    """A quarter's release as read from the store (:func:`read_release`)."""

    levels: list[str]
    cells: pd.DataFrame
    matrix: sparse.csr_matrix
    counts: np.ndarray
    places: pd.DataFrame


def read_release(store: Store, period: Period, catalogue: Sequence[Indicator],
                 levels: Sequence[str], gemeente: str) -> ReadRelease:
    """The cells, matrix and atom counts of a quarter's release (:func:`release_cells`) and the
    places of the BAG addresses (:func:`_address_places`), for the indicators of ``levels``.
    Every query runs on a cursor of its own: a thread may read the release while the store's
    connection runs other queries."""
    places = cache(partial(_address_places, store))  # read once the atoms need them
    cells, matrix, counts = release_cells(store, period, catalogue, levels, gemeente, places)
    return ReadRelease(list(levels), cells, matrix, counts, places())


class ReleaseInputs(NamedTuple):
    """A quarter's release before its complementary suppression (:func:`release_inputs`)."""

    period: Period
    cells: pd.DataFrame
    matrix: sparse.csc_matrix
    counts: np.ndarray
    small: np.ndarray
    small_group: np.ndarray
    released: np.ndarray
    cost: np.ndarray
    min_count: int

    @property
    def primary(self) -> np.ndarray:
        """The cells the primary rules hide: a small count or a small group."""
        return self.small | self.small_group


def release_inputs(store: Store, period: Period, catalogue: Sequence[Indicator],
                   values: Mapping[str, pd.DataFrame], gemeente: str, min_count: int,
                   read: ReadRelease | None = None) -> ReleaseInputs:
    """The cells of a quarter's release, its atoms, and what the primary rules hide (then
    :func:`protected` adds the complementary suppression); ``read`` is the release read
    already (:func:`read_release`), used when read for the levels of ``values``."""
    m = threshold(min_count)
    if read is None or read.levels != list(values):
        read = read_release(store, period, catalogue, list(values), gemeente)
    cells = read.cells.copy()
    matrix, counts = _merge_identical_atoms(read.matrix, read.counts)
    cells["value"] = np.asarray(matrix @ counts)
    small_group = _groups(_group_sizes(read.places), cells) < m
    small = cells["value"].to_numpy() < m
    released = _released(cells, values, catalogue)
    cost = cells["grouping"].map(COSTS).to_numpy(float)
    return ReleaseInputs(period, cells, matrix, counts, small, small_group, released, cost, m)


def protected(inputs: ReleaseInputs) -> Release:
    """The release with its complementary suppression (on every core where it may fork)."""
    cells, small, small_group, released = inputs.cells, inputs.small, inputs.small_group, \
        inputs.released
    primary = inputs.primary
    secondary = complementary_suppression(inputs.matrix, inputs.counts, primary, released,
                                          inputs.cost, inputs.min_count)
    cells["shown"] = released & ~primary & ~secondary
    reasons = np.select([~released, small, small_group, secondary],
                        [UNPUBLISHED, SMALL_COUNT, SMALL_GROUP, PROTECTION], "")
    cells["reason"] = pd.Series(reasons, index=cells.index).replace("", None)
    log.info("privacy %s: van %s tellingen uit eigen registers %s niet getoond (klein aantal of "
             "kleine groep) en %s ter bescherming tegen terugrekenen", inputs.period,
             integer(released.sum()), integer((primary & released).sum()),
             integer(secondary.sum()))
    return Release(cells)


def protected_here(inputs: ReleaseInputs) -> bool:
    """Whether :func:`protected` works in this process alone (its suppression screens the small
    counts here): it can then run beside other work that holds the other cores."""
    return not screened_apart(inputs.primary)


def apply_to_values(values: pd.DataFrame, release: Release,
                    catalogue: Sequence[Indicator]) -> pd.DataFrame:
    """Indicator values hidden where a cell they reveal is hidden (reason of that cell; of the
    first such cell in the order of its series, preferring a small count or group over a
    complement), and their index against the gemeente left out where it would reveal a hidden
    total. A value hidden for another reason than a small count keeps that reason."""
    series = {i.id: indicator_series(i) for i in catalogue}
    cells = release.cells
    totals = cells[cells["grouping"].isin(list(TOTALS.values())) & ~cells["shown"]]
    hidden_totals = set(zip(totals["series"], totals["grouping"], strict=True))
    # the hidden cells' reasons per series and grouping, by area (a hash table of Python
    # strings: pandas' Arrow strings look values up one by one)
    hidden = cells[cells["reason"].notna()]
    reasons = {key: (pd.Index(frame["area_code"].to_numpy(object), dtype=object),
                     frame["reason"].to_numpy(object))
               for key, frame in hidden.drop_duplicates(["series", "grouping", "area_code"])
               .groupby(["series", "grouping"], sort=False)}
    open_ = (values["reason"].isna() | (values["reason"] == SMALL_COUNT)).to_numpy()
    areas = values["area_code"].to_numpy(object)
    no_index = np.zeros(len(values), dtype=bool)
    found = np.full(len(values), None, dtype=object)  # the reason a value is hidden for
    for (indicator, level), group in values.groupby(["indicator", "level"],
                                                    sort=False).indices.items():
        keys = series[indicator]
        no_index[group] = any((key, TOTALS[level]) in hidden_totals for key in keys)
        rows = group[open_[group]]
        # the cells the open values reveal, series by series in order: the first small count
        # or group wins, else the first complement
        for key in keys:
            if (key, level) not in reasons:
                continue
            index, why = reasons[(key, level)]
            at = index.get_indexer(areas[rows])
            reason = np.where(at >= 0, why[at], None)
            now = found[rows]
            take = (at >= 0) & (pd.isna(now) | ((now == PROTECTION) & (reason != PROTECTION)))
            found[rows[take]] = reason[take]
    out = values.copy()
    if no_index.any():
        out.loc[out.index[no_index], "index_gemeente"] = np.nan
    hide = pd.notna(found)
    if hide.any():
        rows = out.index[hide]
        out.loc[rows, "suppressed"] = True
        out.loc[rows, "reason"] = found[hide]
    return out


def loss_summary(cells: pd.DataFrame) -> pd.DataFrame:
    """Per grouping: cells published, hidden as small counts or groups, hidden as complements."""
    published = cells[cells["reason"] != UNPUBLISHED]
    table = pd.crosstab(published["grouping"], published["reason"].fillna("getoond"))
    return table.reindex(columns=["getoond", SMALL_COUNT, SMALL_GROUP, PROTECTION],
                         fill_value=0)
