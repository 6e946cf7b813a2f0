"""Budget managers: keep the share of queried events at the budget.

Two pieces, used together by the :class:`~streamal.core.sampling.Sampler`:

* :class:`QuantileFilter` turns a stream of utilities into decisions that
  spend a fraction ``b`` of events: query when the utility is in the top ``b``
  of the recent utilities, with a correction that pays back over- or
  under-spending (the balanced incremental quantile filter of Kottke,
  Krempl and Spiliopoulou, 2015). It needs no calibrated utilities, so an
  over-confident model cannot make it stop querying.
* :class:`SpendingCap` is the hard limit: at most ``b`` of the events of the
  whole run (plus a fixed reserve for the cold start and drift bursts) and at
  most ``b`` of the last ``window`` events (times a boost after a drift).
"""

from __future__ import annotations

import bisect
from collections import deque

__all__ = ["QuantileFilter", "SpendingCap"]


class QuantileFilter:
    """Balanced incremental quantile filter: query the top ``budget`` share of utilities.

    Parameters
    ----------
    window
        Number of recent utilities the quantile is taken over.
    tolerance
        Events over which an over- or under-spending is paid back; smaller
        pays back faster.

    Examples
    --------
    Over a long stream of utilities the share queried comes out at the budget:

    >>> import random
    >>> rng = random.Random(0)
    >>> f = QuantileFilter()
    >>> queried = sum(f.ask(rng.random(), budget=0.1) for _ in range(10_000))
    >>> 0.09 <= queried / 10_000 <= 0.11
    True
    """

    def __init__(self, window: int = 100, tolerance: int = 50) -> None:
        self.window = window
        self.tolerance = tolerance
        self._recent: deque[float] = deque()
        self._sorted: list[float] = []
        self._spent = 0.0
        self._quota = 0.0

    def threshold(self, budget: float) -> float:
        """The utility above which an event is queried now (before the next update)."""
        if not self._sorted:
            return 0.0
        k = min(len(self._sorted) - 1, int(len(self._sorted) * (1.0 - budget)))
        theta = self._sorted[k]
        spread = self._sorted[-1] - self._sorted[0]
        balance = self._quota - self._spent  # >0: under-spent, lower the bar
        return theta - spread * balance / self.tolerance

    def ask(self, utility: float, budget: float) -> bool:
        """Record ``utility`` and say whether to query it, spending ``budget`` on average.

        A yes counts as spent; call :meth:`refund` if the query was not made after all
        (e.g. a hard cap stopped it), so that the filter does not under-spend.
        """
        self._recent.append(utility)
        bisect.insort(self._sorted, utility)
        if len(self._recent) > self.window:
            old = self._recent.popleft()
            del self._sorted[bisect.bisect_left(self._sorted, old)]
        self._quota += budget
        query = utility >= self.threshold(budget) and len(self._recent) > 1
        if query:
            self._spent += 1.0
        # keep the balance bounded so a long pause cannot bank a flood of queries
        self._quota = min(self._quota, self._spent + self.tolerance * budget)
        return query

    def refund(self) -> None:
        """Take back the last yes: it was not spent."""
        self._spent = max(0.0, self._spent - 1.0)


class SpendingCap:
    """Hard budget: queries over the run and over the last ``window`` events.

    ``reserve`` extra queries are allowed over the whole run, so that a cold
    start or a drift burst can spend ahead; over a long run the share still
    tends to ``budget``.

    >>> cap = SpendingCap(budget=0.1, window=100, reserve=0)
    >>> taken = 0
    >>> for _ in range(1000):
    ...     cap.observe()
    ...     if cap.allows():
    ...         cap.spend(); taken += 1
    >>> taken
    100
    """

    def __init__(self, budget: float, window: int = 1000, reserve: float = 0.0) -> None:
        self.budget = budget
        self.window = window
        self.reserve = reserve
        self.events = 0
        self.queries = 0
        self._flags: deque[bool] = deque(maxlen=window)
        self._recent = 0

    def reconfigure(self, budget: float, window: int, reserve: float) -> None:
        """A new budget, window or reserve; the queries already counted stay counted.

        >>> cap = SpendingCap(budget=0.1, window=4)
        >>> for _ in range(4):
        ...     cap.observe()
        >>> cap.spend(); cap.reconfigure(0.2, window=2, reserve=0)
        >>> cap.recent, cap.queries
        (0.5, 1)
        """
        self.budget = budget
        self.reserve = reserve
        if window != self.window:
            self.window = window
            self._flags = deque(self._flags, maxlen=window)
            self._recent = sum(self._flags)

    def observe(self) -> None:
        """Count one scored event (before deciding on it)."""
        if len(self._flags) == self.window and self._flags[0]:
            self._recent -= 1
        self._flags.append(False)
        self.events += 1

    def allows(self, boost: float = 1.0) -> bool:
        """Whether one more query fits the run budget and the (boosted) window budget."""
        run_ok = self.queries + 1 <= self.budget * self.events + self.reserve
        window_ok = self._recent + 1 <= max(1.0, self.budget * boost * self.window)
        return run_ok and window_ok

    def spend(self) -> None:
        """Count a query on the event last observed."""
        self.queries += 1
        self._recent += 1
        self._flags[-1] = True

    @property
    def spent(self) -> float:
        """Share of all events queried so far."""
        return self.queries / self.events if self.events else 0.0

    @property
    def recent(self) -> float:
        """Share of the last ``window`` events queried."""
        return self._recent / len(self._flags) if self._flags else 0.0
