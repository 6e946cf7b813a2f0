"""The sampler: one decision per scored event, whether to query it and why.

It wraps a :class:`~streamal.strategies.Strategy` with what every strategy
shares:

* **the budget**: a hard :class:`~streamal.budget.SpendingCap` over the run and
  over the last ``window`` events;
* **the cold start**: until ``seed_size`` labels are in, the first events are
  queried (reason ``uncertainty``: a model that knows nothing is unsure);
* **the audit**: a random ``audit_share`` of the budget is spent on events drawn
  uniformly (reason ``random``); their labels give the unbiased accuracy;
* **the drift boost**: after a drift alarm, for ``boost_events`` events, the
  strategy may spend ``boost`` times its budget (reason ``drift``), ahead of
  the run budget, which it pays back afterwards.

>>> from streamal.strategies import Uncertainty
>>> s = Sampler(Uncertainty(), budget=0.1, seed_size=2, seed=0)
>>> [s.decide({}, {}, n_learned=0) is not None for _ in range(3)]
[True, True, False]
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from streamal.budget import SpendingCap
from streamal.strategies.base import Observation, Strategy

__all__ = ["REASONS", "Query", "Sampler"]

REASONS = ("uncertainty", "drift", "random")


@dataclass(frozen=True, slots=True)
class Query:
    """A decision to ask for a label: why, and how much it is worth (higher: more)."""

    reason: str
    score: float


class Sampler:
    """Budget, cold start, audit and drift boost around one strategy."""

    def __init__(
        self,
        strategy: Strategy,
        budget: float,
        *,
        audit_share: float = 0.1,
        seed_size: int = 20,
        window: int = 1000,
        boost: float = 3.0,
        boost_events: int = 500,
        seed: int = 42,
    ) -> None:
        self.strategy = strategy
        self.budget = budget
        self.audit_share = audit_share
        self.seed_size = seed_size
        self.window = window
        self.boost = boost
        self.boost_events = boost_events
        self.seed = seed
        self.cap = SpendingCap(budget, window, reserve=seed_size + budget * window)
        self._rng = random.Random(seed)
        self._boost_left = 0

    @property
    def boosting(self) -> bool:
        """Whether the sampler is in the spending burst after a drift alarm."""
        return self._boost_left > 0

    def on_drift(self) -> None:
        """Start (or restart) the burst of spending that follows a drift alarm."""
        if self.boost_events > 0 and self.boost > 1.0:
            self._boost_left = self.boost_events

    def decide(
        self,
        proba: Mapping[str, float],
        x: Mapping[str, Any],
        *,
        n_learned: int,
        model: Any = None,
    ) -> Query | None:
        """Decide on one event; ``None`` means do not query it."""
        self.cap.observe()
        boost = 1.0
        if self._boost_left > 0:
            self._boost_left -= 1
            boost = self.boost
        seeds = max(1, self.seed_size)  # a model that has seen nothing needs one label at least
        if n_learned < seeds and self.cap.queries < seeds and self.cap.allows():
            self.cap.spend()
            return Query("uncertainty", 1.0)
        if not proba:  # no model yet: wait for the seed labels rather than spend ahead
            return None
        utility = self.strategy.utility(Observation(proba, x, model))
        wanted = self.strategy.ask(utility, self.budget * (1.0 - self.audit_share) * boost)
        if self._rng.random() < self.budget * self.audit_share and self.cap.allows():
            self.cap.spend()
            if wanted:
                self.strategy.refund()
            return Query("random", utility)
        if wanted and self.cap.allows(boost):
            self.cap.spend()
            return Query("drift" if boost > 1.0 else "uncertainty", utility)
        if wanted:
            self.strategy.refund()
        return None

    def threshold(self) -> float:
        """The strategy's current utility threshold."""
        return self.strategy.threshold(self.budget * (1.0 - self.audit_share))
