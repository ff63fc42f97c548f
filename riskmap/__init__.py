"""riskmap: where the risk of ondermijning is higher, per buurt, wijk and bedrijventerrein.

Explainable, reproducible, offline area-based risk analysis for Dutch municipalities.

>>> import riskmap
>>> project = riskmap.Project("out/demo")            # doctest: +SKIP
>>> riskmap.scores(project, "2025Q3", level="buurt")  # doctest: +SKIP
"""

from importlib.metadata import PackageNotFoundError, version

from riskmap import indicators, maps, models, reports, sources
from riskmap.errors import RiskmapError
from riskmap.periods import Period
from riskmap.project import Project, scores

try:
    __version__ = version("riskmap")
except PackageNotFoundError:  # running from a checkout without installing
    __version__ = "0.0.0"

__all__ = ["Period", "Project", "RiskmapError", "__version__", "indicators", "maps", "models",
           "reports", "scores", "sources"]
