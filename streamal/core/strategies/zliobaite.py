"""The stream strategies of Zliobaite, Bifet, Pfahringer and Holmes (2014).

"Active Learning With Drifting Streaming Data" (IEEE TNNLS 25(1)) defines
four strategies that decide on the model's confidence ``max(proba)`` and keep
their own budget count (query only while ``queries / events < budget``):

* ``fixed-uncertainty``: query when the confidence is under a fixed
  threshold. With a budget, the threshold is ``1/k + budget * (1 - 1/k)`` for
  ``k`` classes (as in scikit-activeml), so a larger budget asks more.
* ``variable-uncertainty``: the threshold moves. After a query it shrinks by
  ``step`` (ask less), after an event it let pass it grows by ``step`` (ask
  more): over time the strategy queries the least confident events that the
  budget affords, and a quiet stretch lowers the bar.
* ``randomized-variable-uncertainty``: the same, with the threshold multiplied
  by a random factor ``N(1, delta)`` each time, so that now and then a
  confident event is asked too: it sees changes far from the boundary.
* ``split``: a share ``nu`` of the events is decided at random, the rest by
  variable uncertainty.

Their utility (for the review page and the metrics) is ``1 - max(proba)``,
and :meth:`threshold` reports the bar on that scale.
"""

from __future__ import annotations

import random
from typing import ClassVar

from streamal.core.names import StrategyName
from streamal.core.strategies.base import Observation, Strategy

__all__ = ["FixedUncertainty", "RandomizedVariableUncertainty", "Split", "VariableUncertainty"]


class _BudgetedConfidence(Strategy):
    """Shared parts: ``1 - confidence`` as utility and a ``queries / events < budget`` check."""

    def __init__(self, seed: int = 42) -> None:
        super().__init__(seed)
        self._rng = random.Random(seed)
        self._queries = 0.0
        self._quota = 0.0
        self._n_classes = 2

    def utility(self, obs: Observation) -> float:
        if obs.proba:
            self._n_classes = max(2, len(obs.proba))
            return 1.0 - max(obs.proba.values())
        return 1.0

    def _affordable(self, budget: float) -> bool:
        self._quota += budget
        return self._queries < self._quota  # spent less than the budget so far

    def _spend(self) -> bool:
        self._queries += 1.0
        return True

    def refund(self) -> None:
        self._queries = max(0.0, self._queries - 1.0)


class FixedUncertainty(_BudgetedConfidence):
    """Query when the confidence is under ``1/k + budget * (1 - 1/k)``.

    >>> s = FixedUncertainty()
    >>> s.ask(utility=0.45, budget=0.1)   # confidence 0.55 < 0.55? no
    False
    >>> s.ask(utility=0.46, budget=0.1)   # confidence 0.54: under the bar
    True
    """

    name = "fixed-uncertainty"

    def _bar(self, budget: float) -> float:
        k = self._n_classes
        return 1.0 / k + budget * (1.0 - 1.0 / k)

    def ask(self, utility: float, budget: float) -> bool:
        if not self._affordable(budget):
            return False
        return 1.0 - utility < self._bar(budget) and self._spend()

    def threshold(self, budget: float) -> float:
        return 1.0 - self._bar(budget)


class VariableUncertainty(_BudgetedConfidence):
    """A confidence threshold that falls after a query and rises after a pass.

    Parameters
    ----------
    step
        Relative change of the threshold per decision (``s`` in the paper).

    A stretch with no queries raises the threshold, so the next moderately
    unsure event is asked:

    >>> s = VariableUncertainty()
    >>> s.theta = before = 0.6
    >>> [s.ask(utility=0.01, budget=0.1) for _ in range(3)]  # very confident: pass
    [False, False, False]
    >>> s.theta > before
    True
    """

    name: ClassVar[StrategyName] = "variable-uncertainty"

    def __init__(self, seed: int = 42, step: float = 0.01) -> None:
        super().__init__(seed)
        self.step = step
        self.theta = 1.0

    def _bar(self) -> float:
        return self.theta

    def ask(self, utility: float, budget: float) -> bool:
        if not self._affordable(budget):
            return False
        if 1.0 - utility < self._bar():
            self.theta *= 1.0 - self.step
            return self._spend()
        self.theta = min(1.0, self.theta * (1.0 + self.step))
        return False

    def threshold(self, budget: float) -> float:
        return 1.0 - self.theta


class RandomizedVariableUncertainty(VariableUncertainty):
    """Variable uncertainty with the threshold drawn around ``theta`` each time (``N(1, delta)``)."""

    name: ClassVar[StrategyName] = "randomized-variable-uncertainty"

    def __init__(self, seed: int = 42, step: float = 0.01, delta: float = 1.0) -> None:
        super().__init__(seed, step)
        self.delta = delta

    def _bar(self) -> float:
        return self.theta * self._rng.gauss(1.0, self.delta)


class Split(VariableUncertainty):
    """A share ``nu`` of events decided at random (within the budget), the rest by variable uncertainty."""

    name: ClassVar[StrategyName] = "split"

    def __init__(self, seed: int = 42, step: float = 0.01, nu: float = 0.2) -> None:
        super().__init__(seed, step)
        self.nu = nu

    def ask(self, utility: float, budget: float) -> bool:
        if self._rng.random() < self.nu:
            if not self._affordable(budget):
                return False
            return self._rng.random() < budget and self._spend()
        return super().ask(utility, budget)
