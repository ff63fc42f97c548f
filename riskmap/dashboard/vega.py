"""Vega, Vega-Lite and vega-embed as one script to inline, from the installed vl-convert-python.

``vl_convert.javascript_bundle`` builds the bundle from the JavaScript shipped inside the
vl-convert-python wheel (no network). Building takes a few CPU seconds, so the result is kept
per version in the user's cache folder (``$XDG_CACHE_HOME/riskmap`` or ``~/.cache/riskmap``)
and in memory.
"""

from __future__ import annotations

import logging
import os
from functools import cache
from pathlib import Path

import altair as alt
import vl_convert

log = logging.getLogger(__name__)

SNIPPET = "window.vegaEmbed = vegaEmbed; window.vega = vega; window.vegaLite = vegaLite;"
BUNDLE_MARK = "window.vegaEmbed"


def vegalite_version() -> str:
    """The Vega-Lite version (major.minor) of Altair's specifications, as vl-convert names it."""
    wanted = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
    available = vl_convert.get_vegalite_versions()
    return wanted if wanted in available else available[-1]


def cache_folder() -> Path:
    """Where built bundles are kept between runs."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "riskmap"


@cache
def vega_bundle() -> str:
    """The script that defines ``vegaEmbed``, ``vega`` and ``vegaLite`` on ``window``.

    The bundle's own top-level names (minified, e.g. ``L``) are kept inside a function, so that
    they do not replace other globals of the page such as Leaflet's ``L``.
    """
    return f"(function(){{\n{_bundle()}\n}})();"


def _bundle() -> str:
    version = vegalite_version()
    name = (f"vega-{vl_convert.get_vega_version()}-lite-{version}-embed-"
            f"{vl_convert.get_vega_embed_version()}.js")
    path = cache_folder() / name
    if path.is_file():
        text = path.read_text(encoding="utf-8")
        if BUNDLE_MARK in text:
            return text
    log.debug("Vega-Lite-scriptbundel gemaakt (eenmaal per versie): %s", name)
    text = vl_convert.javascript_bundle(SNIPPET, vl_version=version)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:  # a read-only home: build again next time
        log.debug("could not keep the Vega-Lite bundle in %s (%s)", path.parent, exc)
    return text
