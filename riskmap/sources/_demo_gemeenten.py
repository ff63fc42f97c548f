"""Fictional gemeenten around the demo gemeente, for the comparison with similar gemeenten.

A real Kerncijfers response holds a row for every gemeente; the demo's cache holds these instead
(codes GM9900..GM9939, not real CBS codes), with sizes from tiny to large city, a CBS urbanity
class that follows size loosely, and statistics scattered around the demo gemeente's own rates.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

N_OTHERS = 40
URBANITY = "MateVanStedelijkheid"
_FIRST = ("Ooster", "Wester", "Noorder", "Zuider", "Linde", "Eike", "Berken", "Vlier", "Hazel",
          "Elzen", "Heide", "Wilgen", "Esse", "Olmen", "Varen", "Riet")
_LAST = ("wolde", "broek", "vliet", "hove", "zande", "meer", "horst", "lo", "waard", "hem")


def other_gemeenten(own: pd.Series, counts: Iterable[str], rates: Iterable[str],
                    seed: int) -> pd.DataFrame:
    """Rows of :data:`N_OTHERS` fictional gemeenten with the columns of ``own``.

    Parameters
    ----------
    own
        The demo gemeente's row: ``AantalInwoners`` and the other variables.
    counts, rates
        Variables that scale with inhabitants (counts) and those that do not (percentages,
        means).
    seed
        Seed of the generator: the same seed gives the same gemeenten.
    """
    rng = np.random.default_rng(seed)
    names = [f"{a}{b}" for a in _FIRST for b in _LAST]
    chosen = rng.choice(len(names), size=N_OTHERS, replace=False)
    inhabitants = np.clip(np.exp(rng.normal(np.log(45_000), 1.0, N_OTHERS)), 1_000, 900_000)
    size = (np.log10(inhabitants) - 3.8) * 2.2 + rng.normal(0, 0.8, N_OTHERS)
    frame = pd.DataFrame({
        "code": [f"GM99{i:02d}" for i in range(N_OTHERS)],
        "name": [names[i] for i in chosen], "soort": "Gemeente",
        "AantalInwoners": inhabitants.round(), URBANITY: np.clip(np.round(5 - size), 1, 5)})
    per_inhabitant = frame["AantalInwoners"] / float(own["AantalInwoners"])
    for column in counts:
        if column != "AantalInwoners":
            spread = np.exp(rng.normal(0, 0.15, N_OTHERS))
            frame[column] = (float(own[column]) * per_inhabitant * spread).round()
    for column in rates:
        frame[column] = (float(own[column]) * np.exp(rng.normal(0, 0.2, N_OTHERS))).round(1)
    return frame
