"""Business register extract (KvK Handelsregister vestigingen, or a similar register).

Formats are read by :mod:`riskmap.sources.kvk_formats` (the template, common export headers, the
KVK API's JSON or its flattened CSV). Names, trade names and street addresses in the file are
never stored; numbers are pseudonymised.

SBI version
-----------
Each extract is coded in one SBI version: SBI 2008 before the KvK's conversion of 5–7 September
2025, SBI 2025 after it. The version is, in this order:

1. the one given (``--sbi 2008|2025``);
2. from the extract's date: a ``peildatum`` column after 7 September 2025 (or an establishment
   that started after it) means SBI 2025, a ``peildatum`` before 5 September 2025 means SBI 2008;
3. from the codes: the version that explains codes the other does not (a 4-digit code counts for
   SBI 2008, because the KvK assigns only 5-digit codes in SBI 2025).

Where the date points to one version and every distinguishing code to the other, or where there
is no date and the codes point to both or neither, the load is refused with one line asking for
``--sbi``. Codes are then validated against that version only; what does not fit is rejected and
counted. The KvK placeholders ``0001`` (nog niet vastgesteld) and ``0002`` (geen
bedrijfsactiviteit) are kept, in no branch and no section, and counted.

Partial dates
-------------
KvK dates with an unknown day or month (``20110800``, ``19950000``) are imputed at the middle of
the known period: the 15th of the month, or 1 July of the year; never past the establishment's
other date (a start stays on or before its end). Each imputation is counted.
"""

from __future__ import annotations

import logging
import re
from datetime import date
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from riskmap._forked import threaded
from riskmap.branches import branch_of
from riskmap.config import Config
from riskmap.errors import InputError
from riskmap.sbi import (
    PLACEHOLDERS,
    check_version,
    clean_codes,
    normalise_sbi,
    placeholder_code,
    section_of,
    version_evidence,
)
from riskmap.sources._io import (
    arrow_dates,
    arrow_strings,
    blank,
    parse_dates,
    require_columns,
)
from riskmap.sources._places import coded_per_values, numbers, per_value, per_values
from riskmap.sources._records import (
    AREA_COLUMNS,
    address_keys_of,
    date_window,
    drop_duplicates,
    finish,
    locate,
    pseudonymiser,
    reject_implausible_dates,
    reject_out_of_range,
    reject_where,
)
from riskmap.sources.kvk_changes import changes_with_earlier, extract_date
from riskmap.sources.kvk_formats import read_extract
from riskmap.store import LoadRecord, Store, file_fingerprint, keep_only, kept_rows

log = logging.getLogger(__name__)

# What Python's str.split() splits on (every character str.isspace() is true for), for RE2
PYTHON_SPACES = (r"\x{9}\x{a}\x{b}\x{c}\x{d}\x{1c}\x{1d}\x{1e}\x{1f}\x{20}\x{85}\x{a0}"
                 r"\x{1680}\x{2000}\x{2001}\x{2002}\x{2003}\x{2004}\x{2005}\x{2006}\x{2007}"
                 r"\x{2008}\x{2009}\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}")
# A run of them, or one that is not a plain space: what a name is rewritten for
ODD_SPACES = "[" + PYTHON_SPACES + "]{2,}|[" + PYTHON_SPACES.replace(r"\x{20}", "") + "]"

REQUIRED = ("vestigingsnummer", "sbi_hoofdactiviteit", "datum_aanvang")
LOCATION = (("x_rd", "y_rd"), ("lat", "lon"), ("postcode", "huisnummer"))
# the columns still used once the rows are checked and placed
KEPT = ("sbi", "sbi_hoofdactiviteit", "sbi_nevenactiviteiten", "rechtsvorm", "start_date",
        "end_date", "staff", "peildatum")
# the KvK converted the register to SBI 2025 over the weekend of 5-7 September 2025
CONVERSION = (date(2025, 9, 5), date(2025, 9, 7))
_YMD = re.compile(r"^(\d{4})[-/]?(\d{2})[-/]?(\d{2})$")
_DMY = re.compile(r"^(\d{2})[-/](\d{2})[-/](\d{4})$")


def _version_by_date(frame: pd.DataFrame) -> tuple[int | None, str]:
    if "peildatum" in frame.columns:
        peil = parse_dates(pd.Series(frame["peildatum"].unique())).max()
        if pd.notna(peil):
            day = peil.date()
            if day > CONVERSION[1]:
                return 2025, f"peildatum {day:%d-%m-%Y}"
            if day < CONVERSION[0]:
                return 2008, f"peildatum {day:%d-%m-%Y}"
    start = parse_dates(pd.Series(frame["datum_aanvang"].unique())).max()
    if pd.notna(start) and start.date() > CONVERSION[1]:
        return 2025, f"startdatum {start.date():%d-%m-%Y} na de omzetting"
    return None, ""


