"""Where the default configuration files are: ``config/`` of a checkout, or the package's copy."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"


def config_file(name: str) -> Path:
    """A file of the default configuration folder (``config/`` of the checkout or package)."""
    packaged = Path(str(resources.files("riskmap").joinpath("defaults", name)))
    return packaged if packaged.exists() else CONFIG_DIR / name
