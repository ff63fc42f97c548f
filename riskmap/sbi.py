"""SBI 2008 codes (shipped list) and the risk branches of ``config/risk_branches.yaml``."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from riskmap.errors import ConfigError

CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"


def config_file(name: str) -> Path:
    """A file of the default configuration folder (``config/`` of the checkout or package)."""
    packaged = Path(str(resources.files("riskmap").joinpath("defaults", name)))
    return packaged if packaged.exists() else CONFIG_DIR / name


@cache
def sbi_codes() -> pd.DataFrame:
    """The SBI 2008 list: ``code``, ``niveau``, ``sectie``, ``titel`` (codes without dots)."""
    with resources.files("riskmap").joinpath("data/sbi2008.csv").open(encoding="utf-8") as fh:
        return pd.read_csv(fh, dtype=str)


@cache
def _valid_codes() -> frozenset[str]:
    table = sbi_codes()
    return frozenset(table.loc[table["niveau"] != "sectie", "code"])


def normalise_sbi(values: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Clean SBI codes and check them against the SBI 2008 list.

    Dots and spaces are removed; a code that lost its leading zero in a spreadsheet (``111``
    for ``0111``) is repaired when only the repaired form is valid.

    Returns
    -------
    codes, valid, repaired
        The cleaned codes, whether each is in SBI 2008, and whether a leading zero was added.
    """
    valid_codes = _valid_codes()
    text = values.astype(str).str.replace(r"[.\s]", "", regex=True).str.replace(
        r"\.0$", "", regex=True)
    text = text.where(text.str.fullmatch(r"\d{2,5}"), "")
    valid = text.isin(valid_codes)
    padded = "0" + text
    repaired = ~valid & (text != "") & padded.isin(valid_codes)
    codes = text.where(~repaired, padded)
    return codes, valid | repaired, repaired


@dataclass(frozen=True)
class Branch:
    """A risk branch: key, Dutch label, SBI prefixes and a note on why."""

    key: str
    label: str
    prefixes: tuple[str, ...]
    note: str


@cache
def risk_branches(path: str | None = None) -> dict[str, Branch]:
    """Risk branches from ``risk_branches.yaml``; every prefix must be an SBI 2008 code."""
    file = Path(path) if path else config_file("risk_branches.yaml")
    data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    known = _valid_codes()
    branches: dict[str, Branch] = {}
    for key, spec in (data.get("branches") or {}).items():
        prefixes = tuple(str(p) for p in spec.get("sbi", []))
        unknown = [p for p in prefixes if p not in known]
        if unknown or not prefixes:
            raise ConfigError(f"{file}: branch {key!r} has SBI code(s) not in SBI 2008: "
                              f"{', '.join(unknown) or '(none given)'}")
        branches[key] = Branch(key, str(spec.get("label", key)), prefixes, str(spec.get("note", "")))
    return branches


def branch_of(codes: pd.Series, branches: dict[str, Branch] | None = None) -> pd.Series:
    """The risk branch of each SBI code (the longest matching prefix wins), else None."""
    branches = branches if branches is not None else risk_branches()
    pairs = sorted(((p, b.key) for b in branches.values() for p in b.prefixes),
                   key=lambda item: -len(item[0]))
    out = np.full(len(codes), None, dtype=object)
    text = codes.fillna("").astype(str).to_numpy()
    for prefix, key in pairs:
        hit = (out == None) & np.char.startswith(text.astype(str), prefix)  # noqa: E711
        out[hit] = key
    return pd.Series(out, index=codes.index, dtype=object)

