"""Parsing helpers for the HTML outputs: what a page would load, its tables, text and GeoJSON."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+)|@import\s+['"]([^'"]+)""")


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []
        self.tables: list[list[list[str]]] = []
        self.text: list[str] = []
        self._cell: list[str] | None = None
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in {"src", "href", "srcset", "poster", "data"} and value:
                self.urls.append(value)
            if name == "style" and value:
                self.urls += [a or b for a, b in CSS_URL.findall(value)]
        if tag in {"script", "style"}:
            self._skip += 1
        elif tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in {"td", "th"}:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style"}:
            self._skip -= 1
        elif tag in {"td", "th"} and self._cell is not None and self.tables:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._skip:
            if self.lasttag == "style":
                self.urls += [a or b for a, b in CSS_URL.findall(data)]
            return
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def parse(html: str) -> _Page:
    """The parsed page: ``urls`` it would load, ``tables`` (rows of cells) and ``text``."""
    page = _Page()
    page.feed(html)
    return page


def geojson(html: str) -> list[dict]:
    """The GeoJSON FeatureCollections of a map page's layers, as its script makes them when a
    layer is shown: its properties and shapes from what the page holds once (``rmShared``)."""
    decoder = json.JSONDecoder()
    calls = list(re.finditer(r"geo_json_[0-9a-f]+_add\(", html))
    if not calls:
        return []
    shared = decoder.raw_decode(html, html.index("var rmShared = ") + len("var rmShared = "))[0]
    layers = []
    for call in calls:
        made = re.compile(r"rmWhenShown\((geo_json_[0-9a-f]+), ").match(html, call.end())
        assert made is not None and call.group(0).startswith(made.group(1)), \
            html[call.end():call.end() + 80]
        columns, end = decoder.raw_decode(html, made.end())
        assert html.startswith(", ", end)
        shapes = shared[decoder.raw_decode(html, end + 2)[0]]
        layers.append({"type": "FeatureCollection", "features": [
            {"id": str(i), "type": "Feature", "geometry": shape,
             "properties": {name: shared[column][i] for name, column in columns.items()}}
            for i, shape in enumerate(shapes)]})
    return layers
