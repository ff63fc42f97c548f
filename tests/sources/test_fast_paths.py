"""The fast paths of placement and pseudonymisation give exactly what the plain code gives."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from riskmap import _forked
from riskmap._forked import can_fork, cores
from riskmap.sources import _hmac, _io, _places, _pseudo
from riskmap.sources._io import blank, duplicated, duplicated_numbers, parse_numbers
from riskmap.sources._places import (
    AreaIndex,
    PolygonLookup,
    address_keys,
    cell_codes,
    coordinates_from_frame,
    numbers,
)
from riskmap.sources._pseudo import Pseudonymiser
from riskmap.sources._records import _places_among, _with_codes, drop_duplicates
from riskmap.sources.bag import bag_ids, repeated_addresses
from riskmap.sources.kvk import PYTHON_SPACES, _names
from riskmap.store import LoadRecord


def plain_first_hit(geoms: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, int]:
    """The reference: every pair from the STRtree, lowest polygon index first."""
    pairs = shapely.STRtree(geoms).query(shapely.points(x, y), predicate="intersects")
    hit = np.full(len(x), -1)
    order = np.lexsort((pairs[1], pairs[0]))
    point, area = pairs[0][order], pairs[1][order]
    first = np.r_[True, point[1:] != point[:-1]]
    hit[point[first]] = area[first]
    return hit, int((~first).sum())


def hard_points(geoms: np.ndarray, rng: np.random.Generator, n: int) -> tuple[np.ndarray, ...]:
    """Points anywhere around the polygons, on their vertices and edges, and a few NaNs."""
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    x = rng.uniform(minx - 500, maxx + 500, n)
    y = rng.uniform(miny - 500, maxy + 500, n)
    vertices = shapely.get_coordinates(geoms)
    on_vertex = vertices[rng.integers(len(vertices), size=n // 10)]
    rings = shapely.get_parts(shapely.boundary(geoms))
    on_edge = shapely.get_coordinates(shapely.line_interpolate_point(
        rings[rng.integers(len(rings), size=n // 10)], rng.random(n // 10), normalized=True))
    x = np.concatenate([x, on_vertex[:, 0], on_edge[:, 0], [np.nan, 1.0]])
    y = np.concatenate([y, on_vertex[:, 1], on_edge[:, 1], [1.0, np.nan]])
    return x, y


@pytest.mark.parametrize("min_cell", [0.0, _places.RASTER_MIN_CELL])
def test_raster_lookup_matches_strtree_on_overlapping_boxes(monkeypatch: pytest.MonkeyPatch,
                                                            min_cell: float):
    # a world of a few metres: with the default smallest cell every cell is tested exactly,
    # without it the raster also has cells inside one box, inside two, and outside all
    monkeypatch.setattr(_places, "RASTER_MIN_CELL", min_cell)
    monkeypatch.setattr(_places, "_RASTERS", {})
    geoms = np.array([shapely.box(0, 0, 10, 10), shapely.box(8, 0, 20, 10),
                      shapely.box(30, 30, 31, 31), shapely.Polygon([(0, 20), (10, 20), (5, 28)])])
    x, y = hard_points(geoms, np.random.default_rng(3), 20_000)
    # and points off the raster on every side, far off, and on its last row and column
    x = np.concatenate([x, [-1.0, 32.0, 5.0, 5.0, -1e12, 1e12, 31.0, 31.0, 0.0, -0.0]])
    y = np.concatenate([y, [5.0, 5.0, -1.0, 32.0, 1e12, -1e12, 31.0, 0.0, 31.0, 0.0]])
    hit, extra = PolygonLookup(geoms, min_points=0).first_hit(x, y)
    expected, expected_extra = plain_first_hit(geoms, x, y)
    np.testing.assert_array_equal(hit, expected)
    assert extra == expected_extra > 0


def test_raster_cells_of_a_gemeente_are_no_smaller_than_the_minimum():
    # 69 buurten over 12 by 10 km: at most 2**25 cells would make them 2 m (built in 1-2 s);
    # the smallest cell keeps the raster small, and the hits stay those of the STRtree
    rng = np.random.default_rng(5)
    xs, ys = np.meshgrid(np.linspace(180_000, 192_000, 10), np.linspace(440_000, 450_000, 8))
    geoms = shapely.voronoi_polygons(shapely.multipoints(np.column_stack([
        xs.ravel() + rng.uniform(-400, 400, xs.size), ys.ravel() + rng.uniform(-400, 400, xs.size)])),
        extend_to=shapely.box(180_000, 440_000, 192_000, 450_000))
    geoms = shapely.intersection(shapely.get_parts(geoms), shapely.box(180_000, 440_000, 192_000,
                                                                        450_000))
    lookup = PolygonLookup(geoms, min_points=0)
    x, y = hard_points(geoms, rng, 50_000)
    hit, extra = lookup.first_hit(x, y)
    assert lookup._raster is not None and lookup._raster.cell == _places.RASTER_MIN_CELL
    assert lookup._raster.labels.size < 10**6
    expected, expected_extra = plain_first_hit(geoms, x, y)
    np.testing.assert_array_equal(hit, expected)
    assert extra == expected_extra


def test_raster_lookup_matches_strtree_on_nested_polygons(monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path):
    # cells the inner polygons' edges touch lie wholly inside the outer one, whose edges are
    # far away: it must be among their candidates (first when it comes first, else after)
    for outer_first in (True, False):
        inner = [shapely.box(10, 10, 20, 20), shapely.Polygon([(40, 40), (60, 45), (45, 60)])]
        outer = [shapely.box(0, 0, 100, 100).difference(shapely.box(70, 70, 80, 80))]
        geoms = np.array(outer + inner if outer_first else inner + outer)
        x, y = hard_points(geoms, np.random.default_rng(9), 20_000)
        for cache in (None, tmp_path):  # built, then read back from the cache
            monkeypatch.setattr(_places, "_RASTERS", {})
            hit, extra = PolygonLookup(geoms, min_points=0, cache=cache).first_hit(x, y)
            expected, expected_extra = plain_first_hit(geoms, x, y)
            np.testing.assert_array_equal(hit, expected)
            assert extra == expected_extra > 0


def test_first_hits_do_not_depend_on_the_order_the_query_gives_its_pairs(monkeypatch):
    geoms = np.array([shapely.box(0, 0, 10, 10), shapely.box(8, 0, 20, 10),
                      shapely.box(5, 5, 15, 15)])
    x, y = hard_points(geoms, np.random.default_rng(8), 5_000)
    expected = plain_first_hit(geoms, x, y)
    query = _places._query
    monkeypatch.setattr(_places, "_query", lambda tree, points: query(tree, points)[
        :, np.random.default_rng(1).permutation(query(tree, points).shape[1])])
    hit, extra = PolygonLookup(geoms, min_points=10**9).first_hit(x, y)  # no raster
    np.testing.assert_array_equal(hit, expected[0])
    assert extra == expected[1] > 0


def test_threads_never_test_the_same_prepared_polygon(monkeypatch: pytest.MonkeyPatch):
    # a prepared polygon builds its index on first use, which two threads must not do at once
    # (GEOS): the threads that test points get disjoint sets of polygons
    monkeypatch.setattr(_places, "PARALLEL_CHUNK", 1_000)
    monkeypatch.setattr(_places, "EXACT_CHUNK", 2_000)
    monkeypatch.setattr(_places, "_RASTERS", {})
    calls: list[set[int]] = []
    plain = _places._intersects_xy
    monkeypatch.setattr(_places, "_intersects_xy",
                        lambda test: calls.append(set(map(id, test[0]))) or plain(test))
    geoms = shapely.voronoi_polygons(shapely.multipoints(
        np.random.default_rng(1).uniform(0, 1_000, (60, 2))), extend_to=shapely.box(0, 0, 1_000, 1_000))
    geoms = np.asarray(shapely.get_parts(geoms))
    x, y = hard_points(geoms, np.random.default_rng(2), 60_000)
    hit, extra = PolygonLookup(geoms, min_points=0).first_hit(x, y)
    assert len(calls) >= 4  # two chunks or more, two threads each
    for first, second in zip(calls[::2], calls[1::2], strict=True):  # the threads of a chunk
        assert first and second and not first & second
    np.testing.assert_array_equal(hit, plain_first_hit(geoms, x, y)[0])
    assert extra == plain_first_hit(geoms, x, y)[1]


def test_raster_lookup_matches_strtree_on_real_buurten(realdata: Path):
    buurten = gpd.read_file(realdata / "nl_buurten_2014.gpkg")
    geoms = shapely.make_valid(buurten.geometry.values)
    x, y = hard_points(geoms, np.random.default_rng(5), 300_000)
    hit, extra = PolygonLookup(geoms, min_points=0).first_hit(x, y)
    expected, expected_extra = plain_first_hit(geoms, x, y)
    np.testing.assert_array_equal(hit, expected)
    assert extra == expected_extra > 0  # the coarse real buurten overlap
    assert (hit == -1).sum() > 0


def test_area_index_same_with_and_without_raster():
    buurten = gpd.GeoDataFrame({"code": ["BU1", "BU2"], "wijk": ["WK1", "WK1"]},
                               geometry=[shapely.box(0, 0, 10, 10), shapely.box(8, 0, 20, 10)])
    terreinen = gpd.GeoDataFrame({"code": ["BT7"]}, geometry=[shapely.box(15, 0, 20, 5)])
    x, y = hard_points(buurten.geometry.values, np.random.default_rng(1), 5_000)
    fast = AreaIndex(buurten, {"bedrijventerrein": terreinen}, raster_min_points=0).assign(x, y)
    plain = AreaIndex(buurten, {"bedrijventerrein": terreinen}, raster_min_points=10**9).assign(x, y)
    pd.testing.assert_frame_equal(fast[0], plain[0])
    assert fast[1] == plain[1]


def test_raster_built_once_for_the_same_polygons(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(_places, "_RASTERS", {})
    built = []
    plain_built = PolygonLookup._built
    monkeypatch.setattr(PolygonLookup, "_built",
                        lambda self: built.append(1) or plain_built(self))
    geoms = np.array([shapely.box(0, 0, 10, 10), shapely.box(8, 0, 20, 10)])
    moved = np.array([shapely.box(0, 0, 10, 10), shapely.box(12, 0, 20, 10)])
    x, y = hard_points(geoms, np.random.default_rng(4), 5_000)
    first = PolygonLookup(geoms, min_points=0).first_hit(x, y)
    again = PolygonLookup(geoms.copy(), min_points=0).first_hit(x, y)
    other = PolygonLookup(moved, min_points=0).first_hit(x, y)
    assert len(built) == 2  # the same polygons again: no second raster
    np.testing.assert_array_equal(again[0], first[0])
    np.testing.assert_array_equal(other[0], plain_first_hit(moved, x, y)[0])
    assert not np.array_equal(other[0], first[0])


def test_a_raster_kept_in_the_cache_folder_serves_the_next_process(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    built = []
    plain_built = PolygonLookup._built
    monkeypatch.setattr(PolygonLookup, "_built",
                        lambda self: built.append(1) or plain_built(self))
    geoms = np.array([shapely.box(0, 0, 10, 10), shapely.box(8, 0, 20, 10),
                      shapely.Polygon([(0, 20), (10, 20), (5, 28)])])
    x, y = hard_points(geoms, np.random.default_rng(6), 5_000)
    expected = plain_first_hit(geoms, x, y)[0]
    for _ in range(2):  # a process, then the next one (which has no raster in memory)
        monkeypatch.setattr(_places, "_RASTERS", {})
        np.testing.assert_array_equal(
            PolygonLookup(geoms, min_points=0, cache=tmp_path).first_hit(x, y)[0], expected)
    assert len(built) == 1
    [kept] = tmp_path.glob("raster-*.npz")
    kept.write_bytes(kept.read_bytes()[:100])  # cut off: built again, and kept again
    monkeypatch.setattr(_places, "_RASTERS", {})
    np.testing.assert_array_equal(
        PolygonLookup(geoms, min_points=0, cache=tmp_path).first_hit(x, y)[0], expected)
    assert len(built) == 2
    assert _places.read_raster(kept) is not None
    # other polygons get a raster of their own; at most RASTERS_KEPT are kept
    for shift in range(1, _places.RASTERS_KEPT + 2):
        monkeypatch.setattr(_places, "_RASTERS", {})
        moved = np.array([shapely.box(0, 0, 10 + shift, 10)])
        hit = PolygonLookup(moved, min_points=0, cache=tmp_path).first_hit(x, y)[0]
        np.testing.assert_array_equal(hit, plain_first_hit(moved, x, y)[0])
    assert len(list(tmp_path.glob("raster-*"))) == _places.RASTERS_KEPT


def test_a_raster_that_cannot_be_kept_is_built_each_time(monkeypatch: pytest.MonkeyPatch,
                                                         tmp_path: Path):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    monkeypatch.setattr(_places, "_RASTERS", {})
    geoms = np.array([shapely.box(0, 0, 10, 10)])
    x, y = hard_points(geoms, np.random.default_rng(7), 1_000)
    hit = PolygonLookup(geoms, min_points=0, cache=blocked / "rasters").first_hit(x, y)[0]
    np.testing.assert_array_equal(hit, plain_first_hit(geoms, x, y)[0])


def test_threaded_query_gives_the_same_pairs(monkeypatch: pytest.MonkeyPatch):
    geoms = np.array([shapely.box(i, 0, i + 1.5, 1) for i in range(50)])
    x, y = hard_points(geoms, np.random.default_rng(2), 50_000)
    monkeypatch.setattr(_places, "PARALLEL_CHUNK", 1_000)
    hit, extra = PolygonLookup(geoms, min_points=10**9).first_hit(x, y)
    np.testing.assert_array_equal(hit, plain_first_hit(geoms, x, y)[0])
    assert extra == plain_first_hit(geoms, x, y)[1]


NUMBER_TEXT = st.text(alphabet="0123456789.,-+ e\u00a0xN", max_size=12)


@settings(max_examples=300, deadline=None)
@given(st.lists(NUMBER_TEXT, min_size=1, max_size=30))
def test_numbers_equal_parse_numbers(texts: list[str]):
    values = pd.Series(texts)
    np.testing.assert_array_equal(numbers(values).to_numpy(float),
                                  parse_numbers(values).to_numpy(float))


DIGITS = "0123456789"
# [+-]?[0-9]{1,11}([.,][0-9]{0,11})?, built from parts (st.from_regex draws far slower)
PLAIN_TEXT = st.builds("".join, st.tuples(
    st.sampled_from(["", "+", "-"]), st.text(DIGITS, min_size=1, max_size=11),
    st.one_of(st.just(""), st.builds("".join, st.tuples(st.sampled_from(".,"),
                                                        st.text(DIGITS, max_size=11))))))


@settings(max_examples=300, deadline=None)
@given(st.lists(PLAIN_TEXT, min_size=1, max_size=30), st.lists(NUMBER_TEXT, max_size=3))
def test_plain_numbers_read_by_arrow_equal_parse_numbers(plain: list[str], other: list[str]):
    values = pd.Series(plain + other)
    np.testing.assert_array_equal(numbers(values).to_numpy(float),
                                  parse_numbers(values).to_numpy(float))


def test_coordinates_with_decimal_commas_and_points():
    frame = pd.DataFrame({"x_rd": ["155000,5", "155.000,5", "155000.5", " ", "abc"],
                          "y_rd": ["463000,25", "463000", "463000.25", "1", "2"]})
    placed = coordinates_from_frame(frame)
    np.testing.assert_allclose(placed.x[:3], [155000.5, 155000.5, 155000.5])
    np.testing.assert_allclose(placed.y[:3], [463000.25, 463000, 463000.25])


def reference_address_keys(frame: pd.DataFrame) -> pd.Series:
    """The per-row computation the fast version replaces."""
    postcode = frame["postcode"].astype(str).str.upper().str.replace(" ", "", regex=False)
    number = parse_numbers(frame["huisnummer"])
    letter = frame.get("huisletter", pd.Series("", index=frame.index)).astype(str).str.upper()
    addition = frame.get("toevoeging", pd.Series("", index=frame.index)).astype(str).str.upper()
    valid = postcode.str.fullmatch(r"\d{4}[A-Z]{2}") & number.notna()
    number_text = number.fillna(0).astype("int64").astype(str)
    keys = postcode + "|" + number_text + "|" + letter.str.strip() + "|" + addition.str.strip()
    return keys.where(valid & ~blank(frame["postcode"]), "")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["1234 ab", "1234AB", "12AB", "", "9999zz ", "nan"]),
                          st.sampled_from(["5", "12,0", "7.0", "", "x", " 3 ", "0"]),
                          st.sampled_from(["", "a", " B"]), st.sampled_from(["", "2", "bis "])),
                min_size=1, max_size=20))
def test_address_keys_equal_the_per_row_computation(rows: list[tuple[str, ...]]):
    frame = pd.DataFrame(rows, columns=["postcode", "huisnummer", "huisletter", "toevoeging"])
    assert address_keys(frame).tolist() == reference_address_keys(frame).tolist()
    assert address_keys(frame[["postcode", "huisnummer"]]).tolist() == \
        reference_address_keys(frame[["postcode", "huisnummer"]]).tolist()


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["1234 ab", "12AB", None, "9999zz "]),
                          st.sampled_from(["5", "7.0", None, "x"]), st.sampled_from([None, "a"]),
                          st.sampled_from([None, "bis "])), min_size=1, max_size=20))
def test_a_missing_part_of_an_address_key_is_an_empty_one(rows: list[tuple[str | None, ...]]):
    frame = pd.DataFrame(rows, columns=["postcode", "huisnummer", "huisletter", "toevoeging"])
    expected = reference_address_keys(frame.fillna("")).tolist()
    assert address_keys(frame.astype("str")).tolist() == expected  # as read by Arrow
    assert address_keys(frame.astype(object)).tolist() == expected


@pytest.mark.parametrize(("low", "high"), [
    (-300, 1_200_000),  # named in Python below zero, by Arrow above; cells hashed (a wide range)
    (0, 1_200_000),
    (150_000, 160_000)])  # a gemeente: cells marked in an array of their range
def test_cell_codes_equal_per_point_names(low, high):
    rng = np.random.default_rng(4)
    x, y = rng.uniform(low, high, 5_000), rng.uniform(289_000, 629_000, 5_000)
    x[::7] = np.nan
    for size in (100, 250, 500):
        expected = [None if np.isnan(a) or np.isnan(b) else
                    f"E{int(np.floor(a / size) * size // 100):04d}"
                    f"N{int(np.floor(b / size) * size // 100):04d}" for a, b in zip(x, y, strict=True)]
        assert cell_codes(x, y, size).tolist() == expected
    assert cell_codes(np.array([np.nan]), np.array([1.0]), 100).tolist() == [None]


@pytest.fixture(params=["c", "python"])
def hashing(request, monkeypatch) -> str:
    """Each pseudonym test runs with the C helper (where built) and with Python's hashing."""
    if request.param == "python":
        monkeypatch.setattr(_pseudo, "batch", lambda: None)
    elif _hmac.batch() is None:
        pytest.skip("the C helper is not built here (scripts/build-native)")
    return request.param