def _examples(codes: list[str]) -> str:
    return ", ".join(clean_codes(pd.Series(codes[:3])).tolist())


def sbi_version(frame: pd.DataFrame, path: Path, explicit: object = None) -> tuple[int, str]:
    """The SBI version of an extract and why (see the module docstring)."""
    if explicit not in (None, ""):
        return check_version(explicit), "--sbi"
    by_date, why = _version_by_date(frame)
    evidence = version_evidence(frame["sbi_hoofdactiviteit"])
    by_codes = [v for v, codes in evidence.items() if codes]
    ask = "geef --sbi 2008 of --sbi 2025"
    if by_date and by_codes and by_date not in by_codes:
        other = by_codes[0]
        raise InputError(f"{path}: de {why} wijst op SBI {by_date}, maar de SBI-codes passen "
                         f"alleen in SBI {other} (bijv. {_examples(evidence[other])}); {ask}")
    if by_date:
        return by_date, why
    if len(by_codes) == 1:
        return by_codes[0], f"{len(evidence[by_codes[0]])} codes die alleen in SBI " \
                            f"{by_codes[0]} bestaan"
    if by_codes:
        raise InputError(f"{path}: SBI-codes uit beide versies (alleen SBI 2008: "
                         f"{_examples(evidence[2008])}; alleen SBI 2025: "
                         f"{_examples(evidence[2025])}) en geen peildatum; {ask}")
    raise InputError(f"{path}: uit de SBI-codes en datums is niet af te leiden of dit SBI 2008 "
                     f"of SBI 2025 is; {ask}")


_NO_DATE: tuple[object, object, object, object] = (pd.NaT, pd.NaT, pd.NaT, None)
_DATE_PARTS = ("date", "low", "high", "imputed")


def _partial_date(text: str) -> tuple[object, object, object, object]:
    """``(imputed, low, high, kind)`` of a date whose day or month is ``00``."""
    match = _YMD.match(text)
    if match:
        year, month, day = match.groups()
    elif match := _DMY.match(text):
        day, month, year = match.groups()
    else:
        return _NO_DATE
    if month == "00" and day == "00":
        return (pd.Timestamp(f"{year}-07-01"), pd.Timestamp(f"{year}-01-01"),
                pd.Timestamp(f"{year}-12-31"), "jaar")
    if day == "00" and "01" <= month <= "12":
        low = pd.Timestamp(f"{year}-{month}-01")
        return low + pd.Timedelta(days=14), low, low + pd.offsets.MonthEnd(0), "maand"
    return _NO_DATE


def kvk_dates(values: pd.Series) -> pd.DataFrame:
    """Dates as KvK writes them, with partial dates imputed (see the module docstring).

    Columns ``date``, ``low`` and ``high`` (the known period of an imputed date) and ``imputed``
    (``"jaar"`` or ``"maand"`` where imputed, else None). Each distinct value is parsed once.
    """
    return pd.DataFrame(dict(zip(_DATE_PARTS, per_values(values.astype(str), _distinct_dates),
                                 strict=True)))


def _distinct_dates(distinct: pd.Series) -> list[pd.Series]:
    """:func:`kvk_dates` of distinct values, as the columns ``date``, ``low``, ``high`` and
    ``imputed``."""
    exact = parse_dates(distinct)
    parts = pd.DataFrame([_partial_date(str(u).strip()) if pd.isna(d) else _NO_DATE
                          for u, d in zip(distinct, exact, strict=True)],
                         columns=list(_DATE_PARTS), index=distinct.index)
    for column in ("date", "low", "high"):
        parts[column] = pd.to_datetime(parts[column])
    parts["date"] = exact.fillna(parts["date"])
    return [parts[column] for column in parts.columns]


def _dates(frame: pd.DataFrame, record: LoadRecord) -> pd.DataFrame:
    """Start and end dates (imputed where partial, kept consistent), with notes counted."""
    start = kvk_dates(frame["datum_aanvang"])
    end = kvk_dates(_column(frame, "datum_einde"))
    s, e = start["date"].copy(), end["date"].copy()
    fix_start = start["imputed"].notna() & e.notna() & (s > e)
    s[fix_start] = np.maximum(start.loc[fix_start, "low"], e[fix_start])
    fix_end = end["imputed"].notna() & s.notna() & (e < s)
    e[fix_end] = np.minimum(end.loc[fix_end, "high"], s[fix_end])
    for name, parsed in (("datum_aanvang", start), ("datum_einde", end)):
        for kind, fill in (("jaar", "1 juli"), ("maand", "de 15e")):
            record.note(f"{name} zonder {'maand en dag' if kind == 'jaar' else 'dag'} "
                        f"({fill} genomen)", int((parsed["imputed"] == kind).sum()))
    return frame.assign(start_date=s, end_date=e)


