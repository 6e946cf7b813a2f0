"""Uncertainty sampling: ask for the labels the model is least sure of.

Three measures of "unsure", each with the quantile-filter budget of
:class:`~streamal.core.strategies.base.Strategy`:

* ``uncertainty`` (least confidence): ``1 - max(proba)``;
* ``margin``: ``1 - (p1 - p2)``, one minus the gap between the two most probable classes;
* ``entropy``: the Shannon entropy of ``proba``, normalised to [0, 1].

Because the filter queries the top share of *recent* utilities rather than
those over a fixed threshold, these strategies go on querying when the model
grows over-confident.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping

from streamal.core.strategies.base import Observation, Strategy

__all__ = ["Entropy", "Margin", "Uncertainty", "confidence"]


def confidence(proba: Mapping[str, float]) -> float:
    """The probability of the most probable class (0 with no model yet).

    >>> confidence({"a": 0.7, "b": 0.3}), confidence({})
    (0.7, 0.0)
    """
    return max(proba.values()) if proba else 0.0


class Uncertainty(Strategy):
    """Least-confidence uncertainty: ``1 - max(proba)``.

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


class Margin(Strategy):
    """Margin uncertainty: one minus the gap between the two most probable classes.

    >>> s = Margin()
    >>> round(s.utility(Observation({"a": 0.5, "b": 0.3, "c": 0.2}, {})), 6)
    0.8
    >>> s.utility(Observation({"a": 1.0}, {}))  # one class known: no gap to speak of
    0.0
    """

    name = "margin"

    def utility(self, obs: Observation) -> float:
        if not obs.proba:
            return 1.0
        if len(obs.proba) == 1:
            return 0.0
        p1, p2 = heapq.nlargest(2, obs.proba.values())
        return 1.0 - (p1 - p2)


class Entropy(Strategy):
    """Entropy of the class probabilities, normalised by ``log(n_classes)`` to [0, 1].

    >>> s = Entropy()
    >>> s.utility(Observation({"a": 0.5, "b": 0.5}, {}))
    1.0
    >>> s.utility(Observation({"a": 1.0, "b": 0.0}, {}))
    0.0
    """

    name = "entropy"

    def utility(self, obs: Observation) -> float:
        if not obs.proba:
            return 1.0
        k = len(obs.proba)
        if k < 2:
            return 0.0
        h = sum(-p * math.log(p) for p in obs.proba.values() if p > 0.0)
        return h / math.log(k)