def test_pseudonyms_are_hmac_sha256(hashing):
    values = ["1", " 2 ", "", None, np.nan, 3, 4.5, "é ü", "x" * 200, pd.NA, "  ", np.str_(" 7"),
              np.float64("nan"), np.int64(8)]
    for key in (b"k" * 64, b"short-key-of-32-characters-long!", b"x" * 100):
        expected = [None if v is None or pd.isna(v) or not str(v).strip() else
                    hmac.new(key, b"adres:" + str(v).strip().encode(), hashlib.sha256)
                    .hexdigest()[:16] for v in values]
        assert Pseudonymiser(key).hash(values, "adres") == expected
        series = pd.Series(values, index=range(10, 10 + len(values)), dtype=object)
        assert Pseudonymiser(key).series(series, "adres").tolist() == \
            [np.nan if e is None else e for e in expected]


def test_long_series_are_hashed_in_parts_side_by_side(monkeypatch):
    monkeypatch.setattr(_pseudo, "batch", lambda: None)  # the C helper hashes in one part
    values = pd.Series([f"{i:09d}" if i % 7 else None for i in range(2_003)], dtype="str")
    pseudo = Pseudonymiser(b"k" * 32)
    whole = pseudo.series(values, "kvk")
    parts: list[tuple[int, int]] = []
    between = Pseudonymiser._digests_between
    monkeypatch.setattr(Pseudonymiser, "_digests_between", lambda self, v, a, b, d: (
        parts.append((a, b)), between(self, v, a, b, d))[1])
    monkeypatch.setattr(_pseudo, "APART_FROM", 500)
    split = pseudo.series(values, "kvk")
    pd.testing.assert_series_equal(split, whole)
    if can_fork() and cores() >= 2:
        assert parts == []  # hashed in the forked processes, not here
    monkeypatch.setattr(_forked, "can_fork", lambda: False)
    pd.testing.assert_series_equal(pseudo.series(values, "kvk"), whole)
    assert parts[-1] == (0, values.notna().sum())  # in one part, here; no missing value
    assert whole.isna().sum() == values.isna().sum() > 0
    missing = pd.Series([None] * 5, index=range(5, 10), dtype=object)
    assert pseudo.series(missing, "kvk").isna().all() and parts[-1] == (0, 0)


