"""Vega-Lite chart specifications (built with Altair) that the dashboard fills with data.

Each chart reads the named data set ``rows``; the page puts the rows of the clicked area, theme
or comparison in its place and renders the chart with vega-embed. Colours are colour-blind safe
(Okabe & Ito); numbers follow the Dutch format the page passes to vega-embed.
"""

from __future__ import annotations

from typing import Any

import altair as alt

ROWS = "rows"
# Okabe & Ito (2008), a palette distinguishable with the common colour-vision deficiencies; grey
# as a ninth colour, so that nine themes (totaal and eight) do not repeat one.
OKABE_ITO = ["#000000", "#E69F00", "#56B4E9", "#009E73", "#0072B2", "#D55E00", "#CC79A7",
             "#F0E442", "#999999"]
QUARTER = alt.X("kwartaal:O", title="Kwartaal", axis=alt.Axis(labelAngle=0))


def _data() -> alt.NamedData:
    return alt.NamedData(name=ROWS)


def score_history(theme_labels: list[str], bounded: bool) -> dict[str, Any]:
    """Overall and theme scores of one area per quarter (one line each)."""
    scale = alt.Scale(domain=[0, 100]) if bounded else alt.Undefined
    chart = alt.Chart(_data()).mark_line(point=True).encode(
        QUARTER, alt.Y("score:Q", title="Score", scale=scale),
        alt.Color("thema:N", title="Thema",
                  scale=alt.Scale(domain=theme_labels, range=OKABE_ITO[:len(theme_labels)])),
        tooltip=[alt.Tooltip("kwartaal:O", title="Kwartaal"), alt.Tooltip("thema:N", title="Thema"),
                 alt.Tooltip("score:Q", title="Score", format=",.1f")])
    return chart.properties(width="container", height=170,
                            title="Scores per kwartaal").to_dict()


def rank_history() -> dict[str, Any]:
    """Rank of the overall score per quarter with its 5–95% interval."""
    base = alt.Chart(_data()).encode(QUARTER)
    interval = base.mark_rule(strokeWidth=3, color=OKABE_ITO[2]).encode(
        alt.Y("laag:Q", title="Rang (1 = hoogste)", scale=alt.Scale(reverse=True, zero=False)),
        alt.Y2("hoog:Q"))
    rank = base.mark_point(filled=True, size=60, color=OKABE_ITO[0]).encode(
        alt.Y("rang:Q"),
        tooltip=[alt.Tooltip("kwartaal:O", title="Kwartaal"), alt.Tooltip("rang:Q", title="Rang"),
                 alt.Tooltip("laag:Q", title="Rang 5%"), alt.Tooltip("hoog:Q", title="Rang 95%")])
    return alt.layer(interval, rank).properties(
        width="container", height=120, title="Rang met 5–95%-interval").to_dict()


def indicator_history() -> dict[str, Any]:
    """Every indicator of one area per quarter, as small multiples with their own scale."""
    chart = alt.Chart(_data()).mark_line(point=True, color=OKABE_ITO[4]).encode(
        alt.X("kwartaal:O", title=None, axis=alt.Axis(labelAngle=0)),
        alt.Y("waarde:Q", title=None, scale=alt.Scale(zero=False)),
        tooltip=[alt.Tooltip("indicator:N", title="Indicator"),
                 alt.Tooltip("kwartaal:O", title="Kwartaal"),
                 alt.Tooltip("waarde:Q", title="Waarde", format=",.1f")])
    return chart.properties(width=150, height=70).facet(
        alt.Facet("indicator:N", title=None, header=alt.Header(labelLimit=190, labelFontSize=10)),
        columns=2).resolve_scale(y="independent").to_dict()


def theme_trend(bounded: bool) -> dict[str, Any]:
    """The spread of a theme's scores over the areas, per quarter."""
    scale = alt.Scale(domain=[0, 100]) if bounded else alt.Undefined
    chart = alt.Chart(_data()).mark_boxplot(extent=1.5, color=OKABE_ITO[4]).encode(
        QUARTER, alt.Y("score:Q", title="Score", scale=scale))
    return chart.properties(width="container", height=170,
                            title="Spreiding van de scores per kwartaal").to_dict()


def quarter_scatter(bounded: bool) -> dict[str, Any]:
    """Each area's score in two quarters; the dashed line marks 'no change'."""
    top = 100 if bounded else 1
    diagonal = alt.Chart(alt.InlineData(values=[{"a": 0, "b": 0}, {"a": top, "b": top}])) \
        .mark_line(color="#999999", strokeDash=[4, 4]).encode(x="a:Q", y="b:Q")
    points = alt.Chart(_data()).mark_circle(size=45, opacity=0.8).encode(
        alt.X("a:Q", title="Score eerste kwartaal"), alt.Y("b:Q", title="Score tweede kwartaal"),
        alt.Color("richting:N", title="Verandering",
                  scale=alt.Scale(domain=["gestegen", "gedaald", "gelijk"],
                                  range=[OKABE_ITO[5], OKABE_ITO[4], "#999999"])),
        tooltip=[alt.Tooltip("naam:N", title="Gebied"), alt.Tooltip("a:Q", format=",.1f",
                                                                    title="Eerste"),
                 alt.Tooltip("b:Q", format=",.1f", title="Tweede")])
    return alt.layer(diagonal, points).properties(width="container", height=300).to_dict()


def gemeente_comparison() -> dict[str, Any]:
    """CBS-based indicators of the gemeente, similar gemeenten and Nederland (= 100)."""
    base = alt.Chart(_data())
    reference = alt.Chart(alt.InlineData(values=[{"x": 100}])).mark_rule(
        color="#000000", strokeDash=[3, 3]).encode(x="x:Q")
    points = base.mark_point(filled=True, size=70).encode(
        alt.X("index:Q", title="Index (Nederland = 100)", scale=alt.Scale(zero=False)),
        alt.Y("indicator:N", title=None, axis=alt.Axis(labelLimit=260)),
        alt.Color("rol:N", title=None, scale=alt.Scale(
            domain=["eigen gemeente", "vergelijkbare gemeente"],
            range=[OKABE_ITO[5], "#9a9a9a"])),
        alt.Shape("rol:N", title=None, scale=alt.Scale(
            domain=["eigen gemeente", "vergelijkbare gemeente"], range=["diamond", "circle"])),
        tooltip=[alt.Tooltip("naam:N", title="Gemeente"),
                 alt.Tooltip("indicator:N", title="Indicator"),
                 alt.Tooltip("waarde:N", title="Waarde"),
                 alt.Tooltip("index:Q", title="Index", format=",.0f")])
    return alt.layer(reference, points).properties(width="container").to_dict()


def chart_specs(theme_labels: list[str], bounded: bool) -> dict[str, dict[str, Any]]:
    """All chart specifications of the dashboard by name."""
    return {"scoreHistory": score_history(theme_labels, bounded), "rankHistory": rank_history(),
            "indicatorHistory": indicator_history(), "themeTrend": theme_trend(bounded),
            "quarterScatter": quarter_scatter(bounded),
            "gemeenteComparison": gemeente_comparison()}
