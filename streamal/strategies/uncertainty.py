"""Uncertainty sampling: ask for the labels the model is least sure of."""

from __future__ import annotations

from streamal.strategies.base import Observation, Strategy

__all__ = ["Uncertainty"]


class Uncertainty(Strategy):
    """Least-confidence uncertainty with a quantile-filter budget.

    The utility is ``1 - max(proba)``: 0 when the model is certain, highest at
    a tie. Because the filter queries the top share of *recent* utilities
    rather than those over a fixed threshold, the strategy goes on querying
    when the model grows over-confident.

    >>> s = Uncertainty()
    >>> s.utility(Observation({"a": 0.5, "b": 0.5}, {}))
    0.5
    >>> s.utility(Observation({}, {}))  # no model yet: as unsure as can be
    1.0
    """

    name = "uncertainty"

    def utility(self, obs: Observation) -> float:
        if not obs.proba:
            return 1.0
        return 1.0 - max(obs.proba.values())