@pytest.mark.parametrize("apart", [True, False])
def test_pseudonyms_made_meanwhile_equal_those_made_here(apart, hashing, monkeypatch):
    if apart:
        monkeypatch.setattr(_pseudo, "MEANWHILE_FROM", 0)  # forked however few the values
    else:
        monkeypatch.setattr(_forked, "can_fork", lambda: False)
    values = pd.Series([f"{i:06d}" if i % 5 else None for i in range(600)],
                       index=range(1000, 1600), dtype="str")
    names = pd.Series([" A ", "", "b"] * 200, index=values.index, dtype="str")
    pseudo = Pseudonymiser(b"k" * 32)
    kept = values.index[values.index % 3 != 0]  # some rows rejected meanwhile
    with pseudo.meanwhile([(values, "kvk"), (lambda: names, "handelsnaam")],
                          values.index) as hashed:
        forks = _forked.can_fork()  # this process forks no other meanwhile
        first, second = hashed.take(kept), hashed.take(values.index)
    assert not forks
    pd.testing.assert_series_equal(first, pseudo.series(values.loc[kept], "kvk"))
    pd.testing.assert_series_equal(second, pseudo.series(names, "handelsnaam"))
    assert first.isna().sum() == values.loc[kept].isna().sum() > 0
    assert second.isna().sum() == 200


