"""The release's atoms: atoms in exactly the same cells are merged, in order of appearance."""

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from riskmap.indicators import release
from riskmap.indicators.catalogue import load_catalogue
from riskmap.indicators.privacy import PROTECTION, SMALL_COUNT, SMALL_GROUP


def _merged_one_by_one(matrix: sparse.csr_matrix,
                       counts: np.ndarray) -> tuple[sparse.csr_matrix, np.ndarray]:
    """The plain way: a dictionary of each atom's cells, atom by atom."""
    columns = matrix.tocsc()
    groups: dict[bytes, int] = {}
    first: list[int] = []
    merged: list[float] = []
    for j in range(columns.shape[1]):
        cells = columns.indices[columns.indptr[j]:columns.indptr[j + 1]]
        if len(cells):
            slot = groups.setdefault(cells.tobytes(), len(groups))
            if slot == len(first):
                first.append(j)
                merged.append(0.0)
            merged[slot] += counts[j]
    return columns[:, first].tocsr(), np.array(merged)


def _release(seed: int) -> tuple[sparse.csr_matrix, np.ndarray]:
    rng = np.random.default_rng(seed)
    patterns = (rng.random((40, 60)) < 0.2).astype(float)  # 60 kinds of atom over 40 cells
    patterns[:, :3] = 0.0  # atoms in no cell
    matrix = sparse.csr_matrix(patterns[:, rng.integers(0, 60, 2_000)])
    return matrix, rng.integers(0, 4, 2_000).astype(float)


class _Zeros:
    """A generator whose weights are all 0: every atom with as many cells collides."""

    def integers(self, *args: object, size: tuple[int, int], **kwargs: object) -> np.ndarray:
        return np.zeros(size, dtype=np.uint64)


@pytest.mark.parametrize("colliding", ["none", "as many cells", "all"])
def test_identical_atoms_are_merged_as_one_by_one(monkeypatch: pytest.MonkeyPatch,
                                                   colliding: str):
    matrix, counts = _release(7)
    if colliding == "as many cells":
        monkeypatch.setattr(release.np.random, "default_rng", lambda seed: _Zeros())
    if colliding == "all":  # atoms with other numbers of cells share a key too
        monkeypatch.setattr(release, "_atom_keys", lambda lengths, sums: np.zeros(len(lengths)))
    merged, totals = release._merge_identical_atoms(matrix, counts)
    expected, expected_totals = _merged_one_by_one(matrix, counts)
    assert merged.shape == expected.shape and merged.shape[1] < 60
    assert (merged != expected).nnz == 0 and np.array_equal(totals, expected_totals)
    assert totals.sum() == counts[np.diff(matrix.tocsc().indptr) > 0].sum()


def test_an_atom_whose_cells_begin_another_atoms_is_not_merged_with_it(monkeypatch):
    cells = [[0, 1, 2], [0, 1], [0, 1, 2], [0, 1], [3], [0]]
    rows = [c for column in cells for c in column]
    columns = [j for j, column in enumerate(cells) for _ in column]
    matrix = sparse.csr_matrix((np.ones(len(rows)), (rows, columns)), shape=(4, len(cells)))
    counts = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    monkeypatch.setattr(release, "_atom_keys", lambda lengths, sums: np.zeros(len(lengths)))
    merged, totals = release._merge_identical_atoms(matrix, counts)
    assert np.array_equal(totals, [4.0, 6.0, 5.0, 6.0])
    assert (merged != _merged_one_by_one(matrix, counts)[0]).nnz == 0


def test_joint_keys_are_equal_exactly_where_rows_are_across_frames():
    one = pd.DataFrame({"buurt": ["B1", "B1", None, "B2"], "cell": ["c1", None, "c1", "c1"]})
    two = pd.DataFrame({"buurt": ["B1", np.nan, "B2", "B1"], "cell": [np.nan, "c1", "c2", "c1"]})
    first, second = release._joint_keys(one, two)
    rows = [tuple(None if pd.isna(v) else v for v in row)
            for frame in (one, two) for row in frame.itertuples(index=False)]
    keys = [*first, *second]
    for a, row_a in zip(keys, rows, strict=True):
        for b, row_b in zip(keys, rows, strict=True):
            assert (a == b) == (row_a == row_b)
    assert max(keys) < len(rows)


