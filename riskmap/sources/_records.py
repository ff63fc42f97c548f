"""Shared steps of loaders of point records (establishments, addresses, register events)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from riskmap.areatypes import AREA_COLUMN, analysis_levels
from riskmap.config import GRID_KINDS, Config, read_yaml
from riskmap.errors import InputError
from riskmap.fmt import integer
from riskmap.sources._io import (
    duplicated,
    header_of,
    normalise_header,
    read_table,
    refuse_repeated_headers,
)
from riskmap.sources._places import AreaIndex, address_keys, coordinates_from_frame
from riskmap.sources._pseudo import Pseudonymiser, store_key
from riskmap.store import LoadRecord, Store

log = logging.getLogger(__name__)

AREA_COLUMNS = ["buurt", "wijk", AREA_COLUMN, "cell100", "cell500", "x", "y"]
ADDRESS_COLUMNS = ("postcode", "huisnummer")
# the columns :func:`locate` places a row by: coordinates (RD or WGS84) or its address
PLACE_COLUMNS = ("x_rd", "y_rd", "lat", "lon", "postcode", "huisnummer", "huisletter",
                 "toevoeging")


def pseudonymiser(store: Store, config: Config) -> Pseudonymiser:
    """The project's pseudonymiser, with the key the store was made with (see
    :func:`riskmap.sources._pseudo.store_key`)."""
    return Pseudonymiser(store_key(store, config.key_path))


def event_location(areas: pd.DataFrame, kind: str) -> pd.DataFrame:
    """Where an event is, as far as the indicators need it (data minimisation).

    Events keep their areas and, for the kinds the grid counts, their 500 m cell; never their
    address pseudonym or 100 m cell, which single out an address against the public BAG.
    """
    out = areas[AREA_COLUMNS].assign(cell100=None)
    if kind not in GRID_KINDS:
        out["cell500"] = None
    return out


def _mapping(mapping_path: str | Path | None) -> dict[str, str]:
    """A YAML mapping ``{template column: header in the file}`` as normalised renames."""
    if not mapping_path:
        return {}
    path = Path(mapping_path)
    if not path.is_file():
        raise InputError(f"{path}: mappingbestand niet gevonden")
    data = read_yaml(path) or {}
    if not isinstance(data, dict) or not all(isinstance(v, str | int) for v in data.values()):
        raise InputError(f"{path}: een mapping bestaat uit regels 'kolom van het sjabloon: kolom in het "
                         f"bestand'")
    return {normalise_header(source): normalise_header(target) for target, source in data.items()}


def read_mapped(path: Path, mapping_path: str | Path | None,
                used: Callable[[str], bool]) -> pd.DataFrame:
    """A source table with a mapping applied, of the columns a loader uses only: ``used`` says
    which (normalised) headers it reads, the mapping adds its own. Names, streets and the like
    that the loader does not use are never read (see :func:`~riskmap.sources._io.read_table`);
    the whole header is kept in ``attrs["header"]``."""
    renames = _mapping(mapping_path)
    frame = read_table(path, keep=lambda header: [n for n in header if used(n) or n in renames])
    if not renames:
        return frame
    header = header_of(frame)
    missing = [src for src in renames if src not in header]
    if missing:
        raise InputError(f"{mapping_path}: kolom(men) uit de mapping niet in het bestand: "
                         f"{', '.join(missing)}; gevonden: {', '.join(header)}")
    renamed = frame.rename(columns=renames)
    refuse_repeated_headers(list(renamed.columns), Path(str(mapping_path)), "na de mapping ")
    renamed.attrs["header"] = header
    return renamed


def area_index(store: Store, config: Config) -> AreaIndex:
    """An :class:`AreaIndex` over the buurten and each analysis-area type, of their latest
    years."""
    store.require_areas("buurt")
    year = store.scalar("SELECT max(year) FROM areas WHERE level = 'buurt'")
    buurten = store.areas("buurt", year)
    analysis = {key: store.areas(key, store.scalar(
        "SELECT max(year) FROM areas WHERE level = ?", [key])) for key in analysis_levels()}
    return AreaIndex(buurten, analysis, tuple(config["grid.sizes"]),
                     cache=config.path("paths.cache") / "rasters")


def locate(store: Store, config: Config, frame: pd.DataFrame, record: LoadRecord,
           pseudo: Pseudonymiser, sizes: Collection[int] | None = None,
           addresses: Callable[[], pd.Series] | None = None,
           index: AreaIndex | None = None) -> tuple[pd.DataFrame, np.ndarray]:
    """Area codes and address pseudonym of each row, and which rows could be placed (grid
    cells of ``sizes`` only: see :meth:`AreaIndex.assign`; ``index``: the store's
    :func:`area_index`, when the caller made it).

    Rows are placed by coordinates (RD or WGS84, swapped or not); rows without usable
    coordinates are placed by their address in the loaded BAG addresses. Rows that cannot be
    placed, or fall outside the gemeente, are counted as rejected in ``record``. The address
    pseudonyms are made with ``pseudo``, or taken from ``addresses()`` (for the rows of
    ``frame``) once the rows are placed by coordinates.
    """
    placed = coordinates_from_frame(frame)
    for note, count in placed.notes.items():
        if note not in {"geen coördinaten", "ongeldige coördinaten"}:
            log.info("%s: %s regels: %s", record.source, integer(count), note)
    areas, stats = (index or area_index(store, config)).assign(placed.x, placed.y, sizes)
    areas.index = frame.index
    areas["address"] = addresses() if addresses is not None \
        else pseudo.series(address_keys_of(frame), "adres")
    # coordinates outside the Netherlands are wrong, not missing: the row is not placed by address
    outside = placed.outside if placed.outside is not None else np.zeros(len(frame), dtype=bool)
    by_xy = ~np.isnan(placed.x) | outside
    need = ~by_xy & areas["address"].notna().to_numpy()
    found = np.zeros(len(frame), dtype=bool)
    if need.any():
        found = _place_by_address(store, areas, need)
    if config["privacy.keep_coordinates"]:
        areas["x"], areas["y"] = placed.x, placed.y
    else:
        areas["x"], areas["y"] = np.nan, np.nan
    inside = areas["buurt"].notna().to_numpy()
    record.reject("geen coördinaten of bekend BAG-adres", int((~by_xy & ~found).sum()))
    record.reject("coördinaten buiten Nederland", int(outside.sum()))
    record.reject("buiten de gemeente", stats.get("buiten de gemeente", 0))
    if stats.get("in twee buurten (eerste gekozen)"):
        log.info("%s: %s punten in twee buurten (overlap); de eerste is gekozen", record.source,
                 integer(stats["in twee buurten (eerste gekozen)"]))
    return areas, inside


def address_keys_of(frame: pd.DataFrame) -> pd.Series:
    """The address keys of the rows (:func:`address_keys`), missing where a row has none."""
    if not set(ADDRESS_COLUMNS) <= set(frame.columns):
        return pd.Series(None, index=frame.index, dtype="str")
    keys = address_keys(frame)
    return keys.where(keys != "", None)


def _place_by_address(store: Store, areas: pd.DataFrame, need: np.ndarray) -> np.ndarray:
    # joined inside DuckDB: only the wanted addresses leave the store, not the whole BAG
    rows = np.flatnonzero(need)
    wanted = pd.DataFrame({"pos": np.arange(len(rows)),
                           "address": areas["address"].iloc[rows].to_numpy(object)})
    with store.registered("_wanted", wanted):
        hits = store.query(
            "SELECT w.pos, a.rowid AS _row, a.buurt, a.wijk, a.analysis_areas, a.cell100, "
            "a.cell500 FROM _wanted w JOIN addresses a ON a.id = w.address")
    if not hits["pos"].is_unique:  # an address stored twice: its first row (a window in the
        # query cost a third more for the usual unique addresses)
        hits = hits.sort_values(["pos", "_row"], kind="stable").drop_duplicates("pos")
    hits = hits[hits["buurt"].notna()]
    positions = rows[hits["pos"].to_numpy()]
    at = areas.index[positions]
    for column in ("buurt", "wijk", "cell100", "cell500"):
        values = hits[column].to_numpy(object)
        if isinstance(areas[column].dtype, pd.CategoricalDtype):
            areas[column] = _with_codes(areas[column].array, positions, values)
        else:
            areas.loc[at, column] = values
    # DuckDB gives an area list as an array: keep lists, None where the address is in no area
    lists = areas[AREA_COLUMN].to_numpy(dtype=object, copy=True)
    found_lists = np.empty(len(positions), dtype=object)  # filled one by one: lists stay lists
    for i, value in enumerate(hits[AREA_COLUMN]):
        found_lists[i] = list(value) if isinstance(value, list | np.ndarray) else None
    lists[positions] = found_lists
    areas[AREA_COLUMN] = pd.Series(lists, index=areas.index, dtype=object)
    found = np.zeros(len(areas), dtype=bool)
    found[positions] = True
    return found


def _with_codes(codes: pd.Categorical, positions: np.ndarray,
                values: np.ndarray) -> pd.Categorical:
    """``codes`` with the codes ``values`` (text, or None) at ``positions``, added to its
    categories where new (sorted, after the others); the other codes stay integers.

    The few distinct values are looked up among the categories, not the categories hashed to
    look the values up (a KvK extract's 100 m cells are a million categories, of which the rows
    placed by address have a few thousand)."""
    known = codes.categories
    present = np.flatnonzero(pd.notna(values))
    inverse, distinct = pd.factorize(values[present])
    found = _places_among(known, distinct)  # per category: its place among the values
    place = np.full(len(distinct), -1, dtype=np.int64)
    place[found[found >= 0]] = np.flatnonzero(found >= 0)
    new = np.flatnonzero(place < 0)
    order = np.argsort(distinct[new].astype(str), kind="stable")
    place[new[order]] = len(known) + np.arange(len(new))
    categories = known.append(pd.Index(distinct[new[order]])) if len(new) else known
    # the smallest integers that number the categories (the new ones may not fit int8), as
    # pandas would choose them; the codes are valid, so not checked again (ten million rows)
    kind = next(t for t in (np.int8, np.int16, np.int32, np.int64)
                if len(categories) < np.iinfo(t).max)
    numbers = codes.codes.astype(kind)
    numbers[positions] = -1  # missing for None
    numbers[positions[present]] = place[inverse]
    return pd.Categorical.from_codes(numbers, categories=categories, validate=False)


def _places_among(known: pd.Index, distinct: np.ndarray) -> np.ndarray:
    """Each of ``known``'s place among the ``distinct`` values (-1: not among them). Text is
    looked up by Arrow, which hashes the few distinct values and probes the categories without
    a Python object each (a million 100 m cells: 0.13 s by pandas, 0.02 s)."""
    if isinstance(known.dtype, pd.StringDtype) and all(isinstance(v, str) for v in distinct):
        text = pa.array(known.array, type=pa.large_string())
        found = pc.index_in(text, value_set=pa.array(distinct, type=pa.large_string()))
        return found.fill_null(-1).to_numpy().astype(np.int64)
    return pd.Index(distinct).get_indexer(known)


def reject_where(frame: pd.DataFrame, bad: pd.Series | np.ndarray, reason: str,
                 record: LoadRecord) -> pd.DataFrame:
    """Drop rows marked ``bad`` and count them under ``reason``."""
    bad = np.asarray(bad, dtype=bool)
    record.reject(reason, int(bad.sum()))
    return frame.loc[~bad] if bad.any() else frame


def exact_duplicates(frame: pd.DataFrame, key: str,
                     candidates: np.ndarray | None = None) -> np.ndarray:
    """``frame.duplicated()``, looking only among rows whose ``key`` repeats (identical rows
    have equal keys; ``candidates``: those rows, when known), which is much cheaper for
    millions of rows with unique keys."""
    bad = np.zeros(len(frame), dtype=bool)
    if candidates is None:
        candidates = duplicated(frame[key], keep=False)
    if candidates.any():
        bad[candidates] = frame.loc[candidates].duplicated().to_numpy()
    return bad


def drop_duplicates(frame: pd.DataFrame, key: str, record: LoadRecord) -> pd.DataFrame:
    """Drop exact duplicate rows and repeated ids, counting both.

    The rows whose id repeats are found once: every appearance of such an id is among them,
    so which are repeats is told among them alone (a second search of three million ids
    cost 0.4 s).
    """
    candidates = duplicated(frame[key], keep=False)
    exact = exact_duplicates(frame, key, candidates)
    frame = reject_where(frame, exact, "dubbele regel", record)
    candidates = candidates[~exact]
    repeated = np.zeros(len(frame), dtype=bool)
    if candidates.any():
        repeated[candidates] = duplicated(frame[key].iloc[np.flatnonzero(candidates)])
    return reject_where(frame, repeated & frame[key].ne("").to_numpy(), f"dubbel {key}", record)


# Dates that exports write for "unknown": 1900-01-01, and Excel's day 0 (1899-12-30/31).
PLACEHOLDER_DATES = ("1899-12-30", "1899-12-31", "1900-01-01")


def date_window(config: Config, first_key: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The plausible dates: from the date option ``first_key`` up to today plus
    ``plausibility.future_days``."""
    last = pd.Timestamp.today().normalize() + pd.Timedelta(days=config["plausibility.future_days"])
    return pd.Timestamp(config[first_key]), last