def test_few_pseudonyms_are_made_at_once_without_forking(hashing):
    """Below MEANWHILE_FROM values, the pseudonyms are made when the block starts, from the
    data as it is then (as a forked process would see it), and nothing is forked."""
    values = pd.Series(["1", " 2 ", None, "4"], index=[5, 6, 7, 8], dtype="str")
    names = pd.Series(["a", " b ", "c", None], index=values.index, dtype="str")
    pseudo = Pseudonymiser(b"k" * 32)
    data = {"names": names}
    forks = _forked.can_fork()
    with pseudo.meanwhile([(values, "kvk"), (lambda: data["names"], "handelsnaam")],
                          values.index) as hashed:
        data["names"] = names.str.upper()  # a change after the start does not count
        assert _forked.can_fork() == forks  # no forked process running
        first, second = hashed.take(values.index[1:]), hashed.take(values.index)
    pd.testing.assert_series_equal(first, pseudo.series(values.iloc[1:], "kvk"))
    pd.testing.assert_series_equal(second, pseudo.series(names, "handelsnaam"))


def test_trade_names_normalised_by_arrow_as_python_would():
    spaces = [chr(c) for c in range(0x110000) if chr(c).isspace()]
    assert "".join(rf"\x{{{ord(c):x}}}" for c in spaces) == PYTHON_SPACES
    rng = np.random.default_rng(9)
    letters = [*"aBcDéÉßİẞΣσ€ 0-.&'", *spaces]
    names = ["".join(rng.choice(letters, rng.integers(0, 14))) for _ in range(3_000)]
    names += [None, np.nan, "", "   ", "\xa0", "Bakkerij  De\u2003Vries\t"]
    frame = pd.DataFrame({"handelsnaam": pd.Series(names, dtype="str")})
    python = [" ".join(n.split()) for n in frame["handelsnaam"].str.strip().str.lower()
              .fillna("")]
    expected = [n if n.strip() else None for n in python]
    assert [None if pd.isna(n) else n for n in _names(frame)] == expected
    assert _names(frame).iloc[-1] == "bakkerij de vries"


