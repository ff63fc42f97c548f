/* riskmap dashboard: the page logic. Data comes from the JSON blocks in this file; nothing is
   fetched. Charts are Vega-Lite specifications (made in Python with Altair) filled with rows here. */
(function () {
  "use strict";

  // ---- data -------------------------------------------------------------------------------
  // A list of numbers, nulls and marks may come as one string: "\u0001" and the items joined
  // by "," (null left empty); see riskmap.dashboard.data.packed.
  function unpack(value) {
    if (typeof value === "string" && value.charCodeAt(0) === 1) {
      return value.slice(1).split(",").map((t) => (t === "" ? null : isNaN(t) ? t : Number(t)));
    }
    if (value && typeof value === "object" && !Array.isArray(value)) {
      for (const key of Object.keys(value)) value[key] = unpack(value[key]);
    }
    return value;
  }
  function block(id) {
    const el = document.getElementById(id);
    return el ? unpack(JSON.parse(el.textContent)) : null;
  }
  const META = block("rm-meta");
  const GEO = {};
  const QUARTERS = {};
  const INDICATORS = Object.fromEntries(META.indicators.map((i) => [i.id, i]));
  const THEMES = Object.fromEntries(META.themes.map((t) => [t.id, t]));
  const LEVELS = Object.fromEntries(META.levels.map((l) => [l.id, l]));
  const SCORE_CLASSES = [20, 40, 60, 80];
  const SCORE_COLOURS = ["#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494"]; // ColorBrewer YlGnBu
  const MISSING_COLOUR = "#d9d9d9";
  const HOT_STYLE = { Hotspot: { color: "#D55E00", weight: 4, dashArray: null },
                      Coldspot: { color: "#0072B2", weight: 3, dashArray: "5 4" } };
  // analysis-area types (config/area_types.yaml), each an overlay with its own outline
  const AREA_TYPES = META.areaTypes;
  const AREA_LEVELS = AREA_TYPES.map((t) => t.id);
  const OUTLINES = [{ color: "#5b2a86", dashArray: "6 4" }, { color: "#1b7837", dashArray: "2 3" },
                    { color: "#8c510a", dashArray: "10 3 2 3" }, { color: "#000000", dashArray: "1 4" }];
  const outlineOf = (k) => OUTLINES[k % OUTLINES.length];

  function geo(level) {
    if (!(level in GEO)) {
      const g = block("rm-geo-" + level);
      if (g) g.index = Object.fromEntries(g.codes.map((c, i) => [c, i]));
      GEO[level] = g;
    }
    return GEO[level];
  }
  function quarter(period) {
    if (!(period in QUARTERS)) QUARTERS[period] = block("rm-q-" + period) || {};
    return QUARTERS[period];
  }
  function levelData(period, level) { return quarter(period)[level] || {}; }
  function previous(period) {
    const i = META.periods.indexOf(period);
    return i > 0 ? META.periods[i - 1] : null;
  }

  // ---- Dutch numbers (same patterns as riskmap.fmt: 1.234,5; −1,0 for changes) -------------
  const formats = {};
  function fmtNumber(v, d) {
    if (d === undefined) d = 1;
    if (v === null || v === undefined || typeof v !== "number" || Number.isNaN(v)) return "–";
    if (!formats[d]) formats[d] = new Intl.NumberFormat("nl-NL", { minimumFractionDigits: d,
      maximumFractionDigits: d, useGrouping: true });
    return formats[d].format(halfEven(v, d));
  }
  // Babel (riskmap.fmt) rounds half to even on the number's shortest decimal form; so does this
  function halfEven(v, d) {
    const f = Math.pow(10, d);
    const x = v * f;
    const low = Math.floor(x);
    if (Math.abs(x - low - 0.5) > 1e-9 * Math.max(1, Math.abs(x))) return Math.round(x) / f;
    return (low % 2 === 0 ? low : low + 1) / f;
  }
  function fmtSigned(v, d) {
    const text = fmtNumber(v, d === undefined ? 1 : d);
    if (text === "–") return text;
    if (text.startsWith("-")) return "−" + text.slice(1);
    return /^[0,.]+$/.test(text) ? text : "+" + text;
  }
  function esc(text) {
    return String(text === null || text === undefined ? "" : text).replace(/[&<>"']/g,
      (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }
  function listText(items) {
    return items.length > 1 ? items.slice(0, -1).join(", ") + " en " + items[items.length - 1] : items.join("");
  }
  function themeLabel(theme) { return THEMES[theme] ? THEMES[theme].label : theme; }
  function valueText(v, indicatorId) {
    if (v === "k") return "<5";
    if (v === "n" || v === null || v === undefined) return "–";
    return fmtNumber(v, 1);
  }
  function valueTitle(v) {
    if (v === "k") return "niet getoond: aantal kleiner dan 5";
    if (v === "n") return "niet berekend: noemer te klein";
    if (v === null || v === undefined) return "geen gegevens";
    return "";
  }

  // ---- state ------------------------------------------------------------------------------
  const multi = (geo("gemeente") || { codes: [] }).codes.length > 1;
  const state = {
    period: META.latest, page: "map", theme: "totaal",
    level: LEVELS.wijk ? "wijk" : "buurt",
    gemeente: multi ? null : (geo("gemeente") ? geo("gemeente").codes[0] : null),
    // only: the area type shown alone (null: wijken or buurten); show: the area-type overlays
    wijk: null, selected: null, only: LEVELS.wijk || LEVELS.buurt ? null : (AREA_LEVELS[0] || null),
    show: Object.fromEntries(AREA_LEVELS.map((id) => [id, true])),
    onlyHotspots: false, showHotspots: true, showEmerging: false,
  };

  // ---- areas ------------------------------------------------------------------------------
  function area(level, code) {
    const g = geo(level);
    if (!g || !(code in g.index)) return null;
    const i = g.index[code];
    return { level, code, i, name: g.names[i] || code, wijk: g.wijk[i], gemeente: g.gemeente[i] };
  }
  function findArea(code) {
    for (const level of ["buurt", "wijk", ...AREA_LEVELS, "gemeente"]) {
      const a = area(level, code);
      if (a) return a;
    }
    return null;
  }
  function scoreOf(period, level, theme, i) {
    const d = levelData(period, level);
    return d.score && d.score[theme] ? d.score[theme][i] : null;
  }
  function hotspotOf(period, level, i) {
    const d = levelData(period, level);
    return d.hotspot && d.hotspot[i] !== null && d.hotspot[i] !== undefined
      ? META.hotspots[d.hotspot[i]] : null;
  }
  function emergingOf(period, level, i) {
    const d = levelData(period, level);
    return d.emerging && d.emerging[i] !== null && d.emerging[i] !== undefined
      ? META.emerging[d.emerging[i]] : null;
  }
  function themeAt(level) {
    const t = THEMES[state.theme];
    return t && t.levels.includes(level) ? state.theme : "totaal";
  }
  function colour(score) {
    if (score === null || score === undefined) return MISSING_COLOUR;
    let k = 0;
    while (k < SCORE_CLASSES.length && score >= SCORE_CLASSES[k]) k++;
    return SCORE_COLOURS[k];
  }

  // which areas of the choropleth are in view: the drill-down extent and the filters
  function shownLevel() { return state.only || state.level; }
  // several gemeenten and none chosen yet: the map shows gemeenten only (overlays wait)
  function overview() { return multi && !state.gemeente && !state.only; }
  function inExtent(a) {
    if (state.gemeente && a.gemeente !== state.gemeente) return false;
    if (state.wijk && a.level === "buurt" && a.wijk !== state.wijk) return false;
    return true;
  }
  function visibleAreas(level) {
    const g = geo(level);
    if (!g) return [];
    const out = [];
    for (let i = 0; i < g.codes.length; i++) {
      const a = { level, code: g.codes[i], i, name: g.names[i] || g.codes[i], wijk: g.wijk[i],
                  gemeente: g.gemeente[i] };
      if (!inExtent(a)) continue;
      if (state.onlyHotspots && hotspotOf(state.period, level, i) !== "Hotspot") continue;
      out.push(a);
    }
    return out;
  }

  // ---- map ----------------------------------------------------------------------------------
  const map = L.map("rm-map", { preferCanvas: true, zoomSnap: 0.25, attributionControl: false });
  L.control.scale({ imperial: false }).addTo(map);
  const canvas = L.canvas({ padding: 0.3 });
  const svg = L.svg();
  // one overlay per area type under "area-<id>"
  const layers = { base: null, outlines: null, hotspots: null, emerging: null, selected: null };
  const shapes = {}; // level -> code -> Leaflet layer of the base choropleth
  let fitted = false;

  function feature(level, i) {
    const g = geo(level);
    return g.geometry[i] ? { type: "Feature", geometry: g.geometry[i], properties: {} } : null;
  }
  function clearLayer(name) {
    if (layers[name]) { map.removeLayer(layers[name]); layers[name] = null; }
  }
  function tooltipText(a) {
    const theme = themeAt(a.level);
    const s = scoreOf(state.period, a.level, theme, a.i);
    const hot = hotspotOf(state.period, a.level, a.i);
    return "<b>" + esc(a.name) + "</b> <small>" + esc(LEVELS[a.level].label) + "</small><br>"
      + esc(THEMES[theme].label) + ": " + fmtNumber(s, 1)
      + (hot === "Hotspot" || hot === "Coldspot" ? "<br>" + esc(hot) : "");
  }

  function drawBase() {
    clearLayer("base");
    clearLayer("outlines");
    const level = overview() ? "gemeente" : shownLevel();
    const list = level === "gemeente" ? visibleAreas("gemeente") : visibleAreas(level);
    const theme = themeAt(level);
    const group = L.featureGroup();
    shapes[level] = {};
    for (const a of list) {
      const f = feature(level, a.i);
      if (!f) continue;
      const score = level === "gemeente" ? null : scoreOf(state.period, level, theme, a.i);
      const layer = L.geoJSON(f, { renderer: canvas, style: {
        color: "#555", weight: level === "gemeente" ? 1.2 : 0.7,
        fillColor: level === "gemeente" ? "#eef0f3" : colour(score), fillOpacity: 0.85 } });
      layer.on("click", () => onAreaClick(a));
      layer.bindTooltip(() => level === "gemeente" ? "<b>" + esc(a.name) + "</b>" : tooltipText(a),
        { sticky: true });
      layer.addTo(group);
      shapes[level][a.code] = layer;
    }
    group.addTo(map);
    layers.base = group;
    if (state.gemeente && level !== "wijk" && LEVELS.wijk) { // wijken as context, also for area types
      const outline = L.featureGroup();
      for (const a of visibleAreas("wijk")) {
        const f = feature("wijk", a.i);
        if (f) L.geoJSON(f, { renderer: canvas, interactive: false, style: { color: "#222",
          weight: 1.6, fill: false } }).addTo(outline);
      }
      outline.addTo(map);
      layers.outlines = outline;
    }
    if (!fitted || state.refit) {
      const bounds = group.getBounds();
      if (bounds.isValid()) map.fitBounds(bounds, { padding: [10, 10] });
      fitted = true;
      state.refit = false;
    }
  }

  function drawAreaTypes() {
    AREA_TYPES.forEach((t, k) => {
      const name = "area-" + t.id;
      clearLayer(name);
      if (!state.show[t.id] || state.only || overview() || !geo(t.id)) return;
      const theme = themeAt(t.id);
      const group = L.featureGroup();
      for (const a of visibleAreas(t.id)) {
        const f = feature(t.id, a.i);
        if (!f) continue;
        const score = scoreOf(state.period, t.id, theme, a.i);
        L.geoJSON(f, { renderer: svg, style: Object.assign({ weight: 2.5, fillColor: colour(score),
          fillOpacity: 0.85, className: "rm-area-type rm-area-" + t.id }, outlineOf(k)) })
          .on("click", () => onAreaClick(a))
          .bindTooltip(() => tooltipText(a), { sticky: true }).addTo(group);
      }
      group.addTo(map);
      layers[name] = group;
    });
  }

  function drawPatterns() {
    clearLayer("hotspots");
    clearLayer("emerging");
    const level = "buurt";
    if (!geo(level) || state.only || overview()) return;
    if (state.showHotspots) {
      const group = L.featureGroup();
      for (const a of visibleAreas(level)) {
        const hot = hotspotOf(state.period, level, a.i);
        if (!(hot in HOT_STYLE)) continue;
        const f = feature(level, a.i);
        if (f) L.geoJSON(f, { renderer: svg, interactive: false,
          style: Object.assign({ fill: false, className: "rm-hotspot rm-" + hot.toLowerCase() },
            HOT_STYLE[hot]) }).addTo(group);
      }
      group.addTo(map);
      layers.hotspots = group;
    }
    if (state.showEmerging) {
      const group = L.featureGroup();
      for (const a of visibleAreas(level)) {
        const em = emergingOf(state.period, level, a.i);
        const k = META.emerging.indexOf(em);
        if (k < 0 || em === "Geen patroon") continue;
        const f = feature(level, a.i);
        if (f) L.geoJSON(f, { renderer: svg, interactive: false, style: { stroke: false,
          fillColor: "url(#rm-pat-" + k + ")", fillOpacity: 1, className: "rm-emerging" } })
          .addTo(group);
      }
      group.addTo(map);
      layers.emerging = group;
    }
    if (layers.hotspots) layers.hotspots.bringToFront(); // outlines stay visible over hatching
  }

  function drawSelected() {
    clearLayer("selected");
    const a = state.selected;
    if (!a || a.level === "gemeente") return;
    const f = feature(a.level, a.i);
    if (!f) return;
    layers.selected = L.geoJSON(f, { renderer: svg, interactive: false,
      style: { color: "#000", weight: 4, fill: false, className: "rm-selected" } }).addTo(map);
  }

  function legendHtml() {
    const level = shownLevel();
    const theme = themeAt(level);
    const parts = [];
    const rows = SCORE_COLOURS.map((c, k) => {
      const lo = k === 0 ? 0 : SCORE_CLASSES[k - 1];
      const hi = k < SCORE_CLASSES.length ? SCORE_CLASSES[k] : 100;
      return '<div><span class="rm-swatch" style="background:' + c + '"></span>'
        + (META.bounded ? fmtNumber(lo, 0) + "–" + fmtNumber(hi, 0) : "klasse " + (k + 1)) + "</div>";
    }).join("");
    parts.push('<div class="rm-legend" data-layer="score"><b>' + esc(THEMES[theme].label) + " – "
      + esc(LEVELS[level].plural.toLowerCase()) + "</b>" + rows
      + '<div><span class="rm-swatch" style="background:' + MISSING_COLOUR
      + '"></span>Geen score (te weinig gegevens)</div></div>');
    AREA_TYPES.forEach((t, k) => {
      if (!layers["area-" + t.id]) return;
      const o = outlineOf(k);
      parts.push('<div class="rm-legend" data-layer="area-' + esc(t.id) + '"><b>' + esc(t.plural) + "</b>"
        + '<div><svg width="18" height="12"><rect x="1" y="1" width="16" height="10" fill="none" stroke="'
        + o.color + '" stroke-width="2" stroke-dasharray="' + o.dashArray + '"/></svg>'
        + esc(themeLabel(themeAt(t.id))) + ", zelfde kleuren</div></div>");
    });
    if (layers.hotspots) {
      parts.push('<div class="rm-legend" data-layer="hotspots"><b>Hotspots (Gi*)</b><i>significant na FDR-correctie</i>'
        + Object.entries(HOT_STYLE).map(([name, s]) => '<div><svg width="18" height="12"><rect x="2" y="2" width="14" height="8" fill="none" stroke="'
          + s.color + '" stroke-width="3"' + (s.dashArray ? ' stroke-dasharray="3 2"' : "") + "/></svg>" + esc(name) + "</div>").join("")
        + "</div>");
    }
    if (layers.emerging) {
      parts.push('<div class="rm-legend" data-layer="emerging"><b>Opkomende hotspots</b>'
        + META.emerging.slice(0, 6).map((name, k) => '<div><svg width="18" height="12"><rect width="18" height="12" fill="url(#rm-pat-'
          + k + ')" stroke="#000" stroke-width="1"/></svg>' + esc(name) + "</div>").join("") + "</div>");
    }
    return parts.join("");
  }

  function mapNote() {
    const notes = [];
    if (overview()) {
      return "Klik op een gemeente voor haar " + listText(["wijken", "buurten",
        ...AREA_TYPES.map((t) => t.plural.toLowerCase()), "hotspots"]) + ".";
    }
    const d = levelData(state.period, "buurt");
    if (state.showHotspots && !d.hotspot) notes.push("Hotspots (Gi*): niet berekend voor " + state.period + ".");
    if (state.showEmerging && !(d.emerging && d.emerging.some((e) => e !== null))) {
      notes.push("Opkomende hotspots: niet berekend t/m " + state.period + ".");
    }
    if (state.onlyHotspots) notes.push("Alleen buurten die in " + state.period + " een significante hotspot zijn.");
    return notes.join(" ");
  }

  function redrawMap() {
    drawBase();
    drawAreaTypes();
    drawPatterns();
    drawSelected();
    document.getElementById("rm-legends").innerHTML = legendHtml();
    document.getElementById("rm-map-note").textContent = mapNote();
    drawCrumbs();
  }

  // ---- drill-down ---------------------------------------------------------------------------
  function drawCrumbs() {
    const parts = [];
    if (multi) parts.push('<a data-go="all">Alle gemeenten</a>');
    if (state.gemeente) {
      const g = area("gemeente", state.gemeente);
      parts.push('<a data-go="gemeente">' + esc(g ? g.name : state.gemeente) + "</a>");
    }
    if (state.wijk) {
      const w = area("wijk", state.wijk);
      parts.push('<a data-go="wijk">' + esc(w ? w.name : state.wijk) + "</a>");
    }
    const el = document.getElementById("rm-crumbs");
    el.innerHTML = parts.join(" › ") + (state.selected ? " › <b>" + esc(state.selected.name) + "</b>" : "");
    el.querySelectorAll("a").forEach((link) => link.addEventListener("click", () => {
      const go = link.dataset.go;
      if (go === "all") { state.gemeente = null; state.wijk = null; }
      if (go === "gemeente") { state.wijk = null; if (LEVELS.wijk && !state.only) state.level = "wijk"; }
      state.selected = null;
      state.refit = true;
      syncControls();
      closeProfile();
      redrawMap();
    }));
  }

  function onAreaClick(a) {
    if (a.level === "gemeente") {
      state.gemeente = a.code;
      state.level = LEVELS.wijk ? "wijk" : "buurt";
      state.refit = true;
      syncControls();
      redrawMap();
      return;
    }
    if (a.level === "wijk" && LEVELS.buurt && state.level === "wijk") {
      state.wijk = a.code;
      state.level = "buurt";
      state.refit = true;
      syncControls();
    }
    openProfile(a);
  }

  function focusArea(a) {
    if (a.level === "gemeente") { onAreaClick(a); return; }
    state.page = "map";
    state.gemeente = a.gemeente || state.gemeente;
    if (AREA_LEVELS.includes(a.level)) {
      state.wijk = null;
      state.only = a.level;
    } else {
      state.only = null;
      state.level = a.level;
      state.wijk = a.level === "buurt" ? a.wijk : null;
    }
    state.refit = true;
    syncControls();
    showPage();
    openProfile(a);
    const layer = shapes[shownLevel()] && shapes[shownLevel()][a.code];
    if (layer) map.fitBounds(layer.getBounds(), { padding: [60, 60], maxZoom: 15 });
  }

  // ---- charts -------------------------------------------------------------------------------
  function withRows(spec, rows) {
    const copy = JSON.parse(JSON.stringify(spec));
    (function walk(node) {
      if (Array.isArray(node)) { node.forEach(walk); return; }
      if (node && typeof node === "object") {
        if (node.data && node.data.name === "rows") node.data = { values: rows };
        Object.values(node).forEach(walk);
      }
    })(copy);
    return copy;
  }
  function chart(el, name, rows, adjust) {
    if (!el) return;
    if (!rows.length) { el.innerHTML = '<p class="rm-note">Geen gegevens voor deze grafiek.</p>'; return; }
    const spec = withRows(META.specs[name], rows);
    if (adjust) adjust(spec);
    vegaEmbed(el, spec, { actions: false, renderer: "svg",
      formatLocale: { decimal: ",", thousands: ".", grouping: [3], currency: ["€\u00a0", ""] } })
      .catch((e) => { el.textContent = "Grafiek kon niet worden getekend: " + e.message; });
  }

  // ---- theme panel --------------------------------------------------------------------------
  function ranking(period, level, theme, list) {
    const d = levelData(period, level);
    if (!d.score || !d.score[theme]) return [];
    return list.filter((a) => d.score[theme][a.i] !== null)
      .map((a) => ({ a, score: d.score[theme][a.i], rank: d.rank[theme][a.i],
        change: d.change[theme] ? d.change[theme][a.i] : null,
        low: d.rankLow ? d.rankLow[a.i] : null, high: d.rankHigh ? d.rankHigh[a.i] : null }))
      .sort((x, y) => x.rank - y.rank);
  }
  function rankTable(rows, withInterval) {
    if (!rows.length) return '<p class="rm-note">Geen gebieden met een score.</p>';
    return '<table><thead><tr><th class="rm-num">Rang</th><th>Gebied</th><th class="rm-num">Score</th>'
      + (withInterval ? '<th class="rm-num">Rang 5–95%</th>' : "")
      + '<th class="rm-num">Verandering</th></tr></thead><tbody>'
      + rows.map((r) => '<tr class="rm-link" data-code="' + esc(r.a.code) + '"><td class="rm-num">'
        + r.rank + "</td><td>" + esc(r.a.name) + '</td><td class="rm-num">' + fmtNumber(r.score, 1)
        + "</td>" + (withInterval ? '<td class="rm-num">' + (r.low !== null ? r.low + "–" + r.high : "–") + "</td>" : "")
        + '<td class="rm-num">' + fmtSigned(r.change, 1) + "</td></tr>").join("") + "</tbody></table>";
  }
  function linkRows(root) {
    root.querySelectorAll("tr.rm-link").forEach((tr) => tr.addEventListener("click", () => {
      const a = findArea(tr.dataset.code);
      if (a) focusArea(a);
    }));
  }

  function drawTheme() {
    const el = document.getElementById("rm-theme");
    const level = shownLevel();
    const theme = themeAt(level);
    const t = THEMES[theme];
    const list = visibleAreas(level);
    const rows = ranking(state.period, level, theme, list);
    const members = t.indicators.filter((id) => INDICATORS[id] && INDICATORS[id].levels.includes(level));
    el.innerHTML = "<h2>" + esc(t.label) + " <small>– " + esc(LEVELS[level].plural.toLowerCase()) + ", "
      + esc(state.period) + "</small></h2><p>" + esc(t.description) + "</p>"
      + '<p class="rm-note" id="rm-theme-levels">Scores voor '
      + esc(listText(t.levels.filter((l) => LEVELS[l]).map((l) => LEVELS[l].plural.toLowerCase()))) + ".</p>"
      + (theme !== state.theme ? '<p class="rm-note">' + esc(missingThemeText(level)) + "</p>" : "")
      + "<h3>Ranglijst (hoogste 10" + (state.onlyHotspots ? ", alleen hotspots" : "") + ")</h3>"
      + rankTable(rows.slice(0, 10), theme === "totaal")
      + '<h3>Verloop</h3><div class="rm-chart" id="rm-theme-trend"></div>'
      + "<h3>Indicatoren in dit thema</h3><table><thead><tr><th>Indicator</th><th>Bron</th>"
      + "<th>Hoger is</th></tr></thead><tbody>"
      + members.map((id) => { const i = INDICATORS[id]; return '<tr title="' + esc(i.rationale) + '"><td>'
        + esc(i.label) + "</td><td>" + esc(i.source) + "</td><td>" + (i.higher ? "meer risico" : "minder risico")
        + "</td></tr>"; }).join("") + "</tbody></table>";
    linkRows(el);
    setTimeout(() => drawTrend(level, theme, list), 0);
  }

  // the chosen theme is not scored at the level shown: say where it is, and how to get there
  function missingThemeText(level) {
    const t = THEMES[state.theme];
    const own = AREA_TYPES.filter((a) => t.levels.includes(a.id));
    return "Dit thema heeft geen score voor " + LEVELS[level].plural.toLowerCase() + "; de kaart toont de totaalscore."
      + (own.length ? " Het thema is berekend voor " + listText(own.map((a) => a.plural.toLowerCase()))
        + ": kies " + listText(own.map((a) => "'Alleen " + a.plural.toLowerCase() + "'")) + "." : "");
  }

  function drawTrend(level, theme, list) {
    const trend = [];
    for (const period of META.periods) {
      const d = levelData(period, level);
      if (!d.score || !d.score[theme]) continue;
      for (const a of list) {
        const s = d.score[theme][a.i];
        if (s !== null) trend.push({ kwartaal: period, score: s });
      }
    }
    // the trend reads every quarter, so it is drawn just after the ranking (page interactive)
    chart(document.getElementById("rm-theme-trend"), "themeTrend", trend);
  }

  // ---- area profile -------------------------------------------------------------------------
  function closeProfile() {
    document.getElementById("rm-profile").hidden = true;
    document.getElementById("rm-theme").hidden = false;
    state.selected = null;
    drawSelected();
  }

  function openProfile(a) {
    state.selected = a;
    if (state.page !== "map") { state.page = "map"; showPage(); }
    redrawMap();
    drawTheme();
    const el = document.getElementById("rm-profile");
    el.innerHTML = profileHtml(a);
    el.hidden = false;
    document.getElementById("rm-theme").hidden = true;
    el.querySelector(".rm-close").addEventListener("click", closeProfile);
    const hist = [];
    const ranks = [];
    const indicatorRows = [];
    for (const period of META.periods) {
      const d = levelData(period, a.level);
      for (const t of META.themes) {
        if (d.score && d.score[t.id] && d.score[t.id][a.i] !== null) {
          hist.push({ kwartaal: period, thema: t.label, score: d.score[t.id][a.i] });
        }
      }
      if (d.rank && d.rank.totaal && d.rank.totaal[a.i] !== null) {
        ranks.push({ kwartaal: period, rang: d.rank.totaal[a.i], laag: d.rankLow[a.i], hoog: d.rankHigh[a.i] });
      }
      for (const id of Object.keys(d.value || {})) {
        const v = d.value[id][a.i];
        if (typeof v === "number") indicatorRows.push({ kwartaal: period, indicator: INDICATORS[id].label, waarde: v });
      }
    }
    chart(el.querySelector("#rm-profile-scores"), "scoreHistory", hist, (spec) => ownThemes(spec, hist));
    chart(el.querySelector("#rm-profile-rank"), "rankHistory", ranks);
    chart(el.querySelector("#rm-profile-indicators"), "indicatorHistory", indicatorRows);
  }

  // the legend lists the themes the area has (an area type has only its own), each in its colour
  function ownThemes(spec, rows) {
    const scale = spec.encoding.color.scale;
    const keep = scale.domain.map((label, k) => (rows.some((r) => r.thema === label) ? k : -1)).filter((k) => k >= 0);
    scale.range = keep.map((k) => scale.range[k % scale.range.length]);
    scale.domain = keep.map((k) => scale.domain[k]);
  }

  function profileHtml(a) {
    const period = state.period;
    const d = levelData(period, a.level);
    const parents = [];
    if (a.level === "buurt" && a.wijk) { const w = area("wijk", a.wijk); if (w) parents.push("wijk " + w.name); }
    const g = a.gemeente ? area("gemeente", a.gemeente) : null;
    if (g) parents.push("gemeente " + g.name);
    let html = '<button type="button" class="rm-close" aria-label="Profiel sluiten">Sluiten ×</button>'
      + '<h2 id="rm-profile-title">' + esc(a.name) + "</h2><p class=\"rm-note\">" + esc(LEVELS[a.level].label)
      + " · " + esc(a.code) + (parents.length ? " · " + esc(parents.join(", ")) : "") + " · " + esc(period) + "</p>";
    const has = d.score && d.score.totaal;
    if (!has || d.score.totaal[a.i] === null) {
      html += '<p>Geen totaalscore in ' + esc(period) + ": te weinig gegevens.</p>";
    } else {
      const n = d.score.totaal.filter((s) => s !== null).length;
      const rc = d.rankChange ? d.rankChange[a.i] : null;
      const change = d.change.totaal[a.i];
      let changeText = "–";
      if (change !== null) {
        changeText = fmtSigned(change, 1) + " punten";
        if (rc !== null) changeText += rc === 0 ? "; rang gelijk" : "; " + Math.abs(rc) + (Math.abs(rc) === 1 ? " plaats " : " plaatsen ") + (rc > 0 ? "gestegen" : "gedaald");
      }
      const drivers = (d.drivers[a.i] || []).map((k) => META.indicators[k].label);
      html += '<div class="rm-score" id="rm-profile-score">' + fmtNumber(d.score.totaal[a.i], 1)
        + (d.fromSuppressed[a.i] ? '<span title="mede berekend uit niet getoonde waarden">*</span>' : "")
        + ' <small style="font-size:14px;font-weight:400">totaalscore (0–100)</small></div>'
        + '<dl class="rm-kv"><dt>Rang</dt><dd>' + d.rank.totaal[a.i] + " van " + n + "</dd>"
        + "<dt>Rang 5–95%</dt><dd>" + (d.rankLow[a.i] !== null ? d.rankLow[a.i] + "–" + d.rankHigh[a.i] : "–") + "</dd>"
        + "<dt>Verandering t.o.v. " + esc(previous(period) || "vorig kwartaal") + "</dt><dd>" + changeText + "</dd>"
        + "<dt>Belangrijkste factoren</dt><dd>" + (drivers.length ? esc(drivers.join("; ")) : "–") + "</dd>"
        + "<dt>Hotspotstatus</dt><dd>" + hotspotText(a) + "</dd></dl>"
        + (d.fromSuppressed[a.i] ? '<p class="rm-note">* Mede berekend uit waarden die niet getoond worden (aantal kleiner dan 5).</p>' : "");
    }
    html += "<h3>Thema's</h3><table><thead><tr><th>Thema</th><th class=\"rm-num\">Score</th><th class=\"rm-num\">Rang</th>"
      + '<th class="rm-num">Verandering</th></tr></thead><tbody>'
      + META.themes.filter((t) => d.score && d.score[t.id]).map((t) => "<tr><td>" + esc(t.label)
        + '</td><td class="rm-num">' + fmtNumber(d.score[t.id][a.i], 1) + '</td><td class="rm-num">'
        + (d.rank[t.id][a.i] ?? "–") + '</td><td class="rm-num">' + fmtSigned(d.change[t.id][a.i], 1)
        + "</td></tr>").join("") + "</tbody></table>"
      + '<div class="rm-chart" id="rm-profile-scores"></div><div class="rm-chart" id="rm-profile-rank"></div>'
      + "<h3>Indicatoren</h3>" + indicatorTable(a, d)
      + '<h3>Indicatoren per kwartaal</h3><div class="rm-chart" id="rm-profile-indicators"></div>';
    return html;
  }

  function hotspotText(a) {
    if (a.level !== "buurt") return "alleen berekend voor buurten";
    const d = levelData(state.period, "buurt");
    if (!d.hotspot) return "niet berekend voor " + esc(state.period);
    const hot = hotspotOf(state.period, "buurt", a.i);
    let text = hot ? '<span class="rm-badge' + (hot === "Hotspot" ? " rm-hot" : "") + '">' + esc(hot) + "</span>"
      : "niet geanalyseerd (geen score of geen buren)";
    if (hot && d.z[a.i] !== null) text += " (z = " + fmtNumber(d.z[a.i], 2) + (d.q[a.i] !== null ? "; q = " + fmtNumber(d.q[a.i], 3) : "") + ")";
    const em = emergingOf(state.period, "buurt", a.i);
    text += "<br>Opkomend: " + (em ? esc(em) : "niet berekend t/m " + esc(state.period));
    return text;
  }

  function indicatorTable(a, d) {
    if (!d.value) return '<p class="rm-note">Geen indicatoren voor dit kwartaal.</p>';
    const rows = [];
    for (const t of META.themes) {
      if (t.id === "totaal") continue;
      const ids = t.indicators.filter((id) => d.value[id]);
      if (!ids.length) continue;
      rows.push('<tr class="rm-group"><td colspan="4">' + esc(t.label) + "</td></tr>");
      for (const id of ids) {
        const i = INDICATORS[id];
        const v = d.value[id][a.i];
        const ig = d.indexGemeente[id] ? d.indexGemeente[id][a.i] : null;
        const inl = d.indexNl[id] ? d.indexNl[id][a.i] : null;
        rows.push('<tr data-indicator="' + esc(id) + '"><td>' + esc(i.label) + ' <small class="rm-note">' + esc(i.unit)
          + '</small></td><td class="rm-num' + (typeof v === "number" ? "" : " rm-hidden-value") + '" title="'
          + esc(valueTitle(v)) + '">' + valueText(v, id) + '</td><td class="rm-num">' + fmtNumber(ig, 0)
          + '</td><td class="rm-num">' + (i.cbs ? fmtNumber(inl, 0) : '<span title="alleen voor CBS-cijfers">·</span>') + "</td></tr>");
      }
    }
    return '<table id="rm-profile-table"><thead><tr><th>Indicator</th><th class="rm-num">Waarde</th>'
      + '<th class="rm-num">Index gemeente = 100</th><th class="rm-num">Index Nederland = 100</th></tr></thead><tbody>'
      + rows.join("") + '</tbody></table><p class="rm-note">&lt;5: niet getoond, aantal kleiner dan 5. '
      + "–: niet berekend (noemer te klein) of geen gegevens. ·: geen landelijk cijfer (geen CBS-indicator).</p>";
  }

  // ---- compare two quarters -----------------------------------------------------------------
  function drawCompare() {
    const el = document.getElementById("rm-page-compare");
    if (!el.dataset.ready) {
      const options = META.periods.map((p) => "<option>" + esc(p) + "</option>").join("");
      el.innerHTML = '<div class="rm-card" style="flex-basis:100%"><h2>Kwartalen vergelijken</h2>'
        + '<div class="rm-filters"><label>Van <select id="rm-compare-a">' + options + "</select></label>"
        + '<label>Naar <select id="rm-compare-b">' + options + "</select></label>"
        + '<label>Niveau <select id="rm-compare-level"></select></label></div><p id="rm-compare-summary"></p></div>'
        + '<div class="rm-card"><h3>Grootste stijgers</h3><div id="rm-risers"></div>'
        + '<h3>Grootste dalers</h3><div id="rm-fallers"></div></div>'
        + '<div class="rm-card"><h3>Hotspots</h3><div id="rm-new-hotspots"></div>'
        + '<h3>Score in beide kwartalen</h3><div class="rm-chart" id="rm-compare-chart"></div></div>';
      el.classList.add("rm-wrap");
      const a = el.querySelector("#rm-compare-a");
      const b = el.querySelector("#rm-compare-b");
      a.value = previous(META.latest) || META.latest;
      b.value = META.latest;
      const lv = el.querySelector("#rm-compare-level");
      lv.innerHTML = SCORED().map((l) => '<option value="' + l + '">' + esc(LEVELS[l].plural) + "</option>").join("");
      lv.value = LEVELS.buurt ? "buurt" : SCORED()[0];
      [a, b, lv].forEach((s) => s.addEventListener("change", drawCompare));
      el.dataset.ready = "1";
    }
    const A = el.querySelector("#rm-compare-a").value;
    const B = el.querySelector("#rm-compare-b").value;
    const level = el.querySelector("#rm-compare-level").value;
    const list = visibleAreasAll(level);
    const da = levelData(A, level);
    const db = levelData(B, level);
    const rows = [];
    for (const x of list) {
      const sa = da.score && da.score.totaal ? da.score.totaal[x.i] : null;
      const sb = db.score && db.score.totaal ? db.score.totaal[x.i] : null;
      if (sa === null || sb === null) continue;
      rows.push({ a: x, sa, sb, change: Math.round((sb - sa) * 10) / 10,
        rankA: da.rank.totaal[x.i], rankB: db.rank.totaal[x.i] });
    }
    const changeTable = (items) => items.length ? '<table><thead><tr><th>Gebied</th><th class="rm-num">Score ' + esc(A)
      + '</th><th class="rm-num">Score ' + esc(B) + '</th><th class="rm-num">Verandering</th><th class="rm-num">Rang</th></tr></thead><tbody>'
      + items.map((r) => '<tr class="rm-link" data-code="' + esc(r.a.code) + '"><td>' + esc(r.a.name) + '</td><td class="rm-num">'
        + fmtNumber(r.sa, 1) + '</td><td class="rm-num">' + fmtNumber(r.sb, 1) + '</td><td class="rm-num">' + fmtSigned(r.change, 1)
        + '</td><td class="rm-num">' + r.rankA + " → " + r.rankB + "</td></tr>").join("") + "</tbody></table>"
      : '<p class="rm-note">Geen.</p>';
    const up = rows.filter((r) => r.change > 0).sort((x, y) => y.change - x.change);
    const down = rows.filter((r) => r.change < 0).sort((x, y) => x.change - y.change);
    el.querySelector("#rm-risers").innerHTML = changeTable(up.slice(0, 10));
    el.querySelector("#rm-fallers").innerHTML = changeTable(down.slice(0, 10));
    el.querySelector("#rm-compare-summary").textContent = A === B ? "Kies twee verschillende kwartalen."
      : rows.length + " " + LEVELS[level].plural.toLowerCase() + " met een score in beide kwartalen: "
        + up.length + " gestegen, " + down.length + " gedaald, " + (rows.length - up.length - down.length) + " gelijk.";
    el.querySelector("#rm-new-hotspots").innerHTML = hotspotChanges(A, B, level, list);
    linkRows(el);
    chart(el.querySelector("#rm-compare-chart"), "quarterScatter", rows.map((r) => ({ naam: r.a.name,
      a: r.sa, b: r.sb, richting: r.change > 0 ? "gestegen" : (r.change < 0 ? "gedaald" : "gelijk") })),
      (spec) => { for (const layer of spec.layer) { if (layer.encoding && layer.encoding.x && layer.encoding.x.title) {
        layer.encoding.x.title = "Score " + A; layer.encoding.y.title = "Score " + B; } } });
  }
  function SCORED() { return ["buurt", "wijk", ...AREA_LEVELS].filter((l) => LEVELS[l] && META.periods.some((p) => levelData(p, l).score)); }
  function visibleAreasAll(level) {
    const g = geo(level);
    if (!g) return [];
    return g.codes.map((code, i) => ({ level, code, i, name: g.names[i] || code, wijk: g.wijk[i], gemeente: g.gemeente[i] }))
      .filter((a) => !state.gemeente || a.gemeente === state.gemeente);
  }
  function hotspotChanges(A, B, level, list) {
    if (level !== "buurt") return '<p class="rm-note">Hotspots worden voor buurten berekend.</p>';
    const ha = levelData(A, level).hotspot;
    const hb = levelData(B, level).hotspot;
    const missing = [A, B].filter((p) => !levelData(p, level).hotspot);
    if (missing.length) return '<p class="rm-note">Hotspots (Gi*) niet berekend voor ' + esc(missing.join(" en ")) + ".</p>";
    const hot = (h, i) => META.hotspots[h[i]] === "Hotspot";
    const fresh = list.filter((x) => hot(hb, x.i) && !hot(ha, x.i));
    const gone = list.filter((x) => hot(ha, x.i) && !hot(hb, x.i));
    const kept = list.filter((x) => hot(ha, x.i) && hot(hb, x.i));
    const names = (xs) => xs.length ? xs.map((x) => '<tr class="rm-link" data-code="' + esc(x.code) + '"><td>' + esc(x.name) + "</td></tr>").join("") : "<tr><td>geen</td></tr>";
    return '<table id="rm-hotspot-changes"><tbody><tr class="rm-group"><td>Nieuwe hotspots in ' + esc(B) + " (" + fresh.length + ")</td></tr>" + names(fresh)
      + '<tr class="rm-group"><td>Geen hotspot meer (' + gone.length + ")</td></tr>" + names(gone)
      + '<tr class="rm-group"><td>In beide kwartalen hotspot (' + kept.length + ")</td></tr>" + names(kept) + "</tbody></table>";
  }

  // ---- gemeente, Nederland and similar gemeenten ---------------------------------------------
  function drawGemeente() {
    const el = document.getElementById("rm-page-gemeente");
    if (el.dataset.ready) return;
    const c = META.comparison;
    const own = c.gemeenten.find((g) => g.role === "eigen");
    const similar = c.gemeenten.filter((g) => g.role === "vergelijkbaar");
    const cbs = META.indicators.filter((i) => i.cbs && c.values[i.id]);
    const median = (xs) => { const s = xs.slice().sort((x, y) => x - y); const m = s.length >> 1;
      return s.length ? (s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2) : null; };
    let html = '<div class="rm-card" style="flex-basis:100%"><h2>' + esc(META.place) + " vergeleken met Nederland en vergelijkbare gemeenten</h2>"
      + '<p>Indicatoren uit CBS-cijfers (Kerncijfers wijken en buurten' + (c.year ? " " + c.year : "") + ") voor de gemeente als geheel. "
      + esc(c.basis) + "</p>";
    if (!own) html += '<p class="rm-note">De CBS-cijfers van de gemeente zelf zijn niet geladen.</p>';
    html += '<table id="rm-gemeente-table"><thead><tr><th>Indicator</th><th class="rm-num">' + esc(META.place)
      + '</th><th class="rm-num">Vergelijkbare gemeenten (mediaan)</th><th class="rm-num">Laagste – hoogste</th>'
      + '<th class="rm-num">Nederland</th><th class="rm-num">Index Nederland = 100</th></tr></thead><tbody>';
    const points = [];
    for (const i of cbs) {
      const v = c.values[i.id];
      const mine = own ? v[own.code] : undefined;
      const national = c.gemeenten.find((g) => g.role === "Nederland");
      const nl = national ? v[national.code] : undefined;
      const others = similar.map((g) => v[g.code]).filter((x) => typeof x === "number");
      html += "<tr><td>" + esc(i.label) + ' <small class="rm-note">' + esc(i.unit) + '</small></td><td class="rm-num">'
        + fmtNumber(mine, 1) + '</td><td class="rm-num">' + fmtNumber(median(others), 1) + '</td><td class="rm-num">'
        + (others.length ? fmtNumber(Math.min(...others), 1) + " – " + fmtNumber(Math.max(...others), 1) : "–")
        + '</td><td class="rm-num">' + fmtNumber(nl, 1) + '</td><td class="rm-num">'
        + (typeof mine === "number" && nl ? fmtNumber(100 * mine / nl, 0) : "–") + "</td></tr>";
      if (!nl) continue;
      if (typeof mine === "number") points.push({ indicator: i.label, rol: "eigen gemeente", naam: META.place, index: 100 * mine / nl, waarde: fmtNumber(mine, 1) });
      for (const g of similar) {
        if (typeof v[g.code] === "number") points.push({ indicator: i.label, rol: "vergelijkbare gemeente", naam: g.name, index: 100 * v[g.code] / nl, waarde: fmtNumber(v[g.code], 1) });
      }
    }
    html += '</tbody></table><div class="rm-chart" id="rm-gemeente-chart"></div></div>'
      + '<div class="rm-card"><h3>Vergelijkbare gemeenten</h3>' + (similar.length ? '<table><thead><tr><th>Gemeente</th><th class="rm-num">Inwoners</th><th>Stedelijkheid</th></tr></thead><tbody>'
        + [own, ...similar].filter(Boolean).map((g) => "<tr><td>" + esc(g.name) + (g.role === "eigen" ? " (eigen gemeente)" : "")
          + '</td><td class="rm-num">' + fmtNumber(g.inhabitants, 0) + "</td><td>" + esc(g.urbanity || "–") + "</td></tr>").join("")
        + "</tbody></table>" : '<p class="rm-note">Geen vergelijkingsgroep beschikbaar.</p>') + "</div>";
    el.innerHTML = html;
    el.classList.add("rm-wrap");
    chart(el.querySelector("#rm-gemeente-chart"), "gemeenteComparison", points);
    el.dataset.ready = "1";
  }

  // ---- about --------------------------------------------------------------------------------
  function drawAbout() {
    const el = document.getElementById("rm-page-about");
    if (el.dataset.ready) return;
    const list = (xs) => "<ul>" + xs.map((x) => "<li>" + esc(x) + "</li>").join("") + "</ul>";
    const sources = META.sources;
    const heads = sources.length ? Object.keys(sources[0]) : [];
    el.innerHTML = '<div class="rm-card"><h2>Hoe dit dashboard werkt</h2>' + list(META.method)
      + "<h3>Privacy</h3>" + list(META.privacy) + "</div>"
      + '<div class="rm-card"><h2>Bronnen van ' + esc(META.latest) + "</h2><table><thead><tr>"
      + heads.map((h) => "<th>" + esc(h) + "</th>").join("") + "</tr></thead><tbody>"
      + sources.map((r) => "<tr>" + heads.map((h) => "<td>" + esc(r[h]) + "</td>").join("") + "</tr>").join("")
      + "</tbody></table><p class=\"rm-note\">Kaart: Leaflet. Grafieken: Vega-Lite. Alles staat in dit ene bestand; het maakt geen verbinding met internet.</p></div>";
    el.classList.add("rm-wrap");
    el.dataset.ready = "1";
  }

  // ---- controls -----------------------------------------------------------------------------
  function tabs() {
    const items = [["map:totaal", "Overzicht"], ...META.themes.filter((t) => t.id !== "totaal").map((t) => ["map:" + t.id, t.label]),
      ["compare", "Kwartalen vergelijken"], ["gemeente", "Gemeente en Nederland"], ["about", "Over dit dashboard"]];
    const nav = document.getElementById("rm-tabs");
    nav.innerHTML = items.map(([id, label]) => '<button type="button" role="tab" data-tab="' + esc(id) + '">' + esc(label) + "</button>").join("");
    nav.querySelectorAll("button").forEach((b) => b.addEventListener("click", () => {
      const [page, theme] = b.dataset.tab.split(":");
      state.page = page;
      if (theme) { state.theme = theme; closeProfile(); }
      showPage();
    }));
  }

  function showPage() {
    for (const name of ["map", "compare", "gemeente", "about"]) {
      document.getElementById("rm-page-" + name).hidden = state.page !== name;
    }
    document.querySelectorAll("#rm-tabs button").forEach((b) => {
      const [page, theme] = b.dataset.tab.split(":");
      b.setAttribute("aria-selected", String(page === state.page && (!theme || theme === state.theme)));
    });
    if (state.page === "map") {
      map.invalidateSize();
      redrawMap();
      if (document.getElementById("rm-profile").hidden) drawTheme();
    }
    if (state.page === "compare") drawCompare();
    if (state.page === "gemeente") drawGemeente();
    if (state.page === "about") drawAbout();
  }

  function syncControls() {
    const level = document.getElementById("rm-level");
    level.value = state.level;
    level.disabled = Boolean(state.only);
    for (const id of AREA_LEVELS) document.getElementById("rm-only-" + id).checked = state.only === id;
    document.getElementById("rm-quarter").value = state.period;
    document.getElementById("rm-quarter-slider").value = META.periods.indexOf(state.period);
  }

  function setPeriod(period) {
    state.period = period;
    syncControls();
    if (state.page === "map") {
      redrawMap();
      if (state.selected) openProfile(state.selected); else drawTheme();
    } else {
      showPage();
    }
  }

  function controls() {
    const select = document.getElementById("rm-quarter");
    select.innerHTML = META.periods.map((p) => "<option>" + esc(p) + "</option>").join("");
    select.addEventListener("change", () => setPeriod(select.value));
    const slider = document.getElementById("rm-quarter-slider");
    slider.max = META.periods.length - 1;
    slider.addEventListener("input", () => setPeriod(META.periods[Number(slider.value)]));
    const level = document.getElementById("rm-level");
    level.innerHTML = ["wijk", "buurt"].filter((l) => LEVELS[l])
      .map((l) => '<option value="' + l + '">' + esc(LEVELS[l].plural) + "</option>").join("");
    level.addEventListener("change", () => { state.level = level.value; if (level.value === "wijk") state.wijk = null;
      state.refit = true; closeProfile(); redrawMap(); drawTheme(); });
    const redraw = () => { redrawMap(); if (document.getElementById("rm-profile").hidden) drawTheme(); };
    const toggles = { "rm-show-hotspots": "showHotspots", "rm-show-emerging": "showEmerging",
      "rm-only-hotspots": "onlyHotspots" };
    for (const [id, key] of Object.entries(toggles)) {
      const box = document.getElementById(id);
      box.checked = state[key];
      box.addEventListener("change", () => { state[key] = box.checked; redraw(); });
    }
    for (const id of AREA_LEVELS) {
      const show = document.getElementById("rm-show-" + id);
      show.checked = state.show[id];
      show.addEventListener("change", () => { state.show[id] = show.checked; redraw(); });
      const only = document.getElementById("rm-only-" + id);
      only.addEventListener("change", () => { state.only = only.checked ? id : null; state.wijk = null;
        state.refit = true; syncControls(); redraw(); });
    }
    document.getElementById("rm-print").addEventListener("click", () => window.print());
    // the printed page is narrower: redraw the map for it, and back again afterwards
    const refit = () => { map.invalidateSize(); state.refit = true; redrawMap(); };
    window.addEventListener("beforeprint", refit);
    window.addEventListener("afterprint", refit);
    search();
  }

  // ---- search by name -----------------------------------------------------------------------
  function plain(text) { return String(text).normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase(); }
  function search() {
    const input = document.getElementById("rm-search");
    const results = document.getElementById("rm-search-results");
    let index = null;
    const build = () => {
      index = [];
      for (const level of ["gemeente", "wijk", "buurt", ...AREA_LEVELS]) {
        const g = geo(level);
        if (!g) continue;
        g.codes.forEach((code, i) => index.push({ level, code, i, key: plain((g.names[i] || "") + " " + code) }));
      }
    };
    const show = () => {
      if (!index) build();
      const q = plain(input.value.trim());
      if (!q) { results.hidden = true; return; }
      const hits = index.filter((e) => e.key.includes(q)).sort((x, y) => x.key.indexOf(q) - y.key.indexOf(q)).slice(0, 12);
      results.innerHTML = hits.length ? hits.map((h) => {
        const a = area(h.level, h.code);
        const w = a.level === "buurt" && a.wijk ? area("wijk", a.wijk) : null;
        return '<li role="option" data-level="' + h.level + '" data-code="' + esc(h.code) + '">' + esc(a.name) + " <small>"
          + esc(LEVELS[h.level].label) + (w ? ", wijk " + esc(w.name) : "") + " · " + esc(h.code) + "</small></li>";
      }).join("") : "<li>Niets gevonden</li>";
      results.hidden = false;
      results.querySelectorAll("li[data-code]").forEach((li) => li.addEventListener("mousedown", (e) => {
        e.preventDefault();
        pick(area(li.dataset.level, li.dataset.code));
      }));
    };
    const pick = (a) => { results.hidden = true; input.value = a.name; focusArea(a); };
    input.addEventListener("input", show);
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") { const first = results.querySelector("li[data-code]"); if (first) pick(area(first.dataset.level, first.dataset.code)); }
      if (e.key === "Escape") results.hidden = true;
    });
    input.addEventListener("blur", () => { results.hidden = true; });
  }

  // ---- start --------------------------------------------------------------------------------
  tabs();
  controls();
  syncControls();
  showPage();
  window.rmDashboard = { state, map, shapes, geo, quarter, focusArea, findArea, fmtNumber, fmtSigned,
    readyAt: performance.now(), ready: true };
})();
