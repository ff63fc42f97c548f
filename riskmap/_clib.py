"""Loading riskmap's small C helpers (built next to their sources by ``scripts/build-native``).

Each helper is optional: where it is not built, or cannot be loaded, riskmap does the same work
in Python. :func:`c_library` says so in one warning, and its caller checks what only it knows
(a version, known answers) before it uses the helper.
"""

from __future__ import annotations

import ctypes
import logging
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger(__name__)


def c_library(path: Path, functions: Sequence[str], without: str) -> ctypes.CDLL | None:
    """The helper at ``path`` with ``functions``, or ``None`` where it is not built or cannot
    be loaded (then one warning ends with ``without``: what riskmap does instead)."""
    if not path.exists():
        return None
    try:
        library = ctypes.CDLL(str(path))
        for name in functions:
            getattr(library, name)
    except (OSError, AttributeError) as exc:
        log.warning("%s: niet te laden (%s); %s", path, exc, without)
        return None
    return library