def _chunked(values: list[object]) -> pd.Series:
    """Text in three Arrow chunks, as a file read by Arrow gives it."""
    third = len(values) // 3
    return pd.concat([pd.Series(values[:third], dtype="str"),
                      pd.Series(values[third:2 * third], dtype="str"),
                      pd.Series(values[2 * third:], dtype="str")], ignore_index=True)


def test_names_in_chunks_normalised_as_in_one():
    names = ["A  b", "b", None, "B\xa0c ", "c", None, "  a\u2003 b", "x", "Y"]
    frame = pd.DataFrame({"handelsnaam": _chunked(names)})
    assert frame["handelsnaam"].array._pa_array.num_chunks == 3
    assert [None if pd.isna(n) else n for n in _names(frame)] == \
        ["a b", "b", None, "b c", "c", None, "a b", "x", "y"]


@pytest.mark.parametrize("keep", ["first", False])
@pytest.mark.parametrize("repeats_from", [_io.REPEATS_FROM, 2])  # factorised; DuckDB first
def test_duplicated_by_arrow_as_pandas(keep, repeats_from, monkeypatch):
    monkeypatch.setattr(_io, "REPEATS_FROM", repeats_from)
    rng = np.random.default_rng(11)
    values = [None if v == 0 else f"k{v}" for v in rng.integers(0, 400, 2_000)]
    for series in (_chunked(values), pd.Series(values, dtype="str"),
                   pd.Series([], dtype="str"), pd.Series(["a", "b"], dtype="str"),
                   pd.Series(["b", None, "b", None, "a"], dtype="str")):
        np.testing.assert_array_equal(duplicated(series, keep=keep),
                                      series.duplicated(keep=keep).to_numpy())


