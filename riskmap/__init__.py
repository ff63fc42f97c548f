"""riskmap: where the risk of ondermijning is higher, per buurt, wijk and bedrijventerrein.

Explainable, reproducible, offline area-based risk analysis for Dutch municipalities.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("riskmap")
except PackageNotFoundError:  # running from a checkout without installing
    __version__ = "0.0.0"

__all__ = ["__version__"]
