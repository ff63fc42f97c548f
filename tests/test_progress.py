import io
import logging

import pytest

from riskmap import _forked, _progress


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_yields_everything_on_and_off(monkeypatch: pytest.MonkeyPatch):
    assert list(_progress.progress(range(3), "x")) == [0, 1, 2]  # not a terminal: plain
    monkeypatch.setattr("sys.stderr", _Tty())
    logger = logging.getLogger("riskmap")
    monkeypatch.setattr(logger, "handlers", [logging.StreamHandler()])
    assert _progress.enabled()
    assert list(_progress.progress(iter(range(4)), "y", total=4)) == [0, 1, 2, 3]
    quiet = logging.StreamHandler()
    quiet.setLevel(logging.WARNING)
    monkeypatch.setattr(logger, "handlers", [quiet])
    assert not _progress.enabled()


def test_no_progress_bars_in_a_forked_process(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr("sys.stderr", _Tty())
    monkeypatch.setattr(logging.getLogger("riskmap"), "handlers", [logging.StreamHandler()])
    assert _progress.enabled()
    monkeypatch.setattr(_forked, "_FORKED", True)
    assert not _progress.enabled()
