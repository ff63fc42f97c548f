"""Business-register measures: counts of establishments and BAG addresses per area, in SQL.

Branches are matched on the harmonised ``branch`` stored with every establishment, so a series
does not change when the KvK's codes go from SBI 2008 to SBI 2025; ``sbi:`` filters are matched
on each code in its own version (see :func:`riskmap.sbi.sbi_prefixes`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from riskmap.areatypes import area_sql
from riskmap.branches import risk_branches, sbi_groups
from riskmap.periods import Period
from riskmap.sbi import VERSIONS, sbi_prefixes
from riskmap.store import Store

ACTIVE = "start_date <= $end AND (end_date IS NULL OR end_date > $end)"
# Started in the window at an address where another establishment ended in the year before
# (or the three months after) its start: a successor, which is what a change of owner looks
# like in one extract (the KvK gives a business that changes hands a new number). As a join of
# the few establishments started in the window (a correlated EXISTS made DuckDB join them all:
# 1.3 s against 0.15 s on 3 million establishments, the same counts).
SUCCESSION = ("start_date BETWEEN $first AND $end AND rowid IN (SELECT s.rowid FROM "
              "establishments s JOIN establishments p ON p.address = s.address WHERE s.start_date "
              "BETWEEN $first AND $end AND p.id <> s.id AND p.end_date BETWEEN s.start_date - "
              "INTERVAL 1 YEAR AND s.start_date + INTERVAL 3 MONTH)")
# Changes between successive KvK extracts (table establishment_changes).
CHANGE_KINDS = ("eigenaar", "naam", "activiteit")
# conditions per number in :func:`counts_by_levels` (a BIGINT's bits, its sign left alone)
BITS = 62


def branch_keys(branches: Any) -> list[str]:
    """The branch keys of a ``branches:`` filter (``"all"`` = every branch)."""
    return list(risk_branches()) if branches == "all" else [str(b) for b in branches]


def sbi_condition(spec: Any) -> tuple[str, dict[str, str]]:
    """SQL matching an ``sbi:`` filter on each establishment's code in its own version."""
    clauses, params = [], {}
    for version, prefixes in sbi_prefixes(spec).items():
        if prefixes:
            clauses.append(f"(sbi_version = {version} AND regexp_matches(sbi, $sbi{version}))")
            params[f"sbi{version}"] = "^(" + "|".join(prefixes) + ")"
    return "(" + (" OR ".join(clauses) or "false") + ")", params


def _prefix_pattern(prefixes: Sequence[str], listed: bool = False) -> str:
    """A regular expression matching a code (or, ``listed``, any code of a comma-separated list)
    that starts with one of ``prefixes``."""
    alternatives = "|".join(prefixes) or "$^"
    return f"(^|,)({alternatives})" if listed else f"^({alternatives})"


def _versioned(column: str, name: str, prefixes: Mapping[int, Sequence[str]],
               listed: bool = False) -> tuple[str, dict[str, str]]:
    """SQL: ``column`` (read in each establishment's SBI version) matches the prefixes."""
    clauses = [f"(sbi_version = {v} AND regexp_matches({column}, ${name}{v}))" for v in VERSIONS]
    params = {f"{name}{v}": _prefix_pattern(prefixes.get(v, ()), listed) for v in VERSIONS}
    return "(" + " OR ".join(clauses) + ")", params


def _group_prefixes(keys: Any) -> dict[int, list[str]]:
    groups = sbi_groups()
    return {v: [p for k in keys for p in groups[str(k)].prefixes[v]] for v in VERSIONS}


