"""riskmap: where the risk of ondermijning is higher, per buurt, wijk and bedrijventerrein.

Explainable, reproducible, offline area-based risk analysis for Dutch municipalities.

>>> import riskmap
>>> project = riskmap.Project("out/demo")            # doctest: +SKIP
>>> riskmap.scores(project, "2025Q3", level="buurt")  # doctest: +SKIP

The subpackages and flagship names are imported on first use (PEP 562), so ``import riskmap``
and ``riskmap --help`` do not pay for scipy, scikit-learn, matplotlib and geopandas.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from riskmap.errors import RiskmapError
from riskmap.periods import Period

if TYPE_CHECKING:
    from riskmap import indicators, maps, models, reports, sources
    from riskmap.project import Project, scores

try:
    __version__ = version("riskmap")
except PackageNotFoundError:  # running from a checkout without installing
    __version__ = "0.0.0"

_SUBPACKAGES = ("indicators", "maps", "models", "reports", "sources")
_FROM_PROJECT = ("Project", "scores")

__all__ = ["Period", "Project", "RiskmapError", "__version__", "indicators", "maps", "models",
           "reports", "scores", "sources"]


def __getattr__(name: str) -> Any:
    if name in _SUBPACKAGES:
        return import_module(f"riskmap.{name}")
    if name in _FROM_PROJECT:
        return getattr(import_module("riskmap.project"), name)
    raise AttributeError(f"module 'riskmap' has no attribute {name!r}")
