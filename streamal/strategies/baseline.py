"""Baselines: budgeted random sampling."""

from __future__ import annotations

import random

from streamal.strategies.base import Observation, Strategy

__all__ = ["RandomSampling"]


class RandomSampling(Strategy):
    """Query each event with probability ``budget``, whatever the model says.

    The baseline every other strategy must beat at the same budget.

    >>> s = RandomSampling(seed=1)
    >>> sum(s.ask(s.utility(Observation({}, {})), budget=0.2) for _ in range(10_000))
    2058
    """

    name = "random"

    def __init__(self, seed: int = 42) -> None:
        super().__init__(seed)
        self._rng = random.Random(seed)

    def utility(self, obs: Observation) -> float:
        return 0.0

    def ask(self, utility: float, budget: float) -> bool:
        return self._rng.random() < budget

    def threshold(self, budget: float) -> float:
        return 0.0