def reject_implausible_dates(frame: pd.DataFrame, column: str, dates: pd.Series,
                             window: tuple[pd.Timestamp, pd.Timestamp],
                             record: LoadRecord) -> pd.DataFrame:
    """Drop rows whose ``dates`` are placeholders or outside ``window``, counted by reason."""
    placeholder = dates.isin(pd.to_datetime(list(PLACEHOLDER_DATES)))
    frame = reject_where(frame, placeholder, f"{column} is een opvuldatum", record)
    dates = dates.loc[frame.index]
    first, last = window
    outside = dates.notna() & ((dates < first) | (dates > last))
    return reject_where(frame, outside, f"{column} buiten {first:%Y-%m-%d}..{last:%Y-%m-%d}",
                        record)


def reject_out_of_range(frame: pd.DataFrame, column: str, values: pd.Series, low: float,
                        high: float, record: LoadRecord) -> pd.DataFrame:
    """Drop rows whose numeric ``values`` lie outside ``low``..``high`` (blanks are kept)."""
    outside = values.notna() & ((values < low) | (values > high))
    return reject_where(frame, outside, f"{column} buiten {low:g}..{high:g}", record)


def finish(record: LoadRecord, kept: int, extra: Mapping[str, int] | None = None) -> None:
    """Set the kept count and log extra notes (e.g. repaired codes)."""
    record.rows_kept = kept
    for note, count in (extra or {}).items():
        if count:
            log.info("%s: %s regels: %s", record.source, integer(count), note)
