"""Fixtures of the model tests."""

import logging
from collections.abc import Iterator

import pytest


@pytest.fixture
def riskmap_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Captured ``riskmap`` log lines from INFO up (the CLI may have stopped propagation)."""
    logger = logging.getLogger("riskmap")
    propagate = logger.propagate
    logger.propagate = True
    with caplog.at_level(logging.INFO, logger="riskmap"):
        yield caplog
    logger.propagate = propagate
