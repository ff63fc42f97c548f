"""Small releases with known structure, for the suppression's tests."""

from __future__ import annotations

import numpy as np
from scipy import sparse


def linked_tables(seed: int = 3, events: int = 700,
                  buurten: int = 60) -> tuple[sparse.csr_matrix, np.ndarray]:
    """Events of 3 kinds in ``buurten`` buurten (a wijk per ten) and 40 grid cells; cells: each
    kind per buurt, wijk and gemeente, and all kinds per grid cell and per buurt (linked
    tables, many small counts)."""
    rng = np.random.default_rng(seed)
    buurt = rng.integers(0, buurten, events)
    grid = (buurt // 2 + rng.integers(0, 10, len(buurt))) % 40
    kind = rng.integers(0, 3, len(buurt))
    wijken = 3 * buurten + 3 * (-(-buurten // 10))  # where the wijken's cells end
    groupings = [buurt * 3 + kind, 3 * buurten + (buurt // 10) * 3 + kind, wijken + kind,
                 wijken + 3 + grid, wijken + 43 + buurt]
    atoms = np.unique(np.column_stack([buurt, grid, kind]), axis=0, return_inverse=True)[1]
    atoms = atoms.ravel()
    rows = np.unique(np.concatenate(groupings), return_inverse=True)[1]  # cells with events
    cols = np.tile(atoms, len(groupings))
    matrix = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)))
    matrix.data[:] = 1.0  # an atom counts once towards a cell
    counts = np.bincount(atoms).astype(float)
    return matrix, counts
