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
* a **drift reserve**: while it is below ``reserve_size``, ``RESERVE_SHARE``
  of what each event earns is put aside; after a drift alarm the sampler
  :meth:`release` s it into the credit and spends it on the events that follow
  (the drift boost), and the reserve fills again from the events after them.
  The budget moves from quiet stretches to the stretch after a change, at a
  fixed total: the queries of a run never exceed what its events earned, at
  any moment, so a run that ends just after an alarm has not overspent.

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

__all__ = ["PACE_SLACK", "RESERVE_SHARE", "SpendingCap"]

#: How far above ``budget * window`` a window's queries may go (a share of it).
PACE_SLACK = 0.1
#: The share of each event's earnings put aside while the drift reserve is not full.
RESERVE_SHARE = 0.25


class SpendingCap:
    """Token bucket of queries: ``budget`` earned per event, ``seed`` to start with, a bounded bank, a reserve."""

    def __init__(self, budget: float, window: int = 1000, seed: float = 0.0, bank: float | None = None,
                 reserve_size: float = 0.0) -> None:
        self.budget = budget
        self.window = window
        self.bank = bank if bank is not None else max(seed, budget * window)
        self.credit = float(seed)
        self.owed = float(seed)  # the seed's advance, still to repay
        self.reserve = 0.0  # put aside for the events after a drift alarm
        self.reserve_size = reserve_size
        self.filling = True  # whether the reserve fills now (the sampler holds it off until alarms can count)
        self.events = 0
        self.queries = 0
        self._flags: deque[bool] = deque(maxlen=window)
        self._recent = 0

    def __setstate__(self, state: dict[str, object]) -> None:
        # a cap checkpointed before the drift reserve (it had a debt instead) starts with an empty reserve
        state.pop("debt", None)
        state.setdefault("reserve", 0.0)
        state.setdefault("reserve_size", 0.0)
        state.setdefault("filling", True)
        self.__dict__.update(state)

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
        if self.filling and self.reserve < self.reserve_size:
            put = min(gain * RESERVE_SHARE, self.reserve_size - self.reserve)
            self.reserve += put
            gain -= put
        # (a released reserve may hold the credit above the bank for a while: it is not cut)
        self.credit = max(self.credit, min(self.credit + gain, self.bank))

    def release(self) -> float:
        """Move the drift reserve into the credit (a drift alarm): how many queries it adds.

        >>> cap = SpendingCap(budget=0.1, window=100, reserve_size=2.0)
        >>> for _ in range(100):
        ...     cap.observe()
        >>> round(cap.reserve, 2), round(cap.credit, 2)    # a quarter of the earnings put aside
        (2.0, 8.0)
        >>> cap.release(), round(cap.credit, 2), cap.reserve
        (2.0, 10.0, 0.0)
        """
        released, self.reserve = self.reserve, 0.0
        self.credit += released
        return released

    def refund(self) -> None:
        """Give back one query: its question was withdrawn unanswered (the label it would have cost is not spent).

        >>> cap = SpendingCap(budget=0.1, window=100, seed=1)
        >>> cap.spend(); cap.refund(); cap.queries, cap.credit
        (0, 1.0)
        """
        if self.queries > 0:
            self.queries -= 1
            self.credit += 1.0

    def allows(self, boost: float = 1.0, *, seed: bool = False) -> bool:
        """Whether one more query fits what was earned (or may be borrowed) and the recent pace.

        Seed queries are held to what was earned only, not to the pace.
        """
        if self.credit < 1.0 - 1e-9:
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
