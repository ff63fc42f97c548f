"""CBS cells: numbers, CBS's symbols, and the suppression rules CBS states per variable.

CBS's "verklaring van symbolen" (StatLine; the TableInfos of Kerncijfers wijken en buurten):
``.`` the figure is unknown, insufficiently reliable or secret; ``x`` secret; ``-`` nihil (zero);
blank: the figure cannot occur on logical grounds. The UntypedDataSet of the OData feed carries
these symbols as text; the TypedDataSet turns every one of them into null. Where the symbol
alone cannot tell secret from missing (``.`` or null), a variable's DataProperties description
may state the rule, e.g. "wordt alleen vermeld bij minimaal 20 woningen": a region below such a
threshold was withheld by CBS (``geheim``); any other gap is ``ontbreekt``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

OK = "ok"
NIHIL = "nihil"
SECRET = "geheim"  # noqa: S105 (a status, not a password)
MISSING = "ontbreekt"
IMPOSSIBLE = "kan niet voorkomen"
INVALID = "ongeldig"
ABSENT = "niet in tabel"

_SYMBOLS = {".": (None, MISSING), "x": (None, SECRET), "-": (0.0, NIHIL), "–": (0.0, NIHIL)}

# The population a threshold counts, as the descriptions name it, and the variable (key stem) that
# bounds it from above: a region with fewer than N of these certainly has fewer than N in the
# sub-population CBS counts (e.g. households of the target population), so the cell was withheld.
_BASES = (
    ("personen in particuliere huishoudens", "AantalInwoners"),
    ("personen met persoonlijk inkomen", "AantalInkomensontvangers"),
    ("particuliere huishoudens", "HuishoudensTotaal"),
    ("huishoudens", "HuishoudensTotaal"),
    ("woningen", "Woningvoorraad"),
    ("inwoners", "AantalInwoners"),
)
_THRESHOLDS = (  # "minimaal 20 woningen", "20 woningen of meer", "10 of meer inwoners"
    re.compile(r"(?:minimaal|ten minste|minder dan|kleiner (?:is )?dan) (?P<n>\d[\d.]*) (?P<what>[a-z ]+)"),
    re.compile(r"(?P<n>\d[\d.]*) (?P<what>[a-z]+(?: [a-z]+){0,4}?) of meer"),
    re.compile(r"(?P<n>\d[\d.]*) of meer (?P<what>[a-z ]+)"),
)


def parse_cell(value: Any) -> tuple[float | None, str]:
    """A cell of a typed or untyped data set as ``(value, status)``."""
    if value is None or isinstance(value, bool):
        return None, MISSING if value is None else INVALID
    if isinstance(value, int | float):
        return (None, MISSING) if math.isnan(value) else (float(value), OK)
    text = str(value).strip()
    if not text or text in _SYMBOLS:
        return _SYMBOLS.get(text, (None, IMPOSSIBLE))
    try:
        return float(text.replace(",", ".")), OK
    except ValueError:
        return None, INVALID


def suppression_rules(properties: Iterable[Mapping[str, Any]]) -> dict[str, tuple[str, float]]:
    """Per Topic key: the base variable (key stem) and the threshold its description states.

    Only rules of the form "at least N <population>" are read; the highest N per key is kept.
    """
    rules: dict[str, tuple[str, float]] = {}
    for prop in properties:
        if prop.get("Type") != "Topic":
            continue
        text = re.sub(r"\s+", " ", str(prop.get("Description") or "")).lower()
        for match in (m for pattern in _THRESHOLDS for m in pattern.finditer(text)):
            base = next((stem for words, stem in _BASES if match["what"].startswith(words)), None)
            if base is None:
                continue
            threshold = float(match["n"].rstrip(".").replace(".", ""))
            if threshold > rules.get(prop["Key"], ("", 0.0))[1]:
                rules[prop["Key"]] = (base, threshold)
    return rules


def refine(status: str, base_value: float | None, threshold: float) -> str:
    """``geheim`` for a gap in a region whose base is below CBS's stated threshold."""
    if status == MISSING and base_value is not None and base_value < threshold:
        return SECRET
    return status
