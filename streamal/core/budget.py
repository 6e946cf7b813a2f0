"""The budget: how many queries the events seen so far have earned, and the recent pace.

:class:`SpendingCap` is a token bucket. Each scored event earns ``budget`` of
a query and a query spends one, so a strategy that spends what it earns asks
``budget`` of the events, never more. Three refinements:

* the cold-start ``seed`` is an **advance**, not extra: it is spent first
  and repaid from what the following events earn, at half their rate (so
  querying goes on meanwhile). Once repaid, the queries of a run are at most
  ``budget * events``: the budget stays the share of events queried;
* under-spending is banked only up to ``bank`` queries (by default one
  window's worth): a long quiet stretch (the analysts at capacity, say) does
  not store up a flood of queries for later;
* after a drift alarm the sampler may **borrow** up to ``debt`` queries ahead
  of what was earned (the drift boost); the credit is then negative and the
  pace pays it back.

The recent pace is held too: at most ``budget * window`` (times the boost)
non-seed queries among the last ``window`` events, give or take ``PACE_SLACK``
(10%): a pace held exactly at the average would cut off the ordinary ups and
downs of spending and leave the budget unspent.

>>> cap = SpendingCap(budget=0.1, window=100, seed=0)
>>> taken = 0
>>> for _ in range(1000):
...     cap.observe()
...     if cap.allows():
...         cap.spend(); taken += 1
>>> taken
100
"""

from __future__ import annotations

from collections import deque

__all__ = ["PACE_SLACK", "SpendingCap"]

#: How far above ``budget * window`` a window's queries may go (a share of it).
PACE_SLACK = 0.1


class SpendingCap:
    """Token bucket of queries: ``budget`` earned per event, ``seed`` to start with, a bounded bank and debt."""

    def __init__(self, budget: float, window: int = 1000, seed: float = 0.0, bank: float | None = None) -> None:
        self.budget = budget
        self.window = window
        self.bank = bank if bank is not None else max(seed, budget * window)
        self.credit = float(seed)
        self.owed = float(seed)  # the seed's advance, still to repay
        self.debt = 0.0  # how far below zero the credit may go now (a drift boost)
        self.events = 0
        self.queries = 0
        self._flags: deque[bool] = deque(maxlen=window)
        self._recent = 0

    def reconfigure(self, budget: float, window: int, bank: float | None = None) -> None:
        """A new budget or window; what was earned and spent so far stays counted.

        >>> cap = SpendingCap(budget=0.1, window=4)
        >>> for _ in range(4):
        ...     cap.observe()
        >>> cap.spend(); cap.reconfigure(0.2, window=2)
        >>> cap.recent, cap.queries
        (0.5, 1)
        """
        self.budget = budget
        self.bank = bank if bank is not None else max(self.bank, budget * window)
        if window != self.window:
            self.window = window
            self._flags = deque(self._flags, maxlen=window)
            self._recent = sum(self._flags)

    def observe(self, earns: float | None = None) -> None:
        """Count one scored event (before deciding on it): it earns ``budget`` of a query, or ``earns``.

        ``earns`` is less than the budget when the analysts are the bottleneck.
        """
        if len(self._flags) == self.window and self._flags[0]:
            self._recent -= 1
        self._flags.append(False)
        self.events += 1
        gain = self.budget if earns is None else earns
        if self.owed > 0:
            repay = min(gain / 2.0, self.owed)
            self.owed -= repay
            gain -= repay
        self.credit = min(self.credit + gain, self.bank)

    def allows(self, boost: float = 1.0, *, seed: bool = False) -> bool:
        """Whether one more query fits what was earned (or may be borrowed) and the recent pace.

        Seed queries are held to what was earned only, not to the pace.
        """
        if self.credit + self.debt < 1.0 - 1e-9:
            return False
        return seed or self._recent + 1 <= max(1.0, self.budget * boost * self.window * (1.0 + PACE_SLACK))

    def spend(self, *, seed: bool = False) -> None:
        """Count a query on the event last observed (seed queries do not count towards the pace)."""
        self.queries += 1
        self.credit -= 1.0
        if not seed and self._flags:
            self._recent += 1
            self._flags[-1] = True

    @property
    def spent(self) -> float:
        """Share of all events queried so far."""
        return self.queries / self.events if self.events else 0.0

    @property
    def recent(self) -> float:
        """Share of the last ``window`` events queried (seed queries left out)."""
        return self._recent / len(self._flags) if self._flags else 0.0