@pytest.mark.parametrize("repeats_from", [_io.REPEATS_FROM, 2])  # factorised; DuckDB first
@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["", "1", "2", "3", "4"]), st.integers(0, 2)),
                max_size=25))
def test_drop_duplicates_as_pandas(repeats_from, rows):
    """Exact duplicate rows, then repeated ids (not blank ones) dropped, as pandas' duplicated
    on the whole row and then on the id finds them; the ids that repeat are searched once."""
    _io.REPEATS_FROM, saved = repeats_from, _io.REPEATS_FROM
    try:
        frame = pd.DataFrame(rows, columns=["id", "value"]).astype({"id": "str", "value": "str"})
        record = LoadRecord("kvk", "test")
        kept = drop_duplicates(frame, "id", record)
    finally:
        _io.REPEATS_FROM = saved
    exact = frame.duplicated()
    rest = frame[~exact]
    expected = rest[~(rest["id"].duplicated() & rest["id"].ne(""))]
    pd.testing.assert_frame_equal(kept, expected)
    assert record.rejects.get("dubbele regel", 0) == int(exact.sum())
    assert record.rejects.get("dubbel id", 0) == len(rest) - len(expected)


@given(st.lists(st.integers(-3, 10**16), max_size=60), st.integers(1, 4))
def test_duplicated_numbers_as_pandas(values, copies):
    numbers = np.array(values * copies + values[:3], dtype=np.int64)
    np.testing.assert_array_equal(duplicated_numbers(numbers),
                                  pd.Series(numbers).duplicated().to_numpy())


