r"""The two SBI classifications, SBI 2008 and SBI 2025, as the official lists shipped in ``data/``.

Every code is validated against its own version; nothing is converted from one version to the
other. What every establishment gets in one scheme is its *harmonised section*: the SBI 2025
section (A–V), because SBI 2025 is what the KvK registers since its conversion of 5–7 September
2025 and what CBS publishes from then on (the 2008 sections A–U differ: finance is K in 2008 and
L in 2025, and so on). Sources and limits of the lists: ``data/sbi_sources.md``.

Notes
-----
The harmonised section of an SBI 2008 code follows Eurostat's class correspondence: the section of
the SBI 2025 classes its class links to. Where those lie in several sections (24 of 604 classes),
the class with the same number decides when it is among them (``5210`` → H), else the section most
of the targets lie in (ties: alphabetical). The 11 Dutch-only 2008 classes that the table lacks
take the section of the SBI 2025 group with the same number (``8691`` → group ``869``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from riskmap._config_files import config_file  # noqa: F401 - imported from here too
from riskmap.errors import ConfigError, InputError

VERSIONS = (2008, 2025)
HARMONISED = 2025
# KvK codes that are not activities: kept on the establishment, in no branch and no section
PLACEHOLDERS = {"0001": "SBI-code nog niet vastgesteld (0001)",
                "0002": "geen bedrijfsactiviteit (0002)"}


def check_version(value: object) -> int:
    """``value`` as an SBI version (2008 or 2025), or an :class:`InputError` in Dutch."""
    text = str(value).strip()
    if text not in {str(v) for v in VERSIONS}:
        raise InputError(f"--sbi moet 2008 of 2025 zijn, niet {text!r}")
    return int(text)


@cache
def sbi_list(version: int) -> pd.DataFrame:
    """The official list of one version: ``code, level, parent, title_nl, title_en``.

    ``level`` is one of ``{"section", "division", "group", "class", "subclass"}``.
    """
    path = resources.files("riskmap").joinpath(f"data/sbi{check_version(version)}.csv")
    with path.open(encoding="utf-8") as fh:
        return pd.read_csv(fh, dtype=str, keep_default_na=False)


@cache
def correspondence() -> pd.DataFrame:
    """Eurostat's NACE Rev. 2 → Rev. 2.1 class links: ``sbi2008, sbi2025, kind``."""
    with resources.files("riskmap").joinpath("data/sbi2008_sbi2025.csv").open(encoding="utf-8") as fh:
        return pd.read_csv(fh, dtype=str, keep_default_na=False)


@cache
def valid_codes(version: int) -> frozenset[str]:
    """Every code of ``version`` below section level (divisions to subclasses)."""
    table = sbi_list(version)
    return frozenset(table.loc[table["level"] != "section", "code"])


@cache
def assigned_codes(version: int) -> frozenset[str]:
    """Codes at the levels the KvK assigns: classes and subclasses in SBI 2008, subclasses only
    in SBI 2025 (since the conversion every code is 5 digits)."""
    table = sbi_list(version)
    levels = {"class", "subclass"} if version == 2008 else {"subclass"}
    return frozenset(table.loc[table["level"].isin(levels), "code"])


@cache
def _code_array(codes: frozenset[str]) -> pa.Array:
    return pa.array(sorted(codes), type=pa.large_string())


def _among(values: pd.Series, codes: frozenset[str]) -> pd.Series:
    """``values.isin(codes)``, the codes made an Arrow array once: pandas makes a scalar of
    each at every call (4 ms for a list of a thousand codes, however few the values)."""
    text = pa.array(values, type=pa.large_string(), from_pandas=True)
    found = pc.is_in(text, value_set=_code_array(codes)).fill_null(False)
    return pd.Series(found.to_numpy(zero_copy_only=False), index=values.index, name=values.name)


def clean_codes(values: pd.Series) -> pd.Series:
    """Codes as digits only: dots, spaces and a spreadsheet's ``.0`` removed; other text blank."""
    text = values.astype(str).str.strip().str.replace(r"\.0$", "", regex=True)
    text = text.str.replace(r"[.\s\u00a0]", "", regex=True)
    return text.where(text.str.fullmatch(r"\d{1,5}"), "")


def is_placeholder(values: pd.Series) -> pd.Series:
    """True for the KvK placeholders ``0001`` and ``0002`` (also as ``1``/``00001``)."""
    return clean_codes(values).str.fullmatch(r"0*[12]")


def placeholder_code(values: pd.Series) -> pd.Series:
    """``0001`` or ``0002`` where a value is a placeholder, else None."""
    text = clean_codes(values)
    return text.str.lstrip("0").map({"1": "0001", "2": "0002"})


