"""Baselines: random sampling and periodic sampling, the floors every strategy must beat."""

from __future__ import annotations

from streamal.core.strategies.base import Ask, Observation, Outcome, Strategy

__all__ = ["PeriodicSampling", "RandomSampling"]


class RandomSampling(Strategy):
    """Ask each event with probability ``rate``, whatever the model says.

    The baseline every other strategy must beat at the same budget; the
    sampler's credit and pace give it exactly as many labels as the others.

    >>> s = RandomSampling(seed=1)
    >>> asked = sum(s.ask(0.0, 0.2, 0.2) != "no" for _ in range(10_000))
    >>> 1900 < asked < 2100
    True
    """

    name = "random"

    def utility(self, obs: Observation) -> float:
        return 0.0

    def ask(self, utility: float, rate: float, base_rate: float) -> Ask:
        return "yes" if self._rng.random() < rate else "no"

    def observe(self, obs: Observation, utility: float, outcome: Outcome) -> None:
        pass

    def threshold(self, rate: float) -> float:
        return 0.0


class PeriodicSampling(Strategy):
    """Ask every ``1/rate``-th event: deterministic, evenly spread.

    >>> s = PeriodicSampling()
    >>> asked = []
    >>> for _ in range(8):
    ...     a = s.ask(0.0, 0.25, 0.25)
    ...     s.observe(None, 0.0, "queried" if a == "yes" else "passed")
    ...     asked.append(a == "yes")
    >>> asked
    [False, False, False, True, False, False, False, True]
    """

    name = "periodic"

    def __init__(self, seed: int = 42) -> None:
        super().__init__(seed)
        self._quota = 0.0  # share of a query earned since the last one
        self._rate = 0.0  # the rate of the event being decided

    def utility(self, obs: Observation) -> float:
        return 0.0

    def ask(self, utility: float, rate: float, base_rate: float) -> Ask:
        self._rate = rate
        return "yes" if self._quota + rate >= 1.0 - 1e-9 else "no"

    def observe(self, obs: Observation | None, utility: float, outcome: Outcome) -> None:
        if outcome == "queried":
            self._quota = 0.0
        elif outcome != "unasked":  # a decision the sampler took alone neither spends nor earns the quota
            self._quota = min(1.0, self._quota + self._rate)

    def threshold(self, rate: float) -> float:
        return 0.0