def test_bag_ids_are_one_to_sixteen_ascii_digits_padded():
    cells = ["363200000123456", " 0363200000123456\t", "363200000123456.0", "12.5", "1e15",
             "12345678901234567", "", None, "12 34", "\u0663\u0664", "0", "00000000000000001"]
    ids = bag_ids(pd.Series(cells, dtype="str"))
    # (pandas' string methods took "\u0663\u0664", Arabic-Indic digits, for one)
    assert ids.tolist() == ["0363200000123456"] * 3 + [""] * 7 + ["0000000000000000", ""]


@pytest.mark.parametrize("without_number", [0.0, 0.3, 1.0])
def test_repeated_addresses_as_one_identity_column(without_number):
    rng = np.random.default_rng(12)
    number = pd.Series([f"{v:016d}" for v in rng.integers(0, 300, 2_000)], dtype="str")
    number[rng.random(2_000) < without_number] = ""
    key = pd.Series([f"1234AB{v}" for v in rng.integers(0, 3_000, 2_000)], dtype="str")
    identity = number.where(number != "", "adres:" + key)  # the plain method
    expected = identity.duplicated().to_numpy()
    np.testing.assert_array_equal(repeated_addresses(number, key), expected)
    # told which keys can repeat, it looks among those rows only, with the same answer
    shared = key.duplicated(keep=False).to_numpy()
    np.testing.assert_array_equal(repeated_addresses(number, key, shared), expected)


