"""The sampler: one decision per scored event, whether to query it and why.

It wraps a :class:`~streamal.core.strategies.Strategy` with what every strategy
shares. The budget is a :class:`~streamal.core.budget.SpendingCap` credit:
each event earns ``budget`` of a query, and the cold-start seed of
``seed_size`` queries is an advance on what the next events earn, so a run
asks ``budget`` of its events, never more (once the seed is repaid, after
``2 * seed_size / budget`` events); the strategy is paced to spend what it
earns. Reasons, in the order they are tried:

* ``random`` (the **audit**): an ``audit_share`` of the budget drawn uniformly
  from every event, from the very first one; the unbiased accuracy comes
  from these labels;
* ``seed``: the first ``seed_size`` events (unless the model has learned as
  many labels already), and then, until the labels of the seed are learned,
  a random ``budget`` share of the events: querying
  never waits for labels, so a burst of events that outruns the analysts
  still gets its budget spent (a restart from a checkpoint is no cold start);
* ``novelty``: an event outside what was labelled (or asked) so far, on any
  feature (:class:`~streamal.core.novelty.NoveltyWatch`), or a look-alike of a
  class an analyst has just named for the first time; at most
  ``novelty_share`` of the queries, never for the baselines;
* ``uncertainty`` (or ``drift`` during a drift boost): the strategy's own
  choice, the events it ranks highest (also when the pace spends more after
  a slow stretch). **Questions on their way** count: an event's utility is
  divided by ``1 + pending_discount * q``, where ``q`` is the number of
  queried events in its region (a :class:`~streamal.core.neighbourhood.Cells`
  cell) whose label has not come back, forgotten after ``window`` events
  (:class:`~streamal.core.neighbourhood.PendingCounts`); a strategy that
  ``simulates_pending`` (``pal``) takes ``q`` into its own utility instead, as
  labels with the model's probabilities (Forgetting and Simulating);
* ``explore``: a nil utility, a strategy's own random share, and while
  labels are outstanding a fixed ``explore_share`` of the decisions, taken
  at random: a small, separate share, so a model that lags behind the stream
  does not only ever see its own doubts (the earlier rule,
  ``pending / (pending + late_explore)``, made chance the main mode as soon
  as labels were late, and is off by default). The strategy sees those
  events as ``"unasked"``: a strategy that steers its own rate moves it only
  on the decisions it took.

Around them:

* **the drift boost**: the budget shifts towards the events after a drift
  alarm, at a fixed total spend. A reserve of ``budget * (boost - 1) *
  boost_events`` queries is put aside from what events earn (a quarter of
  their earnings while it is not full, once the drift warm-up is over and
  alarms can count: :class:`~streamal.core.budget.SpendingCap`);
  an alarm releases it, and for the next ``boost_events`` events the strategy
  spends up to ``boost`` times its budget, its queries with reason ``drift``.
  The reserve then fills again from the events after them. The queries of a
  run never exceed what its events earned (``boost=1`` turns it off);
* **diversity** (``diversity > 0``): a query the strategy wants is skipped
  with probability ``1 - exp(-diversity * q)``, where ``q`` counts (fading)
  the recent queries among near-identical events (the same fine
  :class:`~streamal.core.neighbourhood.Cells` cell), so a burst of
  look-alike uncertain events does not eat the budget;
* **analyst capacity** (``capacity`` queries per hour, ``max_backlog``
  unanswered items): when the analysts are the bottleneck, the strategy is
  given the budget they can answer (capacity over the measured event rate),
  shrunk further as the backlog fills, so it keeps only the most valuable
  events; at the cap no more queries are made, and credit beyond one window
  is not banked for later.

>>> from streamal.core.config import LearnerConfig
>>> from streamal.core.strategies import Uncertainty
>>> s = Sampler(Uncertainty(), LearnerConfig(budget=0.1, seed_size=2, audit_share=0.0, seed=0))
>>> [q.reason for q in (s.decide({}, {}, n_learned=0) for _ in range(3)) if q]
['seed', 'seed']
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
from streamal.core.neighbourhood import Cells, DecayingCounts, PendingCounts
from streamal.core.novelty import NoveltyWatch, alike
from streamal.core.strategies.base import Ask, Observation, Outcome, Strategy

__all__ = ["REASONS", "Query", "Sampler"]

#: Events over which a surplus or a debt of credit is paced back to zero.
PAYBACK_EVENTS = 200
#: Credit the pace aims to keep in hand (so a query is always affordable when a valuable event comes).
TARGET_CREDIT = 1.5
#: Strategies that are baselines: they sample blindly by design, so the sampler adds no novelty queries to them.
BASELINES = ("random", "periodic")
#: Hyperplanes of the regions in which questions on their way are counted (``2**PENDING_BITS`` regions).
PENDING_BITS = 8
#: Credit beyond which the sampler spends what a strategy leaves unspent on random ``explore`` queries
#: (at least this many queries, and at least what the pace itself corrects for).
EXPLORE_SLACK = 3.0


@dataclass(frozen=True, slots=True)
class Query:
    """A decision to ask for a label: why, and how much it is worth (higher: more).

    ``novel``: for reason ``novelty``, the features outside what was labelled so far.
    """

    reason: Reason
    score: float
    novel: tuple[str, ...] = ()
    new_class: str | None = None  # for reason ``novelty``: a look-alike of this class, just named by an analyst


class Sampler:
    """Budget, seed and cold start, audit, pace and drift boost around one strategy."""

    def __init__(self, strategy: Strategy, config: LearnerConfig | None = None) -> None:
        config = config or LearnerConfig()
        self.strategy = strategy
        self.seed = config.seed
        self._rng = random.Random(config.seed)
        self.cap = SpendingCap(config.budget, config.window, seed=config.seed_size)
        self._boost_left = 0
        self._cells: Cells | None = None
        self._regions = Cells(bits=PENDING_BITS)
        self._last_region: tuple[Mapping[str, Any], int] | None = None
        self.on_the_way = PendingCounts(horizon=config.window, max_items=config.max_pending)
        self.novelty = NoveltyWatch()
        self.novelty_queries = 0
        self._new_class: tuple[str, dict[str, Any], int] | None = None
        self._queried_cells = DecayingCounts(half_life=config.window)
        self._query_times: deque[float] = deque()
        self._last_now: float | None = None
        self._event_rate = 0.0  # events per second, smoothed
        self.reconfigure(config)

    def __setstate__(self, state: dict[str, Any]) -> None:
        # a sampler checkpointed before questions on their way were counted starts counting them now
        self.__dict__.update(state)
        if "on_the_way" not in state:
            self._regions = Cells(bits=PENDING_BITS)
            self._last_region = None
            self.on_the_way = PendingCounts()
        if "novelty" not in state:  # (the cover is rebuilt from the labels learned from now on)
            self.novelty = NoveltyWatch()
            self.novelty_queries = 0
            self.novelty_share = 0.0
        self.__dict__.setdefault("explore_share", 0.0)  # (reconfigure sets the settings' value)
        self.__dict__.setdefault("_new_class", None)
        self.__dict__.setdefault("drift_warmup", 0)  # (reconfigure sets the settings' value)

    def reconfigure(self, config: LearnerConfig) -> None:
        """Take the tunable values of ``config`` (budget, audit share, window, boost, diversity, capacity).

        What was earned and spent so far stays counted; the new budget holds from the next event.
        """
        self.budget = config.budget
        self.audit_share = config.audit_share
        self.seed_size = config.seed_size
        self.window = config.window
        self.boost = config.boost
        self.drift_warmup = config.drift_warmup
        self.boost_events = config.boost_events
        self.diversity = config.diversity
        self.capacity = config.capacity
        self.max_backlog = config.max_backlog
        self.late_explore = config.late_explore
        self.pending_discount = config.pending_discount
        self.explore_share = config.explore_share
        self.novelty_share = config.novelty_share
        self.on_the_way.horizon = config.window
        self.on_the_way.max_items = config.max_pending
        self.cap.reconfigure(config.budget, config.window, bank=max(config.seed_size, config.budget * config.window))
        self.cap.reserve_size = config.budget * max(0.0, config.boost - 1.0) * max(0, config.boost_events)
        if config.diversity > 0 and self._cells is None:
            self._cells = Cells(bits=16)
        elif config.diversity <= 0:
            self._cells = None

    # -- drift and capacity -----------------------------------------------------------------------

    def on_drift(self) -> None:
        """Start the burst of spending that follows a drift alarm (not while the last one is being repaid)."""
        if self.boost_events <= 0 or self.boost <= 1.0 or self._boost_left > 0:
            return
        self._boost_left = self.boost_events
        self.cap.release()

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

    # -- the decision -----------------------------------------------------------------------------

    def _take(self, reason: Reason, score: float, now: float, cell: int | None = None) -> Query:
        self.cap.spend(seed=reason == "seed" and self.cap.queries < self.seed_size)
        if self.capacity > 0:
            self._query_times.append(now)
        if cell is not None:
            self._queried_cells.add(cell, self.cap.events)
        return Query(reason, score)

    def _paced(self, rate: float) -> float:
        """``rate`` adjusted so the credit in hand comes back to its target over ``PAYBACK_EVENTS``.

        """
        surplus = self.cap.credit - TARGET_CREDIT
        return min(1.0, max(0.25 * rate, rate + surplus / PAYBACK_EVENTS))

    def decide(
        self,
        proba: Mapping[str, float],
        x: Mapping[str, Any],
        *,
        n_learned: int,
        model: Any = None,
        now: float = 0.0,
        backlog: int = 0,
        saturated: bool = False,
        key: str | None = None,
    ) -> Query | None:
        """Decide on one event; ``None`` means do not query it.

        ``now`` (seconds) and ``backlog`` (queried, unanswered items) matter only
        with an analyst capacity; ``saturated`` (the stopping rule holds) leaves only the audit.
        ``key`` (the event's id) lets the sampler count the question as on its way until
        :meth:`answered` is called with it.
        """
        query = self._decide(proba, x, n_learned=n_learned, model=model, now=now, backlog=backlog,
                             saturated=saturated)
        if query is not None:
            self.novelty.cover(x)  # its label will cover it: the next novel event is somewhere else
        if self.pending_discount > 0:
            if query is not None and key is not None:
                self.on_the_way.asked(key, self._region(x), self.cap.events)
            self._regions.update(x)
            self._last_region = None
        return query

    def _region(self, x: Mapping[str, Any]) -> int:
        memo = self._last_region
        if memo is not None and memo[0] is x:
            return memo[1]
        cell = self._regions.cell(x)
        self._last_region = (x, cell)
        return cell

    def answered(self, key: str) -> None:
        """The label of ``key`` came back, or its question was dropped: it no longer discounts its region."""
        self.on_the_way.answered(key)

    def on_new_class(self, label: str, x: Mapping[str, Any]) -> None:
        """An analyst answered with a class never seen, for ``x``: for a while, ask about its look-alikes.

        One example teaches a model little; the next events close to it on every feature
        (:func:`~streamal.core.novelty.alike`) are asked (reason ``novelty``, within the budget and the
        novelty share) for ``max(boost_events, 500)`` events, so it learns from several.
        """
        if self.novelty_share > 0 and self.strategy.name not in BASELINES:
            self._new_class = (label, dict(x), max(self.boost_events, 500))

    def learned(self, x: Mapping[str, Any]) -> None:
        """A label for ``x`` was learned: ``x`` is covered (no longer novel)."""
        self.novelty.cover(x)

    def remembered(self, key: str, x: Mapping[str, Any]) -> None:
        """A question asked elsewhere (another replica, before a restart) is on its way too."""
        self.novelty.cover(x)
        if self.pending_discount > 0:
            self.on_the_way.asked(key, self._regions.cell(x), self.cap.events)

    def _decide(self, proba: Mapping[str, float], x: Mapping[str, Any], *, n_learned: int, model: Any,
                now: float, backlog: int, saturated: bool) -> Query | None:
        cap = self.cap
        # the drift reserve fills only once alarms can count (after the drift warm-up): before that it
        # would only take labels from the learning curve, where they matter most
        cap.filling = n_learned >= self.drift_warmup
        self._observe_clock(now)
        budget = self._capacity_budget(self.budget, backlog)
        cap.observe(earns=budget)
        boost = 1.0
        if self._boost_left > 0:
            self._boost_left -= 1
            boost = self.boost
        if not self._capacity_allows(backlog):
            return None
        if self._rng.random() < budget * self.audit_share and cap.allows():
            return self._take("random", 0.0, now)
        if saturated:
            return None
        if cap.queries < self.seed_size and n_learned < self.seed_size and cap.allows(seed=True):
            return self._take("seed", 1.0, now)  # (a model that learned that many labels already needs no seed)
        base = budget * (1.0 - self.audit_share)
        if (self.novelty_share > 0 and proba and self.strategy.name not in BASELINES
                and self.novelty_queries < self.novelty_share * cap.queries + 1):
            novel = self.novelty.novel(x)
            like = None
            if not novel and self._new_class is not None:
                label, example, left = self._new_class
                self._new_class = (label, example, left - 1) if left > 1 else None
                if alike(x, example):
                    like = label
            if (novel or like) and cap.allows():
                self.novelty_queries += 1
                taken = self._take("novelty", 1.0, now)
                return Query(taken.reason, taken.score, tuple(novel), like)
        if n_learned < max(1, self.seed_size) or not proba:
            # cold start: no model worth asking yet, so a random share at the budget's pace
            if self._rng.random() < self._paced(base) and cap.allows():
                return self._take("seed", 1.0, now)
            return None
        return self._ask_strategy(Observation(proba, x, model), base, boost, now, backlog)

    def _ask_strategy(self, obs: Observation, base: float, boost: float, now: float, pending: int) -> Query | None:
        strategy, cap = self.strategy, self.cap
        on_the_way = 0
        if self.pending_discount > 0 and len(self.on_the_way):
            self._last_region = None
            on_the_way = self.on_the_way.count(self._region(obs.x), cap.events)
        if strategy.simulates_pending:
            obs.on_the_way = self.pending_discount * on_the_way
            utility = strategy.utility(obs)
        else:
            # questions already on their way to the analysts about this region: this one is worth less
            # (as if they were answered already; see the module's text)
            utility = strategy.utility(obs) / (1.0 + self.pending_discount * on_the_way)
        rate = base * boost if boost > 1.0 else self._paced(base)  # a boost spends the reserve
        answer: Ask
        late = pending / (pending + self.late_explore) if self.late_explore > 0 else 0.0
        unasked = pending > 0 and self._rng.random() < max(self.explore_share, late)
        if unasked:
            answer = "explore" if self._rng.random() < rate else "no"  # labels are late: explore
        else:
            answer = strategy.ask(utility, rate, base * boost)
        slack = max(EXPLORE_SLACK, base * PAYBACK_EVENTS)
        fallback = answer == "no" and self._rng.random() < (cap.credit - slack) / (PAYBACK_EVENTS / 2)
        cell = None
        if (answer != "no" or fallback) and self._cells is not None:
            cell = self._cells.cell(obs.x)
            self._cells.update(obs.x)
            if self._rng.random() >= math.exp(-self.diversity * self._queried_cells.get(cell, cap.events)):
                answer, fallback = "no", False  # a look-alike of recent queries: the label goes to something new
        outcome: Outcome = "passed"
        query = None
        if answer != "no":
            if cap.allows(boost):
                reason: Reason = "explore" if answer == "explore" else "drift" if boost > 1.0 else "uncertainty"
                query = self._take(reason, utility, now, cell)
                outcome = "queried"
            else:
                outcome = "capped"
        elif fallback and cap.allows():
            # the strategy leaves its budget unspent (a fixed bar, a slow one): spend it exploring
            query = self._take("explore", utility, now, cell)
        # the strategy's own view: a pass stays a pass, and a decision it was not asked for is not its own
        strategy.observe(obs, utility, "unasked" if unasked else outcome)
        return query

    def threshold(self) -> float:
        """The strategy's current utility threshold at the plain budget."""
        return self.strategy.threshold(self.budget * (1.0 - self.audit_share))