def activity_conditions(spec: Mapping[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """SQL conditions on the activities of establishments: SBI groups of the main activity
    (``groups``), and the nevenactiviteiten (``other``: in a risk branch, ``branches``, or none
    in the groups named by ``outside``; both given: either)."""
    conditions: list[str] = []
    params: dict[str, Any] = {}
    if spec.get("groups"):
        condition, found = _versioned("sbi", "grp", _group_prefixes(spec["groups"]))
        conditions.append(condition)
        params.update(found)
    other = spec.get("other") or {}
    either = []
    if other.get("branches"):
        keys = branch_keys(other["branches"])
        prefixes = {v: [p for k in keys for p in risk_branches()[k].prefixes[v]]
                    for v in VERSIONS}
        condition, found = _versioned("sbi_other", "nevrisk", prefixes, listed=True)
        either.append(f"(sbi_other IS NOT NULL AND {condition})")
        params.update(found)
    if other.get("outside"):
        condition, found = _versioned("sbi_other", "nevout", _group_prefixes(other["outside"]),
                                      listed=True)
        either.append(f"(sbi_other IS NOT NULL AND NOT {condition})")
        params.update(found)
    if either:
        conditions.append("(" + " OR ".join(either) + ")")
    return conditions, params


def establishment_conditions(spec: Mapping[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """SQL conditions and named parameters for an establishments measure."""
    conditions, params = activity_conditions(spec)
    flow = spec.get("flow")
    if flow == "started":
        conditions.append("start_date BETWEEN $first AND $end")
    elif flow == "ended":
        conditions.append("end_date BETWEEN $first AND $end")
    elif flow == "churn":
        conditions.append("(start_date BETWEEN $first AND $end OR end_date BETWEEN $first AND $end)")
    elif flow == "short_lived":
        conditions.append("end_date BETWEEN $first AND $end "
                          "AND end_date < start_date + INTERVAL 2 YEAR")
    elif flow == "succession":
        conditions.append(SUCCESSION)
    else:
        conditions.append(ACTIVE)
    if spec.get("branches"):
        conditions.append("branch IN (SELECT unnest($branches))")
        params["branches"] = branch_keys(spec["branches"])
    if spec.get("sbi"):
        condition, sbi_params = sbi_condition(spec["sbi"])
        conditions.append(condition)
        params.update(sbi_params)
    if spec.get("legal_form"):
        conditions.append("lower(legal_form) IN (SELECT lower(unnest($forms)))")
        params["forms"] = [str(f) for f in spec["legal_form"]]
    if "staff" in spec:
        conditions.append("staff = $staff")
        params["staff"] = int(spec["staff"])
    if spec.get("changed"):
        conditions.append("id IN (SELECT id FROM establishment_changes WHERE kind IN "
                          "(SELECT unnest($changes)) AND seen BETWEEN $first AND $end)")
        params["changes"] = [str(c) for c in spec["changed"]]
    if spec.get("shared_address"):
        # with shared_same, only establishments of the same activities count on the address
        same = activity_conditions(spec)[0] if spec.get("shared_same") else []
        conditions.append(f"address IN (SELECT address FROM establishments WHERE "
                          f"{' AND '.join([ACTIVE, *same])} "
                          "AND address IS NOT NULL GROUP BY address HAVING count(*) >= $shared)")
        params["shared"] = int(spec["shared_address"])
    return conditions, params


@dataclass(frozen=True)
class CountQuery:
    """The rows of ``table`` meeting every condition (SQL with named ``$`` parameters)."""

    table: str
    conditions: tuple[str, ...]
    params: Mapping[str, Any]

    def key(self) -> str:
        """Equal for queries that count the same rows."""
        return json.dumps([self.table, self.conditions, sorted(self.params.items())], default=str)


def counts_by_levels(store: Store, queries: Mapping[str, Sequence[CountQuery]],
                     codes: Mapping[str, Sequence[str]]) -> dict[str, dict[str, pd.Series]]:
    """The count per area code (0 where none) of each level's ``queries``, by
    :meth:`CountQuery.key`, for every level at once: one SQL query per table, which counts
    the rows per combination of the levels' area codes and of the distinct conditions of its
    queries a row meets (:func:`distinct_conditions`, as the bits of a number); each query's
    count per area is then the sum of the combinations that meet all of its conditions (one
    scan of the table for all levels and, when given their queries, quarters)."""
    levels = [level for level in queries if queries[level]]
    unique: dict[str, dict[str, CountQuery]] = {}
    for level in levels:
        for query in queries[level]:
            unique.setdefault(query.table, {})[query.key()] = query
    placed = " OR ".join(f"{area_sql(level)} IS NOT NULL" for level in levels)
    counted: dict[str, dict[str, pd.Series]] = {level: {} for level in levels}
    for table, group in unique.items():
        conditions, params, uses = distinct_conditions(list(group.values()))
        # a count per measure (count(*) FILTER ...) took the national query 3.2 s, counts per
        # combination of conditions met 1.9 s (163,000 combinations of areas and conditions)
        words = [conditions[i:i + BITS] for i in range(0, len(conditions), BITS)] or [[]]
        bits = [" + ".join(f"(CASE WHEN {sql} THEN {1 << k} ELSE 0 END)"
                           for k, sql in enumerate(word)) or "0" for word in words]
        frame = store.query(
            f"SELECT {', '.join(f'{area_sql(level)} AS a{j}' for j, level in enumerate(levels))}"
            f", {', '.join(f'{sql} AS b{w}' for w, sql in enumerate(bits))}, count(*) AS n "
            f"FROM {table} WHERE {placed} GROUP BY ALL", params)
        words_met = [frame[f"b{w}"].to_numpy(np.int64) for w in range(len(words))]
        rows = frame["n"].to_numpy(np.float64)
        met = {used: _meeting(words_met, used) for used in set(uses)}
        for j, level in enumerate(levels):
            wanted = pd.Index(list(codes[level]))
            areas = wanted.unique()
            at = areas.get_indexer(frame[f"a{j}"].to_numpy(object))  # -1: none or elsewhere
            inside = at >= 0
            for key, used in zip(group, uses, strict=True):
                take = inside & met[used]
                # (np.bincount gives integers when it counts nothing, even with weights)
                count = pd.Series(np.bincount(at[take], weights=rows[take], minlength=len(areas))
                                  .astype(np.float64, copy=False), index=areas, name="n")
                counted[level][key] = count if len(areas) == len(wanted) else count.reindex(wanted)
    return counted


def _meeting(words: Sequence[np.ndarray], used: tuple[int, ...]) -> np.ndarray:
    """Which rows meet every condition of ``used`` (numbered across ``words`` of
    :data:`BITS` conditions each)."""
    meets = np.ones(len(words[0]), dtype=bool)
    for w, word in enumerate(words):
        mask = sum(1 << (k - w * BITS) for k in used if k // BITS == w)
        if mask:
            meets &= (word & mask) == mask
    return meets


def distinct_conditions(queries: Sequence[CountQuery]) -> tuple[list[str], dict[str, Any],
                                                                 list[tuple[int, ...]]]:
    """The distinct conditions of ``queries`` as SQL with their parameters named by value (a
    condition two queries share, such as being active at the same date, is one), the
    parameters by name, and per query the conditions it has (by position)."""
    names: dict[str, str] = {}  # a parameter's value (its type and JSON) -> its name
    params: dict[str, Any] = {}
    conditions: dict[str, int] = {}

    def named(query: CountQuery, match: re.Match[str]) -> str:
        value = query.params[match.group(1)]
        key = f"{type(value).__name__}:{json.dumps(value, default=str, sort_keys=True)}"
        if key not in names:
            names[key] = f"p{len(names)}"
            params[names[key]] = value
        return f"${names[key]}"

    uses = []
    for query in queries:
        sqls = [re.sub(r"\$(\w+)", partial(named, query), c) for c in query.conditions]
        uses.append(tuple(sorted({conditions.setdefault(sql, len(conditions)) for sql in sqls})))
    return list(conditions), params, uses


def count_by_area(store: Store, level: str, query: CountQuery,
                  codes: Sequence[str]) -> pd.Series:
    """One query's count per area code (0 where none)."""
    return counts_by_levels(store, {level: [query]}, {level: codes})[level][query.key()]


def establishments_query(spec: Mapping[str, Any], period: Period,
                         window: int | None) -> CountQuery:
    """The establishments matching ``spec`` (active at period end by default)."""
    conditions, params = establishment_conditions(spec or {})
    first, end = period.window(window or 12)
    return CountQuery("establishments", tuple(conditions), {**params, "first": first, "end": end})


def establishments_measure(store: Store, spec: Mapping[str, Any], level: str, period: Period,
                           window: int | None, codes: Sequence[str]) -> pd.Series:
    """Number of establishments per area matching ``spec`` (active at period end by default)."""
    return count_by_area(store, level, establishments_query(spec, period, window), codes)


def addresses_query(spec: Mapping[str, Any], period: Period) -> CountQuery:
    """BAG addresses: all, dwellings (``dwelling``), or business premises, optionally only
    vacant ones.

    A business premises has a use other than only housing; ligplaatsen and standplaatsen (mostly
    houseboats and caravans, the BAG records no use for them) are not counted as such.
    """
    spec = spec or {}
    conditions = []
    if spec.get("business"):
        conditions.append("use NOT IN ('woonfunctie', 'ligplaats', 'standplaats')")
    if spec.get("dwelling"):
        conditions.append("use = 'woonfunctie'")
    if spec.get("vacant"):
        conditions.append(f"id NOT IN (SELECT address FROM establishments WHERE {ACTIVE} "
                          "AND address IS NOT NULL)")
    return CountQuery("addresses", tuple(conditions), {"end": period.end})


def addresses_measure(store: Store, spec: Mapping[str, Any], level: str, period: Period,
                      codes: Sequence[str]) -> pd.Series:
    """Number of BAG addresses per area (see :func:`addresses_query`)."""
    return count_by_area(store, level, addresses_query(spec, period), codes)