def _sbi(frame: pd.DataFrame, version: int, record: LoadRecord) -> pd.DataFrame:
    """Main SBI code per row in ``version``, placeholders kept, blanks and unknown rejected."""
    placeholder, codes, valid, repaired, empty = per_values(frame["sbi_hoofdactiviteit"],
                                                            partial(_sbi_parts, version))
    plain = placeholder.isna().to_numpy(bool)  # a code, not a placeholder
    no_code = empty.to_numpy(bool) & plain
    bad = no_code | (~valid.to_numpy(bool) & plain)
    record.reject("geen SBI-code", int(no_code.sum()))
    record.reject(f"onbekende SBI-code (SBI {version})", int((bad & ~no_code).sum()))
    kept = placeholder[~bad] if bad.any() else placeholder
    for code, label in PLACEHOLDERS.items():
        record.note(label, int((kept == code).sum()))
    record.note("SBI-code aangevuld met voorloopnul", int(repaired.to_numpy(bool)[~bad].sum()))
    frame = frame.assign(sbi=codes.where(plain, None))
    return frame.loc[~bad] if bad.any() else frame


def _sbi_parts(version: int, values: pd.Series) -> tuple[pd.Series, ...]:
    """Of distinct SBI codes as delivered: the placeholder each is (or None), the cleaned code,
    whether it is in the list of ``version``, whether a leading zero was added, and whether it
    is blank."""
    return (placeholder_code(values), *normalise_sbi(values, version), blank(values))


def _branch_and_section(version: int, codes: pd.Series) -> tuple[pd.Series, pd.Series]:
    versions = pd.Series(version, index=codes.index)
    return branch_of(codes, versions), section_of(codes, versions)


def _other_sbi(values: pd.Series) -> pd.Series:
    return per_value(values, _other_sbi_codes)


def _other_sbi_codes(values: pd.Series) -> pd.Series:
    cleaned = values.astype(str).str.replace(r"[^\d,;/ |]", "", regex=True)
    parts = cleaned.str.split(r"[,;/ |]+", regex=True)
    return parts.apply(lambda codes: ",".join(c for c in codes if c) or None)


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    """The column ``name`` as text; empty texts where the extract has none (made only then)."""
    return frame[name].astype(str) if name in frame else \
        pd.Series("", index=frame.index, dtype="str")


def _numbers(values: pd.Series, digits: int) -> pd.Series:
    """KvK numbers with the leading zeros a spreadsheet dropped (vestigingsnummer 12 digits,
    KvK-nummer 8), so the same establishment gets the same pseudonym from every export."""
    text = values.astype(str)
    short = (text.str.len() < digits) & text.str.isdigit()
    if short.any():
        text = text.copy()
        text[short] = text[short].str.zfill(digits)
    return text