def test_among_is_isin_of_the_column():
    events = pd.DataFrame({"kind": pd.array(["a", "b", None, "a", "c"], dtype="str")})
    coded: dict = {}
    for values in (["a"], ["b", "c"], ["x"], []):
        expected = events["kind"].isin(values).to_numpy(bool)
        assert np.array_equal(release._among(events, "kind", values, coded), expected)
    assert list(coded) == ["kind"]  # coded once


def test_atom_codes_are_sorted_codes_and_missing_is_minus_one():
    places = pd.DataFrame({"buurt": pd.array(["B2", None, "B10", "B2", "B1"], dtype="str")})
    atoms = release._Atoms(places, np.zeros(7, int), np.array([0, 1, 2, 3, 4, 4, 1]), np.ones(7))
    codes, names = atoms.codes("buurt", "GM0001")
    expected, found = pd.factorize(places["buurt"].astype(object), sort=True)
    assert np.array_equal(codes, expected[atoms.row]) and list(names) == list(found)
    assert list(names) == ["B1", "B10", "B2"] and codes[1] == -1


@pytest.mark.parametrize("columns", [5, 70])  # packed in one number, and in several
def test_classes_are_numpys_unique_rows(columns: int):
    masks = np.random.default_rng(columns).random((500, columns)) < 0.05
    masks[:, 0] = True  # few distinct rows, many repeated
    classes, inverse = release._classes(masks)
    expected, expected_inverse = np.unique(masks, axis=0, return_inverse=True)
    assert np.array_equal(classes, expected) and np.array_equal(inverse, expected_inverse.ravel())
    assert len(classes) < len(masks)


def test_values_take_the_reason_of_the_first_hidden_cell_they_reveal():
    catalogue = load_catalogue()
    ratio = next(i for i in catalogue if i.id == "controles_bevinding")  # findings / controles
    count = next(i for i in catalogue if i.id == "hennep")
    findings, controles = release.indicator_series(ratio)
    (hennep,) = release.indicator_series(count)
    cells = pd.DataFrame([
        # BU1: the controles hidden as a small count, the findings as a complement
        (findings, "buurt", "BU1", False, PROTECTION), (controles, "buurt", "BU1", False, SMALL_COUNT),
        # BU2: both hidden as complements; BU3: nothing hidden
        (findings, "buurt", "BU2", False, PROTECTION), (controles, "buurt", "BU2", False, PROTECTION),
        (findings, "buurt", "BU3", True, None), (controles, "buurt", "BU3", True, None),
        (hennep, "buurt", "BU1", False, SMALL_GROUP), (hennep, "buurt", "BU3", True, None),
        # the gemeente's hennep total is hidden: no hennep value gets an index against it
        (hennep, "gemeente", "GM1", False, PROTECTION), (findings, "gemeente", "GM1", True, None),
        (controles, "gemeente", "GM1", True, None)], columns=release.CELL_COLUMNS)
    values = pd.DataFrame({
        "level": "buurt",
        "indicator": ["controles_bevinding"] * 3 + ["hennep"] * 3,
        "area_code": ["BU1", "BU2", "BU3", "BU1", "BU3", "BU2"],
        "reason": [None, SMALL_COUNT, None, None, None, SMALL_GROUP],
        "suppressed": [False, True, False, False, False, True],
        "index_gemeente": 100.0})
    out = release.apply_to_values(values, release.Release(cells), catalogue)
    assert [None if pd.isna(r) else r for r in out["reason"]] == [
        SMALL_COUNT, PROTECTION, None, SMALL_GROUP, None, SMALL_GROUP]  # the last kept its own
    assert out["suppressed"].tolist() == [True, True, False, True, False, True]
    assert out["index_gemeente"].isna().tolist() == [False] * 3 + [True] * 3
