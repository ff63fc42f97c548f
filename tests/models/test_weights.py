"""Queen contiguity by shared vertices: libpysal's ``Queen``, on real buurten and edge cases."""

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from libpysal.weights import Queen
from scipy import sparse
from shapely.geometry import MultiPolygon, Polygon, box

from riskmap.models.weights import queen_neighbours, shared_vertices
from riskmap.store import CRS


def _libpysal(frame: gpd.GeoDataFrame) -> sparse.csr_matrix:
    weights = Queen.from_dataframe(frame.reset_index(drop=True), use_index=False,
                                   silence_warnings=True)
    matrix = sparse.csr_matrix(weights.sparse != 0, dtype=float)
    matrix.sort_indices()
    return matrix


def test_shared_vertices_are_libpysals_queen_on_real_buurten(realdata: Path):
    """The 2014 CBS buurten of the Netherlands (multipolygons, islands, parts apart): the same
    neighbours, and the same weights as libpysal builds them."""
    buurten = gpd.read_file(realdata / "nl_buurten_2014.gpkg", layer="buurten")
    frame = buurten.rename(columns={"statcode": "code"})[["code", "geometry"]].to_crs(CRS)
    assert len(frame) > 10_000 and (frame.geom_type == "MultiPolygon").any()
    ours = shared_vertices(frame.geometry.to_numpy())
    assert (ours != _libpysal(frame)).nnz == 0 and ours.nnz > 2 * len(frame)
    neighbours = queen_neighbours(frame)
    reference = Queen.from_dataframe(frame.reset_index(drop=True), use_index=False,
                                     silence_warnings=True)
    assert neighbours.components == reference.n_components > 1
    assert neighbours.islands == [str(frame["code"].iloc[i]) for i in reference.islands]
    np.testing.assert_array_equal(neighbours.matrix.indices, reference.sparse.indices)


def test_a_corner_makes_neighbours_and_a_gap_or_a_point_on_an_edge_does_not():
    """Queen: one shared corner suffices; areas that only come close, or touch where a corner
    of one lies on an edge of the other (no shared vertex, as in libpysal), are not."""
    frame = gpd.GeoDataFrame({"code": list("abcdef")}, geometry=[
        box(0, 0, 1, 1), box(1, 1, 2, 2),                     # a-b: one corner
        box(2.0001, 0, 3, 1),                                # c: a gap to b's corner
        Polygon([(0, 2), (0.5, 1), (1, 2)]),                 # d: a vertex on a's top edge
        MultiPolygon([box(5, 5, 6, 6), box(-1.0, 0, 0, 1)]),  # e: a part beside a (shares
        box(10, 10, 11, 11)],                                # its edge) f: an island
        crs=CRS)
    ours = shared_vertices(frame.geometry.to_numpy())
    assert (ours != _libpysal(frame)).nnz == 0
    pairs = {tuple(frame["code"].iloc[list(p)]) for p in zip(*ours.nonzero(), strict=True)}
    assert pairs == {("a", "b"), ("b", "a"), ("a", "e"), ("e", "a"), ("b", "d"), ("d", "b")}
    assert queen_neighbours(frame).islands == ["c", "f"]


@pytest.mark.parametrize("x", [0.0, -0.0])
def test_minus_zero_is_the_same_vertex(x: float):
    polygons = np.array([Polygon([(x, 0), (1, 0), (1, 1)]), Polygon([(0.0, 0), (-1, 0), (0, -1)])])
    assert shared_vertices(polygons).nnz == 2
