"""The dashboard page: one HTML file with Leaflet, Vega-Lite, the page script and the data inline.

Nothing is loaded from elsewhere: no basemap, no fonts, no scripts; the file opens from a file
share without a network. It is written through :func:`riskmap.indicators.privacy.write_text`.
"""

from __future__ import annotations

import html
import logging
import re
from importlib import resources
from pathlib import Path

import xstatic.pkg.leaflet as xleaflet
from jinja2 import Environment

from riskmap.fmt import integer
from riskmap.indicators.catalogue import Indicator
from riskmap.indicators.privacy import Guard, write_text
from riskmap.store import Store

from . import texts
from .data import DashboardData, dashboard_data, dumps
from .vega import vega_bundle

log = logging.getLogger(__name__)

ASSETS = "dashboard/assets"
CLOSING = re.compile(r"</(script)", re.IGNORECASE)


def _asset(name: str) -> str:
    return resources.files("riskmap").joinpath(f"{ASSETS}/{name}").read_text(encoding="utf-8")


def _leaflet() -> tuple[str, str]:
    base = Path(xleaflet.BASE_DIR)
    css = (base / "leaflet.css").read_text(encoding="utf-8").replace("url(images/", "url(data:,")
    return css, (base / "leaflet.js").read_text(encoding="utf-8")


def _script_safe(text: str) -> str:
    """Script text that cannot close its ``<script>`` element early (``</script`` becomes
    ``<\\/script``, which means the same in a JavaScript string)."""
    return CLOSING.sub(r"<\\/\1", text)


def _data_tag(name: str, text: str) -> str:
    """JSON in a data block: every ``</`` and ``<!--`` escaped (the same JSON once parsed)."""
    safe = text.replace("</", "<\\/").replace("<!--", "<\\u0021--")
    return f'<script type="application/json" id="{html.escape(name)}">{safe}</script>'


def dashboard_html(data: DashboardData) -> str:
    """The complete page."""
    leaflet_css, leaflet_js = _leaflet()
    tags = [_data_tag("rm-meta", dumps(data.meta))]
    tags += [_data_tag(f"rm-geo-{level}", text) for level, text in data.geo.items()]
    tags += [_data_tag(f"rm-q-{period}", text) for period, text in data.quarters.items()]
    template = Environment(autoescape=True).from_string(_asset("dashboard.html"))
    search = texts.search_placeholder([t["label"] for t in data.meta["areaTypes"]])
    page: str = template.render(
        meta=data.meta, search=search, leaflet_css=leaflet_css, app_css=_asset("dashboard.css"),
        data_tags="\n".join(tags), leaflet_js=_script_safe(leaflet_js),
        vega_js=_script_safe(vega_bundle()), app_js=_script_safe(_asset("dashboard.js")))
    return page


def write_dashboard_html(data: DashboardData, path: Path, guard: Guard) -> Path:
    """Write the page after the privacy checks of :func:`write_text`."""
    return write_text(dashboard_html(data), path, guard)


def write_dashboard(store: Store, catalogue: list[Indicator], gemeente: str, place: str,
                    min_count: int, path: Path, guard: Guard,
                    tolerance: float | None = None) -> Path:
    """Write the dashboard over every built quarter of ``store`` to ``path`` (see
    :func:`riskmap.dashboard.data.dashboard_data` for the arguments)."""
    data = dashboard_data(store, catalogue, gemeente, place, min_count, tolerance)
    written = write_dashboard_html(data, path, guard)
    log.debug("%s geschreven (%s kB)", path, integer(path.stat().st_size // 1024))
    return written
