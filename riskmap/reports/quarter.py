"""What every writer of a quarter's outputs needs, handed over by the caller.

Writers take a :class:`QuarterOutput` (an open store, the project's settings, the catalogue and
the privacy guard) instead of a project, so data flows one way: the project (or the pipeline)
opens the store and calls the writers; no writer imports :mod:`riskmap.project`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from riskmap.config import Config
from riskmap.errors import RiskmapError
from riskmap.indicators.catalogue import Indicator
from riskmap.indicators.privacy import Guard, figure_bytes
from riskmap.maps.figures import StaticMap
from riskmap.periods import Period
from riskmap.store import Store

if TYPE_CHECKING:
    from collections.abc import Callable

    import pandas as pd

    from riskmap.reports.bias import BiasAudit


@dataclass(frozen=True)
class QuarterOutput:
    """A built quarter as the writers see it.

    Parameters
    ----------
    store
        The project's store, open (read-only is enough) while the writers run.
    config
        The project's configuration.
    catalogue
        The project's indicator catalogue.
    guard
        The privacy guard every output file is checked with.
    period
        The quarter whose outputs are written.
    """

    store: Store
    config: Config
    catalogue: list[Indicator]
    guard: Guard
    period: Period
    _memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def reopened(self, store: Store, guard: Guard) -> QuarterOutput:
        """The same quarter over another open store (a forked process opens its own), sharing
        what was computed once for all writers so far, and what the store read."""
        return replace(self, store=store.reads_from(self.store), guard=guard)

    def bias_audit(self, accuracy: Callable[[], pd.DataFrame | None] | None = None) -> BiasAudit:
        """The quarter's bias audit (:func:`riskmap.reports.bias.bias_audit`, ``accuracy`` as
        there), computed once for all writers; raises its
        :class:`~riskmap.errors.RiskmapError` each time it is asked."""
        if "bias" not in self._memo:
            from riskmap.reports.bias import bias_audit  # noqa: PLC0415 - bias imports targets, which imports this module

            try:
                self._memo["bias"] = bias_audit(self.store, self.catalogue, self.config,
                                                self.period, accuracy=accuracy)
            except RiskmapError as exc:
                self._memo["bias"] = exc
        found = self._memo["bias"]
        if isinstance(found, RiskmapError):
            raise found
        return found

    def take_bias_audit(self, other: QuarterOutput) -> None:
        """Take the bias audit ``other`` (of the same quarter) computed, or why there is none,
        where it has one."""
        if "bias" in other._memo:
            self._memo["bias"] = other._memo["bias"]

    def map_png(self, static: StaticMap, rendered: bytes | None = None) -> bytes:
        """A static map as PNG, drawn and rendered once for all writers: ``rendered`` keeps the
        PNG a writer made (of a file it wrote through the privacy guard); else it is drawn,
        checked and rendered here."""
        key = f"png:{static.stem}"
        if rendered is not None:
            self._memo[key] = rendered
        if key not in self._memo:
            figure = static.draw()
            self._memo[key] = figure_bytes(figure, self.guard, f"{static.stem}.png")
        return bytes(self._memo[key])

    @property
    def folder(self) -> Path:
        """The output folder of the quarter (``output/2025Q3``)."""
        return self.config.path("paths.output") / str(self.period)

    @property
    def output_root(self) -> Path:
        """The project's output folder (holding one folder per quarter)."""
        return self.config.path("paths.output")

    @property
    def place(self) -> str:
        """The name of the gemeente as outputs show it (its CBS code when no name is set)."""
        return str(self.config["naam"] or self.config.gemeente)

    @property
    def min_count(self) -> int:
        """The privacy minimum for counts."""
        return int(self.config["privacy.min_count"])
