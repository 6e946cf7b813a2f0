"""Baselines: budgeted random sampling and periodic sampling."""

from __future__ import annotations

import random

from streamal.core.strategies.base import Observation, Strategy

__all__ = ["PeriodicSampling", "RandomSampling"]


class RandomSampling(Strategy):
    """Query a ``budget`` share of the events, drawn at random, whatever the model says.

    The baseline every other strategy must beat at the same budget. Each
    block of ``1/budget`` events has one query at a uniformly drawn place
    (stratified random sampling), so every event is equally likely to be
    asked and the spending never bunches up against the window cap, as
    independent coin flips would, which would leave the baseline with fewer
    labels than the strategies it is compared with.

    >>> s = RandomSampling(seed=1)
    >>> sum(s.ask(s.utility(Observation({}, {})), budget=0.2) for _ in range(10_000))
    2000
    """

    name = "random"

    def __init__(self, seed: int = 42) -> None:
        super().__init__(seed)
        self._rng = random.Random(seed)
        self._quota = 0.0  # how far into the current block of 1/budget events we are, in [0, 1)
        self._target = -1.0  # where in the block its query falls (-1: not drawn yet)

    def utility(self, obs: Observation) -> float:
        return 0.0

    def ask(self, utility: float, budget: float) -> bool:
        if budget >= 1.0:
            return True
        if self._target < 0.0:
            self._target = self._rng.random()
        lo, hi = self._quota, self._quota + budget
        query = lo <= self._target < hi
        if hi >= 1.0:  # this event closes the block and opens the next: place the next query
            hi -= 1.0
            self._target = self._rng.random()
            query = query or self._target < hi
        self._quota = hi
        return query

    def threshold(self, budget: float) -> float:
        return 0.0


class PeriodicSampling(Strategy):
    """Query every ``1/budget``-th event: deterministic, evenly spread.

    >>> s = PeriodicSampling()
    >>> [s.ask(0.0, budget=0.25) for _ in range(8)]
    [False, False, False, True, False, False, False, True]
    """

    name = "periodic"

    def __init__(self, seed: int = 42) -> None:
        super().__init__(seed)
        self._quota = 0.0
        self._spent = 0.0

    def utility(self, obs: Observation) -> float:
        return 0.0

    def ask(self, utility: float, budget: float) -> bool:
        self._quota += budget
        if self._quota - self._spent >= 1.0 - 1e-9:
            self._spent += 1.0
            return True
        return False

    def refund(self) -> None:
        self._spent = max(0.0, self._spent - 1.0)

    def threshold(self, budget: float) -> float:
        return 0.0
