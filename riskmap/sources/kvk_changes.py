"""Changes of owner, name and main activity, seen between successive KvK extracts.

One extract shows each establishment as it is on the extract's date, with its start and end
date: it cannot show that an establishment changed hands, name or activity before. Two extracts
can, per vestigingsnummer (pseudonymised the same way in both):

- *eigenaar*: another KvK-nummer. The KvK gives a business that is transferred to another
  natural person, partnership or legal entity a new KvK-nummer (kvk.nl, "New owner? New KVK
  number!"; not after a share transfer or a conversion such as nv to bv, which this cannot see);
- *naam*: another (first) handelsnaam, compared by its keyed hash (names are never stored);
- *activiteit*: another main SBI code. Across the KvK's conversion to SBI 2025 a code that
  Eurostat's correspondence links to the old class is the same activity, not a change; a class
  without a link compares by harmonised section.

A change is dated the day the later extract shows it (its ``peildatum``, else its latest start
or end date), so indicators count changes *seen* within their window. The changes of earlier
loads are carried over by each KvK load, so they are kept (and undone) with the extracts.
"""

from __future__ import annotations

import pandas as pd

from riskmap.indicators.business import CHANGE_KINDS
from riskmap.sbi import correspondence, section_of
from riskmap.sources._io import parse_dates
from riskmap.store import KEEP, Store

COLUMNS = ["id", "kind", "seen"]


def extract_date(frame: pd.DataFrame) -> pd.Timestamp:
    """The date of an extract: its ``peildatum``, else the latest start or end date in it."""
    if "peildatum" in frame.columns:
        found = parse_dates(pd.Series(frame["peildatum"].unique())).max()
        if pd.notna(found):
            return pd.Timestamp(found)
    dates = pd.concat([frame["start_date"], frame["end_date"]])
    return pd.Timestamp(dates.max())


def _same_activity(old: pd.DataFrame) -> pd.Series:
    """Whether the new code continues the old one (same version: equal codes; across versions:
    a linked class, or the same harmonised section where the old class has no link)."""
    links = correspondence()
    linked = set(zip(links["sbi2008"], links["sbi2025"], strict=True))
    unlinked = ~old["sbi_old"].str[:4].isin(set(links["sbi2008"]))
    same_version = old["version_old"] == old["version_new"]
    pairs = [(a[:4], b[:4]) in linked or (b[:4], a[:4]) in linked
             for a, b in zip(old["sbi_old"], old["sbi_new"], strict=True)]
    sections = section_of(old["sbi_old"], old["version_old"]) == \
        section_of(old["sbi_new"], old["version_new"])
    across = pd.Series(pairs, index=old.index) | (unlinked & sections)
    return (same_version & (old["sbi_old"] == old["sbi_new"])) | (~same_version & across)


def changes_between(previous: pd.DataFrame, current: pd.DataFrame,
                    seen: pd.Timestamp) -> pd.DataFrame:
    """The changes per establishment between two extracts (columns :data:`COLUMNS`).

    Both frames have ``id, kvk, name_key, sbi, sbi_version``; blanks never count as a change.
    """
    both = previous.merge(current, on="id", suffixes=("_old", "_new"))
    found = []
    for kind, column in zip(CHANGE_KINDS, ("kvk", "name_key", "sbi"), strict=True):
        old, new = both[f"{column}_old"], both[f"{column}_new"]
        known = old.notna() & new.notna() & (old != "") & (new != "")
        if kind == "activiteit":
            part = both.loc[known].rename(columns={"sbi_version_old": "version_old",
                                                   "sbi_version_new": "version_new"})
            changed = part.index[~_same_activity(part)]
        else:
            changed = both.index[known & (old != new)]
        found.append(pd.DataFrame({"id": both.loc[changed, "id"], "kind": kind}))
    out = pd.concat(found, ignore_index=True)
    return out.assign(seen=seen.date())[COLUMNS]


def changes_with_earlier(store: Store, current: pd.DataFrame,
                         seen: pd.Timestamp) -> pd.DataFrame:
    """The changes the store knows (from earlier loads) and those between the establishments
    in the store and ``current`` (those it writes), without repeats."""
    previous = store.query("SELECT id, kvk, name_key, sbi, sbi_version FROM establishments")
    earlier = store.query("SELECT id, kind, seen FROM establishment_changes")
    new = pd.DataFrame(columns=COLUMNS)
    if not previous.empty:  # of ``current``, the rows the store will write (see KEEP)
        kept = current[KEEP].to_numpy(bool) if KEEP in current else slice(None)
        new = changes_between(previous, current.loc[kept, list(previous.columns)], seen)
    both = pd.concat([earlier.assign(seen=pd.to_datetime(earlier["seen"]).dt.date), new],
                     ignore_index=True)
    return both.drop_duplicates(["id", "kind", "seen"]).reset_index(drop=True)
