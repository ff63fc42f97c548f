"""YAML reading through libyaml where PyYAML was built with it (about ten times faster than
the pure-Python parser; same safe types), else the pure-Python ``SafeLoader``."""

from __future__ import annotations

from typing import Any

import yaml

SafeLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> Any:
    """The data of a YAML document, with only the safe types (like ``yaml.safe_load``)."""
    return yaml.load(text, Loader=SafeLoader)  # noqa: S506 - a safe loader
