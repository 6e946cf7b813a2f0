"""The sampler: one decision per scored event, whether to query it and why.

It wraps a :class:`~streamal.core.strategies.Strategy` with what every strategy
shares:

* **the budget**: a hard :class:`~streamal.core.budget.SpendingCap` over the run and
  over the last ``window`` events;
* **the cold start**: until ``seed_size`` labels are in, the first events are
  queried (reason ``uncertainty``: a model that knows nothing is unsure);
* **the audit**: a random ``audit_share`` of the budget is spent on events drawn
  uniformly (reason ``random``); their labels give the unbiased accuracy;
* **the drift boost**: after a drift alarm, for ``boost_events`` events, the
  strategy may spend ``boost`` times its budget (reason ``drift``), ahead of
  the run budget, which it pays back afterwards (``boost=1`` turns it off);
* **diversity** (``diversity > 0``): a query the strategy wants is skipped
  with probability ``1 - exp(-diversity * q)``, where ``q`` counts (fading)
  the recent queries among near-identical events (the same fine
  :class:`~streamal.core.neighbourhood.Cells` cell); the strategy is refunded, so
  the label goes to a different event and a burst of look-alike uncertain
  events does not eat the budget;
* **analyst capacity** (``capacity`` queries per hour, ``max_backlog``
  unanswered items): when the analysts are the bottleneck, the strategy is
  given the budget they can answer (capacity over the measured event rate),
  shrunk further as the backlog fills, so its quantile filter keeps only the
  most valuable events; at the cap no more queries are made.

>>> from streamal.core.config import LearnerConfig
>>> from streamal.core.strategies import Uncertainty
>>> s = Sampler(Uncertainty(), LearnerConfig(budget=0.1, seed_size=2, seed=0))
>>> [s.decide({}, {}, n_learned=0) is not None for _ in range(3)]
[True, True, False]
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from streamal.core.budget import SpendingCap
from streamal.core.config import LearnerConfig
from streamal.core.names import REASONS, Reason
from streamal.core.neighbourhood import Cells, DecayingCounts
from streamal.core.strategies.base import Observation, Strategy

__all__ = ["REASONS", "Query", "Sampler"]


@dataclass(frozen=True, slots=True)
class Query:
    """A decision to ask for a label: why, and how much it is worth (higher: more)."""

    reason: Reason
    score: float


class Sampler:
    """Budget, cold start, audit and drift boost around one strategy."""

    def __init__(self, strategy: Strategy, config: LearnerConfig | None = None) -> None:
        config = config or LearnerConfig()
        self.strategy = strategy
        self.seed = config.seed
        self._rng = random.Random(config.seed)
        self.cap = SpendingCap(config.budget, config.window)
        self._boost_left = 0
        self._cells: Cells | None = None
        self._queried_cells = DecayingCounts(half_life=config.window)
        self._query_times: deque[float] = deque()
        self._last_now: float | None = None
        self._event_rate = 0.0  # events per second, smoothed
        self.reconfigure(config)

    def reconfigure(self, config: LearnerConfig) -> None:
        """Take the tunable values of ``config`` (budget, audit share, window, boost, diversity, capacity).

        What was spent so far stays counted; the new budget holds from the next event.
        """
        self.budget = config.budget
        self.audit_share = config.audit_share
        self.seed_size = config.seed_size
        self.window = config.window
        self.boost = config.boost
        self.boost_events = config.boost_events
        self.diversity = config.diversity
        self.capacity = config.capacity
        self.max_backlog = config.max_backlog
        self.cap.reconfigure(config.budget, config.window, reserve=config.seed_size + config.budget * config.window)
        if config.diversity > 0 and self._cells is None:
            self._cells = Cells(bits=16)
        elif config.diversity <= 0:
            self._cells = None

    def on_drift(self) -> None:
        """Start (or restart) the burst of spending that follows a drift alarm."""
        if self.boost_events > 0 and self.boost > 1.0:
            self._boost_left = self.boost_events

    def _observe_clock(self, now: float) -> None:
        """Track the event rate and the queries of the last hour (only an analyst capacity needs them)."""
        if self.capacity <= 0:
            return
        if self._last_now is not None and now > self._last_now:
            rate = 1.0 / (now - self._last_now)
            self._event_rate += (rate - self._event_rate) * 0.01 if self._event_rate else rate
        self._last_now = now if self._last_now is None else max(now, self._last_now)
        while self._query_times and self._query_times[0] <= now - 3600.0:
            self._query_times.popleft()

    def _capacity_budget(self, budget: float, backlog: int) -> float:
        """The budget the analysts can keep up with: capacity over event rate, less as the backlog fills."""
        if self.capacity > 0 and self._event_rate > 0:
            budget = min(budget, self.capacity / 3600.0 / self._event_rate)
        if self.max_backlog > 0:
            budget *= max(0.0, 1.0 - backlog / self.max_backlog)
        return budget

    def _capacity_allows(self, backlog: int) -> bool:
        if self.max_backlog > 0 and backlog >= self.max_backlog:
            return False
        return not (self.capacity > 0 and len(self._query_times) + 1 > self.capacity)

    def _take(self, reason: Reason, score: float, now: float, cell: int | None) -> Query:
        self.cap.spend()
        if self.capacity > 0:
            self._query_times.append(now)
        if cell is not None:
            self._queried_cells.add(cell, self.cap.events)
        return Query(reason, score)

    def decide(
        self,
        proba: Mapping[str, float],
        x: Mapping[str, Any],
        *,
        n_learned: int,
        model: Any = None,
        now: float = 0.0,
        backlog: int = 0,
    ) -> Query | None:
        """Decide on one event; ``None`` means do not query it.

        ``now`` (seconds) and ``backlog`` (queried, unanswered items) matter only
        with an analyst capacity.
        """
        self.cap.observe()
        self._observe_clock(now)
        boost = 1.0
        if self._boost_left > 0:
            self._boost_left -= 1
            boost = self.boost
        seeds = max(1, self.seed_size)  # a model that has seen nothing needs one label at least
        capacity_ok = self._capacity_allows(backlog)
        if n_learned < seeds and self.cap.queries < seeds and self.cap.allows() and capacity_ok:
            return self._take("uncertainty", 1.0, now, None)
        if not proba:  # no model yet: wait for the seed labels rather than spend ahead
            return None
        utility = self.strategy.utility(Observation(proba, x, model))
        budget = self._capacity_budget(self.budget, backlog)
        wanted = self.strategy.ask(utility, budget * (1.0 - self.audit_share) * boost)
        cell = None
        if self._cells is not None:
            cell = self._cells.cell(x)
            crowd = self._queried_cells.get(cell, self.cap.events)
            if wanted and self._rng.random() >= math.exp(-self.diversity * crowd):
                self.strategy.refund()  # a look-alike of recent queries: keep the label for something new
                wanted = False
        if not capacity_ok:
            if wanted:
                self.strategy.refund()
            return None
        if self._rng.random() < budget * self.audit_share and self.cap.allows():
            if wanted:
                self.strategy.refund()
            return self._take("random", utility, now, cell)
        if wanted and self.cap.allows(boost):
            return self._take("drift" if boost > 1.0 else "uncertainty", utility, now, cell)
        if wanted:
            self.strategy.refund()
        return None

    def threshold(self) -> float:
        """The strategy's current utility threshold."""
        return self.strategy.threshold(self.budget * (1.0 - self.audit_share))
