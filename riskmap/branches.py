r"""Risk branches in both SBI versions, the rules where a class splits, and the check between them.

``config/risk_branches.yaml`` defines every branch twice: as SBI 2008 and as SBI 2025 code
prefixes. An establishment is in a branch when its code, read in its own version, starts with one
of that version's prefixes (the longest prefix wins; branches are disjoint). The branch key is the
same in both versions, so it is the harmonised branch.

Notes
-----
Eurostat's class correspondence (``riskmap.sbi.correspondence``) links each SBI 2008 class to the
SBI 2025 classes its establishments can land in. A link is *consistent* when both ends are wholly
in the same branch, or both in none. Every other link (a class that splits over a branch boundary,
or a class the branch covers only with some of its subclasses) must be covered by a ``splits``
rule that says, in Dutch, what happens to those establishments at the switch; loading the
definitions fails otherwise, so no split goes undocumented.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskmap import _yaml
from riskmap.errors import ConfigError
from riskmap.sbi import VERSIONS, config_file, correspondence, valid_codes


@dataclass(frozen=True)
class Branch:
    """A risk branch: key, Dutch label, code prefixes per SBI version and a note on why."""

    key: str
    label: str
    prefixes: Mapping[int, tuple[str, ...]]
    note: str


@dataclass(frozen=True)
class SplitRule:
    """What happens at the switch to SBI 2025 to the establishments of some SBI 2008 classes."""

    sbi2008: tuple[str, ...]
    sbi2025: tuple[str, ...]
    rule: str

    def covers(self, old: str, new: str) -> bool:
        """Whether this rule explains the link from SBI 2008 ``old`` to SBI 2025 ``new``."""
        return old.startswith(self.sbi2008) and new.startswith(self.sbi2025)


@dataclass(frozen=True)
class BranchDefinitions:
    """The branches and split rules of one ``risk_branches.yaml``."""

    branches: dict[str, Branch]
    splits: tuple[SplitRule, ...]


def _codes(value: Any, version: int, where: str) -> tuple[str, ...]:
    codes = tuple(str(c) for c in (value or []))
    unknown = [c for c in codes if c not in valid_codes(version)]
    if unknown or not codes:
        raise ConfigError(f"{where}: SBI {version}-code(s) die niet in SBI {version} bestaan: "
                          f"{', '.join(unknown) or '(geen opgegeven)'}")
    return codes


def _branch(key: str, spec: Mapping[str, object], file: Path) -> Branch:
    prefixes = {v: _codes(spec.get(f"sbi{v}"), v, f"{file}: branche {key!r}") for v in VERSIONS}
    return Branch(key, str(spec.get("label", key)), prefixes, str(spec.get("note", "")))


def _check_disjoint(branches: dict[str, Branch], file: Path) -> None:
    for version in VERSIONS:
        owners = [(p, b.key) for b in branches.values() for p in b.prefixes[version]]
        for prefix, key in owners:
            clash = [k for p, k in owners if k != key and p.startswith(prefix)]
            if clash:
                raise ConfigError(f"{file}: SBI {version}-code {prefix} van branche {key!r} "
                                  f"overlapt met branche {clash[0]!r}; branches zijn disjunct")


@cache
def branch_definitions(path: str | None = None) -> BranchDefinitions:
    """Branches and split rules from ``risk_branches.yaml``, checked (see the module notes)."""
    file = Path(path) if path else config_file("risk_branches.yaml")
    data = _yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    branches = {str(k): _branch(str(k), spec or {}, file)
                for k, spec in (data.get("branches") or {}).items()}
    _check_disjoint(branches, file)
    splits = tuple(SplitRule(_codes(s.get("sbi2008"), 2008, f"{file}: splits"),
                             _codes(s.get("sbi2025"), 2025, f"{file}: splits"),
                             str(s.get("rule", "")).strip())
                   for s in data.get("splits") or [])
    definitions = BranchDefinitions(branches, splits)
    missing = unexplained_links(definitions)
    if not missing.empty:
        first = missing.fillna("geen branche").iloc[0]
        raise ConfigError(
            f"{file}: {len(missing)} SBI 2008 → 2025-koppeling(en) zonder splitsingsregel, o.a. "
            f"{first['sbi2008'] or '-'} ({first['branch2008']}) → {first['sbi2025'] or '-'} "
            f"({first['branch2025']}); voeg een regel toe onder 'splits'")
    return definitions


def risk_branches(path: str | None = None) -> dict[str, Branch]:
    """The risk branches of ``risk_branches.yaml`` by key."""
    return branch_definitions(path).branches


def sbi_groups() -> dict[str, Branch]:
    """The SBI groups of the themes witwassen and zorg (``config/sbi_groups.yaml``), defined and
    checked like the risk branches."""
    return branch_definitions(str(config_file("sbi_groups.yaml"))).branches


def _memberships(codes: set[str], version: int, branches: dict[str, Branch]) -> dict[str, str | None]:
    """The branch a whole class is in; ``"deels: ..."`` when only some subclasses are (branches
    are disjoint: at most one has a prefix of the code), per code."""
    owner: dict[str, str] = {}  # prefix -> its branch
    under: dict[str, set[str]] = {}  # start of a longer prefix -> the branches with one
    for branch in branches.values():
        for prefix in branch.prefixes[version]:
            owner[prefix] = branch.key
            for n in range(1, len(prefix)):
                under.setdefault(prefix[:n], set()).add(branch.key)
    found: dict[str, str | None] = {}
    for code in codes:
        whole = next((owner[code[:n]] for n in range(1, len(code) + 1) if code[:n] in owner),
                     None)
        part = under.get(code)
        found[code] = whole or (f"deels {'/'.join(sorted(part))}" if part else None)
    return found


def _classes(version: int) -> list[str]:
    return sorted(c for c in valid_codes(version) if len(c) == 4)


def unexplained_links(definitions: BranchDefinitions) -> pd.DataFrame:
    """Class links whose ends differ in branch and that no split rule covers.

    Columns ``sbi2008, sbi2025, branch2008, branch2025``; classes without any link (SBI 2008's
    Dutch-only classes, SBI 2025's ``4689``) appear with the other end blank.
    """
    links = correspondence()[["sbi2008", "sbi2025"]]
    lone = [pd.DataFrame({"sbi2008": sorted(set(_classes(2008)) - set(links["sbi2008"])),
                          "sbi2025": ""}),
            pd.DataFrame({"sbi2008": "",
                          "sbi2025": sorted(set(_classes(2025)) - set(links["sbi2025"]))})]
    links = pd.concat([links, *lone], ignore_index=True)
    branches = definitions.branches
    for version in VERSIONS:  # each class looked up once (it has several links)
        codes = links[f"sbi{version}"]
        member = _memberships(set(codes) - {""}, version, branches)
        links[f"branch{version}"] = [member.get(c) for c in codes]
    same = (links["branch2008"].fillna("") == links["branch2025"].fillna("")) \
        & ~links["branch2008"].fillna("").str.startswith("deels")
    lone_free = ((links["sbi2008"] == "") | (links["sbi2025"] == "")) \
        & links["branch2008"].isna() & links["branch2025"].isna()
    links = links.loc[~(same | lone_free)]
    covered = [any(r.covers(a, b) for r in definitions.splits) if (a and b) else
               any((a and a.startswith(r.sbi2008)) or (b and b.startswith(r.sbi2025))
                   for r in definitions.splits)
               for a, b in zip(links["sbi2008"], links["sbi2025"], strict=True)]
    return links.loc[~np.asarray(covered, dtype=bool)].reset_index(drop=True)


def branch_of(codes: pd.Series, versions: pd.Series | int,
              branches: dict[str, Branch] | None = None) -> pd.Series:
    """The risk branch of each code read in its version (longest matching prefix), else None."""
    branches = branches if branches is not None else risk_branches()
    if isinstance(versions, int):
        versions = pd.Series(versions, index=codes.index)
    text = codes.fillna("").astype(str).to_numpy().astype(str)
    out = np.full(len(codes), None, dtype=object)
    for version in VERSIONS:
        mine = (versions == version).to_numpy()
        pairs = sorted(((p, b.key) for b in branches.values() for p in b.prefixes[version]),
                       key=lambda item: -len(item[0]))
        for prefix, key in pairs:
            hit = mine & (out == None) & np.char.startswith(text, prefix)  # noqa: E711
            out[hit] = key
    return pd.Series(out, index=codes.index, dtype=object)
