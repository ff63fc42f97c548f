"""The release's atoms: atoms in exactly the same cells are merged, in order of appearance."""

import numpy as np
import pytest
from scipy import sparse

from riskmap.indicators import release


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


@pytest.mark.parametrize("colliding", [False, True])
def test_identical_atoms_are_merged_as_one_by_one(monkeypatch: pytest.MonkeyPatch,
                                                   colliding: bool):
    matrix, counts = _release(7)
    if colliding:
        monkeypatch.setattr(release.np.random, "default_rng", lambda seed: _Zeros())
    merged, totals = release._merge_identical_atoms(matrix, counts)
    expected, expected_totals = _merged_one_by_one(matrix, counts)
    assert merged.shape == expected.shape and merged.shape[1] < 60
    assert (merged != expected).nnz == 0 and np.array_equal(totals, expected_totals)
    assert totals.sum() == counts[np.diff(matrix.tocsc().indptr) > 0].sum()
