"""What the tests of riskmap's C helpers share."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest


def assert_refused(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
                   module: ModuleType, loader: Callable[[], Any], library: object,
                   message: str) -> None:
    """``loader`` (the module's cached loader of its helper) gives ``None`` and logs
    ``message`` when the helper loads as ``library``."""
    monkeypatch.setattr(module, "LIBRARY", Path(__file__))  # a file that exists
    monkeypatch.setattr(module.ctypes, "CDLL", lambda path: library)
    loader.cache_clear()  # type: ignore[attr-defined]
    try:
        with caplog.at_level(logging.WARNING):
            assert loader() is None
        assert message in caplog.text
    finally:
        loader.cache_clear()  # type: ignore[attr-defined]
