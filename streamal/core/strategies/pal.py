"""Probabilistic active learning (PAL) for data streams.

Kottke, Krempl and Spiliopoulou, "Probabilistic Active Learning in
Datastreams" (IDA 2015): the value of a label is the *expected gain in
accuracy* it brings to its neighbourhood, weighted by how dense that
neighbourhood is. The gain (:func:`probabilistic_gain`) is taken over what the
true class posterior may be given the labels already there (a Beta posterior
on ``n`` labels with ``k`` of the majority class) and over the label the
analyst may give: a region with no labels has much to gain; a region with
many, agreeing labels has nothing left to learn, however unsure the model
is there. The balanced incremental quantile filter turns the values into
queries at the budget.

The reference implementation estimates ``n``, ``k`` and the density with
Parzen windows over a window of past events, about 0.4 ms per event. Here a
neighbourhood is a cell of :class:`~streamal.core.neighbourhood.Cells` with counts
that fade over ``half_life`` events, and the gain has a closed form (cached),
so one decision costs microseconds. As in scikit-activeml's implementation,
the label statistics are ``n`` (labels in the neighbourhood) and ``k = n *
max(proba)`` from the model's probabilities (``posterior="model"``, the
default); ``posterior="cell"`` takes ``k`` from the cell's own label counts
as the paper's Parzen-window classifier would.

A region with no labels has much to gain, a split one with a few labels
less, one with many labels little, and one whose majority a few more labels
cannot overturn nothing:

>>> [round(probabilistic_gain(n, k), 4) for n, k in [(0, 0), (4, 2), (50, 25), (50, 30)]]
[0.1667, 0.0714, 0.0094, 0.0]
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from streamal.core.neighbourhood import Cells, DecayingCounts
from streamal.core.strategies.base import Observation, Outcome, Strategy

__all__ = ["PAL", "probabilistic_gain"]


def _lbeta(a: float, b: float) -> float:
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def _decision(k: float, n: float) -> int:
    """+1: predict the majority class; -1: the other; 0: a tie."""
    if n <= 0 or abs(2.0 * k - n) < 1e-9:
        return 0
    return 1 if 2.0 * k > n else -1


@lru_cache(maxsize=1 << 16)
def _gain(n: float, k: float, m: int) -> float:
    alpha, beta = k + 1.0, n - k + 1.0
    base = _lbeta(alpha, beta)

    def moment(a: int, b: int) -> float:  # E[p^a (1-p)^b] under Beta(alpha, beta)
        return math.exp(_lbeta(alpha + a, beta + b) - base)

    def accuracy(dec: int, a: int, b: int) -> float:  # E[p^a (1-p)^b * acc(dec, p)]
        if dec > 0:
            return moment(a + 1, b)
        if dec < 0:
            return moment(a, b + 1)
        return 0.5 * moment(a, b)

    now = accuracy(_decision(k, n), 0, 0)
    after = sum(math.comb(m, j) * accuracy(_decision(k + j, n + m), j, m - j) for j in range(m + 1))
    return (after - now) / m


def probabilistic_gain(n: float, k: float, max_labels: int = 3) -> float:
    """Expected accuracy gain per label of one more label where ``k`` of ``n`` labels agree.

    The best over 1..``max_labels`` hypothetical labels, per label (OPAL's
    ``m``), so that a region where one label cannot change the decision but
    two can still has value.

    >>> round(probabilistic_gain(0, 0), 3)       # nothing known yet
    0.167
    >>> probabilistic_gain(100, 100) < 1e-3      # settled: nothing to gain
    True
    >>> probabilistic_gain(4, 2) > probabilistic_gain(40, 20)
    True
    """
    n = round(float(n), 1)
    k = round(min(max(float(k), 0.0), n), 1)
    return max(_gain(n, k, m) for m in range(1, max_labels + 1))


class PAL(Strategy):
    """Density-weighted probabilistic gain with the quantile-filter budget.

    Parameters
    ----------
    bits
        Neighbourhood resolution: ``2**bits`` cells.
    half_life
        Events over which a neighbourhood's counts halve (the window of the stream it remembers).
    posterior
        ``"model"`` (the model's top probability) or ``"cell"`` (the share of
        the majority class among the neighbourhood's labels).
    """

    name = "pal"
    simulates_pending = True

    def __init__(self, seed: int = 42, bits: int = 8, half_life: float = 2000.0, posterior: str = "model") -> None:
        super().__init__(seed)
        self.posterior = posterior
        self._cells = Cells(bits)
        self._events = DecayingCounts(half_life)
        self._labels = DecayingCounts(half_life)
        self.bits = bits
        self.half_life = half_life
        self._classes: dict[int, set[str]] = {}
        self._t = 0
        self._last: tuple[Mapping[str, Any], int] | None = None

    def _label_stats(self, cell: int, proba: Mapping[str, float], t: float) -> tuple[float, float]:
        counts = [self._labels.get((cell, c), t) for c in self._classes.get(cell, ())]
        n = sum(counts)
        if self.posterior == "model" and proba:
            return n, n * max(proba.values())
        return n, max(counts, default=0.0)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_last"] = None  # a cache, not state
        return state

    def _cell(self, x: Mapping[str, Any]) -> int:
        # one event is asked about in utility() and remembered in observe(): find its cell once
        # (Cells.cell is pure, so the cache can only save time, never change an answer)
        if self._last is not None and self._last[0] is x:
            return self._last[1]
        cell = self._cells.cell(x)
        self._last = (x, cell)
        return cell

    def utility(self, obs: Observation) -> float:
        t = self._t + 1
        cell = self._cell(obs.x)
        density = (self._events.get(cell, t) + 1.0) / (self._events.get(None, t) + 1.0)
        n, k = self._label_stats(cell, obs.proba, t)
        if obs.on_the_way:
            # Forgetting and Simulating: the questions on their way count as labelled already, with the
            # model's own probabilities (k grows by the top probability for each)
            top = max(obs.proba.values()) if obs.proba else 0.5
            n, k = n + obs.on_the_way, k + obs.on_the_way * top
        return density * probabilistic_gain(n, k)

    def observe(self, obs: Observation, utility: float, outcome: Outcome) -> None:
        super().observe(obs, utility, outcome)
        self._t += 1
        cell = self._cell(obs.x)
        self._events.add(cell, self._t)
        self._events.add(None, self._t)
        self._cells.update(obs.x)
        self._last = None

    def learn_one(self, x: Mapping[str, Any], y: str, *, audit: bool = False) -> None:
        cell = self._cells.cell(x)
        self._labels.add((cell, y), self._t)
        self._classes.setdefault(cell, set()).add(y)
