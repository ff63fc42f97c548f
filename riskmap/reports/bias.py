r"""A bias audit of a quarter: how the score, the ranking the outputs use and the target
selection relate to the income, benefits and migration background of buurten.

Three parts, all per buurt from public CBS figures:

* **Correlations.** Spearman's :math:`\rho` between each ranking (the overall score, the ranking
  chosen by the track record, and the score without the *kwetsbaarheid* theme) and the share of
  households with a low income, benefit recipients (bijstand) per 1,000 inhabitants and, where
  CBS publishes it, the share of inhabitants with a migration background outside Europe
  (``BuitenEuropa``); two-sided p-values, Benjamini–Hochberg corrected over all the tests of
  the audit (``q``).
* **The poorest fifth.** The buurten with the highest share of low-income households (the top
  20 % among buurten with a figure; bijstand where CBS publishes no income): their share of the
  visits the target list selects (with the ranking the outputs use, and with the score),
  against their share of the controles that found something in the last four quarters and
  their share of the risk-branch establishments. A target share far
  above the findings share means attention goes where findings do not follow.
* **Without kwetsbaarheid.** The score re-computed with the *kwetsbaarheid* theme weighted 0
  (socio-economic context out), its rank correlation with the score, and the target list it
  would give: how many cells selected by the score change, and its share of visits in the
  poorest fifth.
  Where quarters were built, both scores' backtest (AUC, precision at k) on the controles of the
  quarter after shows what the theme adds to finding something.

The capacity of the audited target list is the number of controles per quarter in the last four
quarters (rounded mean), so the audit reflects the gemeente's own practice.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from riskmap.areatypes import analysis_levels
from riskmap.config import Config
from riskmap.errors import StoreError
from riskmap.indicators.build import OVERALL, plain_scores
from riskmap.indicators.business import ACTIVE
from riskmap.indicators.catalogue import Indicator
from riskmap.indicators.context import cbs_values, latest_year
from riskmap.models.metrics import precision_at_k, ranking_auc
from riskmap.models.ranking import chosen_values, stored_choice, stored_track_record
from riskmap.models.supervised import FOUND, QuarterData, controle_outcomes
from riskmap.periods import Period
from riskmap.reports.targets import ranked_cells, select_cells, target_area
from riskmap.store import Store

log = logging.getLogger(__name__)

THEME = "kwetsbaarheid"
FIFTH = 0.8
HISTORY = 4
CONTEXT_LABELS = {"laag_inkomen": "Huishoudens met een laag inkomen (%)",
                  "bijstand": "Bijstand per 1.000 inwoners",
                  "buiten_europa": "Inwoners met herkomst buiten Europa (%)"}
RANKING_NAMES = {"score": "Totaalscore", "chosen": "Gebruikte rangorde",
                 "variant": "Totaalscore zonder kwetsbaarheid"}


@dataclass(frozen=True)
class BiasAudit:
    """What :func:`bias_audit` found (see the module notes).

    ``correlations``: ``ranking, variable, n, rho, p, q``; ``poorest``: ``what, count, total,
    share`` (raw counts: writers protect them); ``variant``: ``rank_correlation``,
    ``cells_changed``, ``cells_selected``, ``capacity``; ``accuracy``: ``period, ranking,
    precision_at_k, auc`` of the score with and without the theme.
    """

    period: str
    chosen: str
    correlations: pd.DataFrame
    poorest: pd.DataFrame
    variant: dict[str, float]
    accuracy: pd.DataFrame


def buurt_context(store: Store, period: Period) -> pd.DataFrame:
    """Low-income share, bijstand per 1,000 inhabitants and the share with a migration
    background outside Europe per buurt (CBS, latest year up to ``period``; missing stays
    missing; a variable CBS does not publish is left out)."""
    codes = store.query("SELECT code FROM areas WHERE level = 'buurt' AND year = (SELECT "
                        "max(year) FROM areas WHERE level = 'buurt')")["code"].tolist()

    def cbs(variable: str) -> pd.Series:
        return cbs_values(store, variable, latest_year(store, variable, period, codes), codes)

    inhabitants = cbs("AantalInwoners").where(lambda v: v > 0)
    frame = pd.DataFrame({"laag_inkomen": cbs("HuishoudensMetEenLaagInkomen"),
                          "bijstand": 1000 * cbs("PersonenPerSoortUitkeringBijstand") / inhabitants,
                          "buiten_europa": 100 * cbs("BuitenEuropa") / inhabitants},
                         index=pd.Index(codes, name="area_code"))
    return frame.dropna(axis=1, how="all")


def poorest_fifth(context: pd.DataFrame) -> set[str]:
    """The buurten in the top 20 % of the low-income share (bijstand where income is missing
    for all)."""
    column = "laag_inkomen" if "laag_inkomen" in context else "bijstand"
    values = context[column].dropna() if column in context else pd.Series(dtype=float)
    if values.empty:
        return set()
    return set(values[values >= values.quantile(FIFTH)].index)


def correlations(rankings: dict[str, pd.Series], context: pd.DataFrame) -> pd.DataFrame:
    """Spearman correlations of each ranking with each context variable, two-sided p-values
    and Benjamini–Hochberg q-values over all pairs."""
    rows = []
    for name, ranking in rankings.items():
        for variable in context.columns:
            pair = pd.concat([ranking.rename("r"), context[variable].rename("c")],
                             axis=1).dropna()
            if len(pair) < 5 or pair["r"].nunique() < 2 or pair["c"].nunique() < 2:
                continue
            rho, p = stats.spearmanr(pair["r"], pair["c"])
            rows.append({"ranking": name, "variable": variable, "n": len(pair),
                         "rho": float(rho), "p": float(p)})
    frame = pd.DataFrame(rows, columns=["ranking", "variable", "n", "rho", "p"])
    frame["q"] = stats.false_discovery_control(frame["p"]) if len(frame) else []
    return frame


def audit_capacity(store: Store, period: Period) -> int:
    """Controles per quarter in the last :data:`HISTORY` quarters up to ``period`` (mean)."""
    first = (period - (HISTORY - 1)).start
    total = store.scalar("SELECT count(*) FROM events WHERE kind = 'controles' AND date "
                         "BETWEEN ? AND ?", [first, period.end])
    return max(1, round(int(total or 0) / HISTORY))


def visits_per_buurt(store: Store, period: Period, cells: pd.DataFrame) -> pd.Series:
    """The selected visits (establishments of the picked cells) per buurt."""
    # counted in the store: a national store has millions of establishments (a cell is one
    # area and branch, so each establishment is in at most one picked cell)
    with store.registered("_picked", cells.loc[cells["pick"].notna(), ["area_code", "branch"]]):
        visits = store.query(
            f"SELECT buurt, count(*) AS n FROM (SELECT {target_area()} AS area_code, buurt, "
            f"branch FROM establishments WHERE {ACTIVE} AND buurt IS NOT NULL) JOIN _picked "
            f"USING (area_code, branch) GROUP BY buurt ORDER BY buurt", {"end": period.end})
    return visits.set_index("buurt")["n"]


def findings_per_buurt(store: Store, period: Period) -> pd.Series:
    """Controles with a finding per buurt in the :data:`HISTORY` quarters up to ``period``."""
    first = (period - (HISTORY - 1)).start
    return store.query("SELECT buurt, count(*) AS n FROM events WHERE kind = 'controles' AND "
                       "outcome = ? AND buurt IS NOT NULL AND date BETWEEN ? AND ? GROUP BY 1",
                       [FOUND, first, period.end]).set_index("buurt")["n"]


def risk_branch_establishments(store: Store, period: Period) -> pd.Series:
    """Active establishments in a risk branch per buurt at the end of ``period``."""
    rows = store.query(f"SELECT buurt FROM establishments WHERE {ACTIVE} AND buurt IS NOT NULL "
                       f"AND branch IS NOT NULL", {"end": period.end})
    return rows.groupby("buurt").size()


def _share(counts: pd.Series, group: set[str], what: str) -> dict[str, object]:
    total = int(counts.sum())
    inside = int(counts[counts.index.isin(group)].sum())
    return {"what": what, "count": inside, "total": total,
            "share": inside / total if total else float("nan")}


def variant_config(config: Config) -> Config:
    """``config`` with the kwetsbaarheid theme weighted 0."""
    weights = {**config["scoring.theme_weights"], THEME: 0.0}
    return dataclasses.replace(config, values={**config.values, "scoring.theme_weights": weights})


def _overall(values: pd.DataFrame, catalogue: list[Indicator], config: Config) -> pd.Series:
    scores = plain_scores(values, catalogue, "buurt", config)
    return scores[scores["theme"] == OVERALL].set_index("area_code")["score"]


def _variant_cells(store: Store, period: Period, variant: pd.Series, min_count: int,
                   capacity: int) -> pd.DataFrame:
    areas = store.query(
        "SELECT s.area_code, s.level, s.score, s.rank, a.name FROM scores s JOIN areas a ON "
        "a.code = s.area_code WHERE s.period = ? AND s.theme = ? AND s.level IN (SELECT "
        "unnest(?)) QUALIFY row_number() OVER (PARTITION BY s.area_code ORDER BY "
        "a.year DESC) = 1", [str(period), OVERALL, ["buurt", *analysis_levels()]])
    buurt = areas["level"] == "buurt"
    areas.loc[buurt, "score"] = areas.loc[buurt, "area_code"].map(variant)
    cells = ranked_cells(store, period, min_count, areas=areas.assign(expected=np.nan))
    return cells.assign(pick=select_cells(cells, capacity)["pick"])


def _accuracy(store: Store, data: QuarterData, variant: Config, period: Period,
              k: int) -> pd.DataFrame:
    """Backtest of the score with and without the theme on the built track-record quarters."""
    record = stored_track_record(store, period)
    built = set(store.query("SELECT DISTINCT period FROM builds")["period"])
    rows = []
    for quarter in sorted(set(record["period"]) & built):
        ranked = Period.parse(quarter)
        outcomes = controle_outcomes(store, "buurt", ranked + 1)
        positive = (outcomes["found"] > 0).to_numpy()
        # the score as the track record ranks by it (the build's own where it is current)
        overall = {"score": data.overall(ranked),
                   "variant": _overall(data.values(ranked), data.catalogue, variant)}
        for name, ranking in overall.items():
            score = ranking.reindex(outcomes.index)
            rows.append({"period": quarter, "ranking": name,
                         "precision_at_k": precision_at_k(positive, score.to_numpy(float), k),
                         "auc": ranking_auc(positive, score.to_numpy(float))})
    return pd.DataFrame(rows, columns=["period", "ranking", "precision_at_k", "auc"])


def audit_accuracy(store: Store, catalogue: list[Indicator], config: Config, period: Period,
                   k: int = 10) -> pd.DataFrame:
    """The bias audit's ``accuracy`` of a built quarter: the backtest of the score with and
    without the theme (for a caller that computes it beside the rest of the audit)."""
    return _accuracy(store, QuarterData(store, catalogue, config, "buurt"), variant_config(config),
                     period, k)


def bias_audit(store: Store, catalogue: list[Indicator], config: Config, period: Period,
               k: int = 10, accuracy: Callable[[], pd.DataFrame | None] | None = None) -> BiasAudit:
    """The bias audit of a built quarter (see the module notes). ``accuracy()``, where given,
    is asked last for its backtest (:func:`audit_accuracy`, computed elsewhere meanwhile);
    when it has none, it is computed here."""
    if not store.scalar("SELECT count(*) FROM scores WHERE period = ? AND level = 'buurt'",
                        [str(period)]):
        raise StoreError(f"{store.path}: {period} is niet berekend voor buurt; draai eerst "
                         f"`riskmap kwartaal --period {period}`")
    min_count = config["privacy.min_count"]
    data = QuarterData(store, catalogue, config, "buurt")
    variant = variant_config(config)
    without = _overall(data.values(period), catalogue, variant)
    score = store.query("SELECT area_code, score FROM scores WHERE period = ? AND level = "
                        "'buurt' AND theme = ?", [str(period), OVERALL]).set_index(
        "area_code")["score"]
    choice = stored_choice(store, period)
    rankings = {"score": score, "chosen": chosen_values(store, period, choice.method),
                "variant": without}
    context = buurt_context(store, period)
    capacity = audit_capacity(store, period)
    cells = ranked_cells(store, period, min_count)
    cells = cells.assign(pick=select_cells(cells, capacity)["pick"])
    by_score = _variant_cells(store, period, score, min_count, capacity)
    other = _variant_cells(store, period, without, min_count, capacity)
    poor = poorest_fifth(context)
    poorest = pd.DataFrame([
        _share(visits_per_buurt(store, period, cells), poor, "targets"),
        _share(visits_per_buurt(store, period, by_score), poor, "targets_score"),
        _share(visits_per_buurt(store, period, other), poor, "targets_variant"),
        _share(findings_per_buurt(store, period), poor, "findings"),
        _share(risk_branch_establishments(store, period), poor, "establishments"),
        {"what": "buurten", "count": len(poor), "total": int(context.notna().any(axis=1).sum()),
         "share": len(poor) / max(1, int(context.notna().any(axis=1).sum()))}])
    selected = set(by_score.loc[by_score["pick"].notna(), ["area_code", "branch"]].itertuples(
        index=False, name=None))
    selected_variant = set(other.loc[other["pick"].notna(), ["area_code", "branch"]].itertuples(
        index=False, name=None))
    both = pd.concat([score, without], axis=1).dropna()
    summary = {"rank_correlation": float(stats.spearmanr(both.iloc[:, 0], both.iloc[:, 1])[0])
               if len(both) > 2 else float("nan"),
               "cells_selected": float(len(selected)),
               "cells_changed": float(len(selected - selected_variant)),
               "capacity": float(capacity)}
    log.debug("biascontrole %s: %d correlaties, armste vijfde %d buurten, %d van %d cellen van de "
              "doelenlijst anders zonder %s", period, len(rankings), len(poor),
              summary["cells_changed"], summary["cells_selected"], THEME)
    backtest = accuracy() if accuracy is not None else None
    return BiasAudit(str(period), choice.method, correlations(rankings, context), poorest,
                     summary, _accuracy(store, data, variant, period, k) if backtest is None
                     else backtest)
