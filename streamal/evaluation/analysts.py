"""Simulated analysts who look like analysts: a capacity, a long-tailed answer time, pulling from the pool.

:class:`~streamal.evaluation.runs.DelayedOracle` hands every label back a
fixed number of events late. Real analysts differ in two ways, both modelled
here, in events (durations become events at the stream's ``--rate``):

* **capacity**: the team answers at most ``capacity`` items an hour, so one
  pull every ``3600 / capacity`` seconds; what is not pulled waits in the pool
  (and may wait for ever);
* **answer time**: an item pulled is answered after a log-normal time with
  the given median and a long tail (``sigma`` 1: a tenth of the answers take
  over 3.6 times the median).

At each pull the analysts take the most useful open item, as the service's
page does (``GET /api/review/next``): the top of the pool is re-ranked by
each question's worth under the current model, and a question the model has
answered for itself is withdrawn and its query refunded
(:func:`streamal.core.pool.assess`, the rule the service runs).

>>> from streamal.core.config import LearnerConfig
>>> from streamal.core.learner import Learner
>>> team = Analysts(Learner(LearnerConfig()), every=10, median=5, seed=1)
>>> team.ask(0, "e1", "a", {"x": 1.0}, "seed", 1.0)
>>> team.ask(0, "e2", "b", {"x": 2.0}, "seed", 1.0)
>>> list(team.due(0)), team.pulled, team.open   # one pulled at once (the team was idle), not answered yet
([], 1, 1)
>>> answered = [(t, e) for t in range(1, 100) for e, _, _ in team.due(t)]
>>> [e for _, e in answered], team.pulled      # the second pulled 10 events after the first
(['e1', 'e2'], 2)
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from streamal.core.learner import Learner
from streamal.core.pool import REASON_ORDER, assess

__all__ = ["Analysts", "AnswerTimes"]

#: Questions at the top of the pool re-ranked at each pull.
RERANK_TOP = 20


@dataclass(frozen=True, slots=True)
class AnswerTimes:
    """The analysts of ``evaluate --capacity --answer-time``: answers per hour and median seconds per answer."""

    capacity: float
    median_seconds: float
    sigma: float = 1.0

    def describe(self) -> str:
        return f"{self.capacity:g}/h, median answer {self.median_seconds:g}s"


@dataclass(slots=True)
class _Open:
    event_id: str
    label: str
    x: dict[str, Any]
    reason: str
    worth: float
    asked_at: int


def _order(o: _Open) -> tuple[int, float, int]:
    """The queue's order: by reason, then worth now (highest first), then age (as the review store orders)."""
    return REASON_ORDER.get(o.reason, 3), -o.worth, o.asked_at


class Analysts:
    """The pool and the team: :meth:`ask` adds a question, :meth:`due` gives the answers back in time.

    ``every``: events between two pulls (the capacity); ``median``: events an
    answer takes, at the median; ``sigma``: the log-normal's spread.
    """

    def __init__(self, learner: Learner, *, every: float, median: float, sigma: float = 1.0, seed: int = 0) -> None:
        self.learner = learner
        self.every = max(every, 0.0)
        self.median = max(median, 0.0)
        self.sigma = sigma
        self._rng = random.Random(seed)
        self._pool: dict[str, _Open] = {}
        self._answers: list[tuple[float, int, str, str, dict[str, Any]]] = []
        self._seq = 0
        self._next_pull = 0.0
        self.withdrawn = 0
        self.pulled = 0

    @property
    def open(self) -> int:
        """Questions waiting in the pool."""
        return len(self._pool)

    def ask(self, t: int, event_id: str, label: str, x: dict[str, Any], reason: str, score: float) -> None:
        """The learner asked about an event at ``t`` (``label`` is the truth the analysts will give)."""
        self._pool[event_id] = _Open(event_id, label, x, reason, score, t)

    def due(self, t: int) -> Iterable[tuple[str, str, dict[str, Any]]]:
        """Pull what the capacity allows by ``t``, then the answers that are in by ``t``."""
        if not self._pool:
            self._next_pull = max(self._next_pull, float(t))  # an idle team pulls as soon as there is work
        while self._pool and self._next_pull <= t:
            self._pull(t)
            self._next_pull += self.every
        while self._answers and self._answers[0][0] <= t:
            _, _, event_id, label, x = heapq.heappop(self._answers)
            yield event_id, label, x

    def _pull(self, t: int) -> None:
        for o in heapq.nsmallest(RERANK_TOP, self._pool.values(), key=_order):
            o.worth, why = assess(self.learner, o.x, o.reason)
            if why is not None:
                del self._pool[o.event_id]
                self.learner.withdraw(o.event_id)
                self.withdrawn += 1
        if not self._pool:
            return
        best = min(self._pool.values(), key=_order)
        del self._pool[best.event_id]
        self.pulled += 1
        took = self.median * math.exp(self.sigma * self._rng.gauss(0.0, 1.0)) if self.median > 0 else 0.0
        self._seq += 1
        heapq.heappush(self._answers, (t + took, self._seq, best.event_id, best.label, best.x))