def normalise_sbi(values: pd.Series, version: int) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Clean SBI codes and check them against the list of ``version``.

    A code that lost its leading zero in a spreadsheet is repaired when the repaired form is at a
    level the KvK assigns and the code as it stands is not (:func:`assigned_codes`): ``141`` is
    SBI 2008 class ``0141``, not group ``141``; ``1110`` is SBI 2025 subclass ``01110``.

    Returns
    -------
    codes, valid, repaired
        The cleaned codes, whether each is in the list, and whether a leading zero was added.
    """
    assigned = assigned_codes(version)
    text = clean_codes(values)
    padded = "0" + text
    repaired = (text != "") & _among(padded, assigned) & ~_among(text, assigned)
    codes = text.where(~repaired, padded)
    return codes, _among(codes, valid_codes(version)), repaired


def version_evidence(values: pd.Series) -> dict[int, list[str]]:
    """Distinct codes that only one version explains, per version (sorted).

    A code counts for a version when it (or its repaired form) is in that version's list and not
    in the other's. A 4-digit code that is an SBI 2008 code counts for SBI 2008 unless it is an
    SBI 2025 subclass without its leading zero, because the KvK has assigned only 5-digit codes
    since its conversion to SBI 2025. Placeholders and blanks count for neither.
    """
    distinct = pd.Series(pd.unique(values.astype(str)))
    distinct = distinct[~is_placeholder(distinct) & (clean_codes(distinct) != "")]
    valid = {v: normalise_sbi(distinct, v)[1] for v in VERSIONS}
    codes_2025, _, repaired_2025 = normalise_sbi(distinct, HARMONISED)
    four = (clean_codes(distinct).str.len() == 4) & ~(repaired_2025 & (codes_2025.str.len() == 5))
    only_2008 = valid[2008] & (~valid[2025] | four)
    only_2025 = valid[2025] & ~valid[2008]
    return {2008: sorted(distinct[only_2008]), 2025: sorted(distinct[only_2025])}


def _section_of_code(table: pd.DataFrame) -> dict[str, str]:
    parents = dict(zip(table["code"], table["parent"], strict=True))
    sections: dict[str, str] = {}
    for code in table["code"]:
        top = code
        while parents.get(top):
            top = parents[top]
        sections[code] = top
    return sections


def _pick_section(code: str, targets: list[str], own: dict[str, str]) -> str:
    counts = Counter(own[t] for t in targets)
    if len(counts) == 1:
        return next(iter(counts))
    if code[:4] in targets:
        return own[code[:4]]
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[0][0]


@cache
def harmonised_sections(version: int) -> dict[str, str]:
    """Every code of ``version`` → its SBI 2025 section letter (see the module notes)."""
    own = _section_of_code(sbi_list(HARMONISED))
    if check_version(version) == HARMONISED:
        return {c: s for c, s in own.items() if c in valid_codes(HARMONISED)}
    links = correspondence().groupby("sbi2008")["sbi2025"].apply(list).to_dict()
    classes = sorted(c for c in valid_codes(2008) if len(c) == 4)
    sections: dict[str, str] = {}
    for code in sorted(valid_codes(2008)):
        under = [code[:4]] if len(code) >= 4 else [c for c in classes if c.startswith(code)]
        targets = [t for c in under for t in links.get(c, [])]
        targets += [c[:3] for c in under if c not in links and c[:3] in own]
        if targets:
            sections[code] = _pick_section(code, targets, own)
    return sections


def section_of(codes: pd.Series, versions: pd.Series) -> pd.Series:
    """The harmonised (SBI 2025) section of each code, given each code's version; else None."""
    out = pd.Series(None, index=codes.index, dtype=object)
    for version in VERSIONS:
        mine = versions == version
        out[mine] = codes[mine].map(harmonised_sections(version))
    return out.where(out.notna(), None)


def section_titles() -> dict[str, str]:
    """Dutch title of every SBI 2025 section (sentence case)."""
    table = sbi_list(HARMONISED)
    sections = table[table["level"] == "section"]
    return {c: t.capitalize() for c, t in zip(sections["code"], sections["title_nl"], strict=True)}


def _class_status(targets: list[str], prefixes: tuple[str, ...]) -> str:
    full = [t.startswith(prefixes) for t in targets]
    partial = [any(p.startswith(t) for p in prefixes) for t in targets]
    if all(full):
        return "in"
    return "out" if not any(full) and not any(partial) else "deels"


def sbi_prefixes(spec: Sequence[object] | Mapping[object, Sequence[object]],
                 where: str = "sbi") -> dict[int, tuple[str, ...]]:
    """Code prefixes per version for an ``sbi:`` filter of the indicator catalogue.

    ``spec`` is a list of SBI 2025 prefixes, or ``{2008: [...], 2025: [...]}``. From a list, the
    SBI 2008 side is every class whose correspondence targets all fall under the prefixes; a class
    with only some of its targets there is ambiguous, and then both sides must be given.
    """
    if isinstance(spec, Mapping):
        out = {int(str(v)): tuple(str(c) for c in spec.get(v, spec.get(str(v), [])) or [])
               for v in VERSIONS}
    else:
        out = {HARMONISED: tuple(str(c) for c in spec), 2008: ()}
    for version, codes in out.items():
        unknown = [c for c in codes if c not in valid_codes(version)]
        if unknown:
            raise ConfigError(f"{where}: SBI {version}-code(s) {', '.join(unknown)} bestaan niet")
    if isinstance(spec, Mapping):
        return out
    included, unclear = _classes_under(out[HARMONISED])
    if unclear:
        raise ConfigError(f"{where}: SBI 2008-klasse(n) {', '.join(unclear[:5])} vallen maar deels "
                          f"onder SBI 2025 {', '.join(out[HARMONISED])}; geef beide versies: "
                          f"{{2008: [...], 2025: [...]}}")
    return {2008: included, HARMONISED: out[HARMONISED]}


@cache
def _classes_under(prefixes: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """SBI 2008 classes wholly, and partly, under SBI 2025 ``prefixes``."""
    links = correspondence().groupby("sbi2008")["sbi2025"].apply(list).to_dict()
    status = {code: _class_status(links.get(code, [code[:3]]), prefixes)
              for code in sorted(c for c in valid_codes(2008) if len(c) == 4)}
    return (tuple(c for c, s in status.items() if s == "in"),
            tuple(c for c, s in status.items() if s == "deels"))
