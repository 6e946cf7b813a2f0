"""The stream strategies of Zliobaite, Bifet, Pfahringer and Holmes (2014).

"Active Learning With Drifting Streaming Data" (IEEE TNNLS 25(1)) defines
four strategies that decide on the model's confidence ``max(proba)``, asking
only while ``queries / events < budget`` (here: while the sampler's credit
allows a query):

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

from typing import ClassVar

from streamal.core.names import StrategyName
from streamal.core.strategies.base import Ask, Observation, Outcome, Strategy

__all__ = ["FixedUncertainty", "RandomizedVariableUncertainty", "Split", "VariableUncertainty"]


class _Confidence(Strategy):
    """Shared parts: ``1 - confidence`` as utility, and the number of classes seen."""

    def __init__(self, seed: int = 42) -> None:
        super().__init__(seed)
        self._n_classes = 2

    def utility(self, obs: Observation) -> float:
        return 1.0 - max(obs.proba.values()) if obs.proba else 1.0

    def observe(self, obs: Observation, utility: float, outcome: Outcome) -> None:
        if obs.proba:
            self._n_classes = max(2, len(obs.proba))


class FixedUncertainty(_Confidence):
    """Ask when the confidence is under ``1/k + budget * (1 - 1/k)``.

    >>> s = FixedUncertainty()
    >>> s.ask(utility=0.45, rate=0.1, base_rate=0.1)   # confidence 0.55 < 0.55? no
    'no'
    >>> s.ask(utility=0.46, rate=0.1, base_rate=0.1)   # confidence 0.54: under the bar
    'yes'
    """

    name: ClassVar[StrategyName] = "fixed-uncertainty"

    def _bar(self, budget: float) -> float:
        k = self._n_classes
        return 1.0 / k + budget * (1.0 - 1.0 / k)

    def ask(self, utility: float, rate: float, base_rate: float) -> Ask:
        return "yes" if 1.0 - utility < self._bar(base_rate) else "no"

    def threshold(self, rate: float) -> float:
        return 1.0 - self._bar(rate)


class VariableUncertainty(_Confidence):
    """A confidence bar that falls after a query and rises after a pass.

    Parameters
    ----------
    step
        Relative change of the bar per decision (``s`` in the paper).

    A stretch with no queries raises the bar, so the next moderately unsure
    event is asked:

    >>> s = VariableUncertainty()
    >>> s.theta = before = 0.6
    >>> obs = Observation({"a": 0.99, "b": 0.01}, {})
    >>> for _ in range(3):   # very confident: passed
    ...     s.observe(obs, 0.01, "queried" if s.ask(0.01, 0.1, 0.1) == "yes" else "passed")
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

    def ask(self, utility: float, rate: float, base_rate: float) -> Ask:
        return "yes" if 1.0 - utility < self._bar() else "no"

    def observe(self, obs: Observation, utility: float, outcome: Outcome) -> None:
        super().observe(obs, utility, outcome)
        if outcome == "queried":
            self.theta *= 1.0 - self.step
        elif outcome == "passed":
            self.theta = min(1.0, self.theta * (1.0 + self.step))

    def threshold(self, rate: float) -> float:
        return 1.0 - self.theta


class RandomizedVariableUncertainty(VariableUncertainty):
    """Variable uncertainty with the bar drawn around ``theta`` each time (``N(1, delta)``)."""

    name: ClassVar[StrategyName] = "randomized-variable-uncertainty"

    def __init__(self, seed: int = 42, step: float = 0.01, delta: float = 1.0) -> None:
        super().__init__(seed, step)
        self.delta = delta

    def _bar(self) -> float:
        return self.theta * self._rng.gauss(1.0, self.delta)


class Split(VariableUncertainty):
    """A share ``nu`` of events decided at random (``explore``), the rest by variable uncertainty."""

    name: ClassVar[StrategyName] = "split"

    def __init__(self, seed: int = 42, step: float = 0.01, nu: float = 0.2) -> None:
        super().__init__(seed, step)
        self.nu = nu
        self._random_turn = False

    def ask(self, utility: float, rate: float, base_rate: float) -> Ask:
        self._random_turn = self._rng.random() < self.nu
        if self._random_turn:
            return "explore" if self._rng.random() < rate else "no"
        return super().ask(utility, rate, base_rate)

    def observe(self, obs: Observation, utility: float, outcome: Outcome) -> None:
        if self._random_turn:  # the random share leaves the bar alone
            _Confidence.observe(self, obs, utility, outcome)
        else:
            super().observe(obs, utility, outcome)