def test_codes_placed_by_address_join_the_categories():
    codes = pd.Categorical.from_codes([0, -1, 1, -1, -1], categories=["BU1", "BU2"])
    placed = _with_codes(codes, np.array([1, 3, 4]), np.array(["BU2", None, "BU9"], object))
    assert placed.isna().tolist() == [False, False, False, True, False]
    assert [placed[i] for i in (0, 1, 2, 4)] == ["BU1", "BU2", "BU2", "BU9"]
    new = np.array([f"BU{n}" for n in range(300)], object)  # more than int8 codes hold
    many = _with_codes(pd.Categorical.from_codes(np.full(300, -1), categories=["BU1"]),
                       np.arange(300), new)
    assert list(many.astype(object)) == list(new)
    assert list(many.categories) == ["BU1", *sorted(set(new) - {"BU1"})]  # new ones sorted


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(-1, 9), min_size=1, max_size=40),
       st.lists(st.none() | st.sampled_from([f"C{n}" for n in range(15)]), max_size=40))
def test_codes_placed_by_address_are_the_values_given(codes, values):
    known = pd.Categorical.from_codes(codes, categories=[f"C{n}" for n in range(10)])
    positions = np.arange(min(len(codes), len(values)))
    given = np.array(values[:len(positions)], dtype=object)
    placed = _with_codes(known, positions, given)
    expected = np.asarray(known.astype(object), dtype=object).copy()
    expected[positions] = given
    assert [None if pd.isna(v) else v for v in placed.astype(object)] == \
        [None if pd.isna(v) else v for v in expected]
    assert list(placed.categories[:10]) == list(known.categories)
    assert list(placed.categories[10:]) == sorted(set(placed.categories[10:]))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(max_size=4), unique=True, max_size=30),
       st.lists(st.text(max_size=4), unique=True, max_size=10))
def test_categories_are_found_among_the_values_as_pandas_finds_them(known, values):
    """Arrow's lookup of the categories among the placed values gives pandas' ``get_indexer``
    (empty and non-ASCII text, values that are no category, categories that are no value)."""
    categories = pd.Index(pd.array(known, dtype="str"))
    distinct = np.array(values, dtype=object)
    expected = pd.Index(distinct).get_indexer(categories)
    np.testing.assert_array_equal(_places_among(categories, distinct), expected)


def test_an_address_part_the_file_lacks_is_an_empty_one():
    frame = pd.DataFrame({"postcode": ["1234 ab", "", "9999ZZ"], "huisnummer": ["5", "7", "12"]},
                         dtype="str")
    filled = frame.assign(huisletter="", toevoeging="")
    assert address_keys(frame).tolist() == address_keys(filled).tolist() == \
        ["1234AB|5||", "", "9999ZZ|12||"]
    assert address_keys(frame.assign(huisletter=["a", "", ""])).tolist()[0] == "1234AB|5|A|"