def load_kvk(store: Store, config: Config, path: str | Path, mapping: str | Path | None = None,
             sbi: object = None, format: str = "auto") -> LoadRecord:
    """Load a business-register extract into ``establishments`` (replaces the previous extract).

    Parameters
    ----------
    sbi
        The SBI version of the codes, ``2008`` or ``2025``; default: from the extract (see the
        module docstring).
    format
        ``{"auto", "kvk-api", "sjabloon"}`` (see :mod:`riskmap.sources.kvk_formats`).

    Rows are rejected, and counted by reason, for: a missing vestigingsnummer, SBI code or start
    date, an SBI code not in the extract's version, an end date before the start date,
    duplicates, no location (no coordinates and an address not in BAG) and a location outside
    the gemeente. Each establishment keeps its code, its version and the code as delivered, and
    gets its risk branch and harmonised (SBI 2025) section.
    """
    path = Path(path)
    # the file's fingerprint is made in a thread while this one reads it
    with threaded([partial(file_fingerprint, path)] if path.is_file() else []) as fingerprint:
        frame, notes = read_extract(path, format, mapping)
        require_columns(frame, REQUIRED, path, alternatives=LOCATION)
        record = LoadRecord("kvk", "vestigingen", path=path, rows_read=len(frame),
                            fingerprint=next(fingerprint, None))
    for note, count in notes.items():
        record.note(note, count)
    frame = frame.assign(vestigingsnummer=_numbers(frame["vestigingsnummer"], 12),
                         kvk_nummer=_numbers(_column(frame, "kvk_nummer"), 8))
    frame = reject_where(frame, blank(frame["vestigingsnummer"]), "geen vestigingsnummer", record)
    frame = drop_duplicates(frame, "vestigingsnummer", record)
    # the pseudonyms are made in another process while this one checks and places the rows
    pseudo = pseudonymiser(store, config)
    with pseudo.meanwhile([(partial(address_keys_of, frame), "adres"),
                           (frame["vestigingsnummer"], "vestiging"),
                           (_column(frame, "kvk_nummer"), "kvk"),
                           (partial(_names, frame), "handelsnaam")], frame.index) as hashed:
        frame, version = _checked(frame, path, sbi, config, record)
        areas, inside = locate(store, config, frame, record, pseudo,
                               addresses=partial(hashed.take, frame.index))
        # the address, the raw dates and staff and what is hashed are used up: let go
        frame = frame[[c for c in KEPT if c in frame]]
        ids, owners, names = (hashed.take(frame.index) for _ in range(3))  # in the jobs' order
        # a few distinct texts each: kept as codes, not a text per row (3M rows: 0.4 s)
        branch, section = coded_per_values(frame["sbi"], partial(_branch_and_section, version))
        rows = pd.DataFrame({
            "id": ids,
            "kvk": owners,
            "sbi": frame["sbi"],
            "sbi_other": _other_sbi(_column(frame, "sbi_nevenactiviteiten")),
            "sbi_version": version,
            "sbi_original": frame["sbi_hoofdactiviteit"],
            "branch": branch,
            "section": section,
            "start_date": arrow_dates(frame["start_date"]),
            "end_date": arrow_dates(frame["end_date"]),
            "legal_form": _column(frame, "rechtsvorm").str.strip().replace("", None),
            "staff": frame["staff"].round().astype("Int64"),
            "name_key": names,
        })
    rows = pd.concat([rows, areas[["address", *AREA_COLUMNS]]], axis=1)
    keep_only(rows, inside)  # the rows outside the gemeente: left out as the store writes
    changes = changes_with_earlier(store, rows, extract_date(frame))
    finish(record, kept_rows(rows))  # the notes are in the summary
    record.note("wijzigingen van eigenaar, naam of activiteit t.o.v. eerdere uittreksels",
                len(changes))
    store.write_load(record, {"establishments": rows, "establishment_changes": changes})
    return record


def _checked(frame: pd.DataFrame, path: Path, sbi: object, config: Config,
             record: LoadRecord) -> tuple[pd.DataFrame, int]:
    """The rows with a known SBI code (harmonised), valid and plausible dates and a plausible
    number of staff (``staff``), and the extract's SBI version; the others are rejected in
    ``record``."""
    version, why = sbi_version(frame, path, sbi)
    log.info("%s: SBI %s (%s)", path.name, version, why)
    frame = _sbi(frame, version, record)
    frame = _dates(frame, record)
    frame = reject_where(frame, frame["start_date"].isna(), "ongeldige datum_aanvang", record)
    frame = reject_implausible_dates(frame, "datum_aanvang", frame["start_date"],
                                     date_window(config, "plausibility.first_start_date"), record)
    staff = numbers(_column(frame, "werkzame_personen"))
    frame = reject_out_of_range(frame.assign(staff=staff), "werkzame_personen", staff, 0,
                                config["plausibility.max_staff"], record)
    return reject_where(frame, frame["end_date"] < frame["start_date"],
                        "datum_einde voor datum_aanvang", record), version


def _names(frame: pd.DataFrame) -> pd.Series:
    """Trade names normalised for comparison (case, spaces), missing where blank; only their
    keyed hash is stored. As ``" ".join(name.strip().lower().split())``, but by Arrow, and
    only the names with other spaces than single ones are rewritten."""
    names = _column(frame, "handelsnaam").astype("str").str.strip().str.lower()
    text = arrow_strings(names)
    odd = pc.fill_null(pc.match_substring_regex(text, ODD_SPACES), False)
    if pc.any(odd).as_py():
        rewritten = pc.replace_substring_regex(text.filter(odd), f"[{PYTHON_SPACES}]+", " ")
        text = pc.replace_with_mask(text, odd, pc.utf8_trim(rewritten, " "))
        names = pd.Series(pd.array(text, dtype="str"), index=names.index)
    return names.where(~blank(names), None)
