"""The strategy interface: what a label is worth, whether to ask for it, and what to remember.

A strategy has three small jobs, as in river's ``active`` module:

* :meth:`Strategy.utility` says how much an event's label is worth (higher:
  more), from the model's probabilities, the features and, for strategies
  that need it, the model itself. It is **pure**: asked twice, it answers
  the same and changes nothing.
* :meth:`Strategy.ask` turns a utility into ``"yes"``, ``"explore"`` or
  ``"no"`` for a target share ``rate`` of the events. ``"explore"`` means
  "yes, but not because this event is valuable": one whose utility is nil
  (a tie among events the model is sure of), or a strategy's own random share.
* :meth:`Strategy.observe` is the one place state changes: it is told every
  event's utility and what became of it (``"queried"``, ``"passed"``,
  ``"capped"`` when the budget left no room to ask, or ``"unasked"`` when the
  sampler decided the event itself, as it does while labels are late).
  Strategies that steer their own query rate (``variable-uncertainty``,
  ``split``, ``periodic``) move it only on events they were asked about.

By default :meth:`ask` is a rank filter: an event is asked when its utility
is in the top ``rate`` share of the recent utilities, ties broken at random,
so that a model that calls everything certain (every utility 0) still gets
its budget spent (on a random share) instead of none or all of it. The
sampler around the strategy (:class:`~streamal.core.sampling.Sampler`) holds
the budget itself: the credit, the pace, the seed, the audit and the drift
boost. Strategies that keep statistics of the labels (``pal``, ``adaptive``)
also get every label through :meth:`Strategy.learn_one`, whenever it arrives.

Constructor parameters are kept under their own names (as river does), so a
strategy can be described and cloned: ``Split(seed=1, nu=0.3)``.
"""

from __future__ import annotations

import bisect
import random
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from streamal.core.names import StrategyName

__all__ = ["Ask", "Observation", "Outcome", "RankFilter", "Strategy"]

#: A strategy's answer: ask (among the most valuable), ask (to explore or spend), or do not.
Ask = Literal["yes", "explore", "no"]
#: What became of an event the strategy saw (``"unasked"``: the sampler decided it without the strategy).
Outcome = Literal["queried", "passed", "capped", "unasked"]


@dataclass(slots=True)
class Observation:
    """What a strategy may look at for one event."""

    proba: Mapping[str, float]
    x: Mapping[str, Any]
    model: Any = None
    on_the_way: float = 0.0  # questions already on their way to the analysts about this event's region


class RankFilter:
    """The share of recent utilities above a value, with ties split at random.

    ``rank(u, rng)`` is where ``u`` falls among the last ``window`` utilities,
    as the share of them that are higher (ties placed uniformly at random
    among their equals): asking when it is under ``rate`` asks a ``rate``
    share of the events, whatever the utilities look like.

    >>> f = RankFilter(window=4)
    >>> for u in (0.1, 0.2, 0.3, 0.4):
    ...     f.add(u)
    >>> rng = random.Random(0)
    >>> f.rank(0.45, rng) < 0.2, f.rank(0.05, rng) > 0.8   # above them all; below them all
    (True, True)
    """

    def __init__(self, window: int = 200) -> None:
        self.window = window
        self._recent: deque[float] = deque()
        self._sorted: list[float] = []

    def __len__(self) -> int:
        return len(self._recent)

    def rank(self, utility: float, rng: random.Random) -> float:
        """The share of recent utilities above ``utility`` (in ``[0, 1]``; ties at random)."""
        n = len(self._sorted)
        above = n - bisect.bisect_right(self._sorted, utility)
        equal = n - above - bisect.bisect_left(self._sorted, utility)
        return (above + rng.random() * (equal + 1)) / (n + 1)

    def threshold(self, rate: float) -> float:
        """The utility above which about ``rate`` of recent events lie (0 with none yet)."""
        if not self._sorted:
            return 0.0
        k = min(len(self._sorted) - 1, int(len(self._sorted) * (1.0 - rate)))
        return self._sorted[k]

    def add(self, utility: float) -> None:
        """Remember one more utility (the oldest goes past ``window``)."""
        self._recent.append(utility)
        bisect.insort(self._sorted, utility)
        if len(self._recent) > self.window:
            old = self._recent.popleft()
            del self._sorted[bisect.bisect_left(self._sorted, old)]


class Strategy(ABC):
    """Base class of query strategies. Subclasses set ``name`` and write ``utility``."""

    name: ClassVar[StrategyName]
    #: Whether :meth:`utility` itself accounts for ``Observation.on_the_way`` (Forgetting and Simulating);
    #: otherwise the sampler divides the utility by ``1 + pending_discount * on_the_way``.
    simulates_pending: ClassVar[bool] = False

    def __init__(self, seed: int = 42) -> None:
        self.seed = seed
        self._rng = random.Random(seed)
        self._filter = RankFilter()

    @abstractmethod
    def utility(self, obs: Observation) -> float:
        """How much this event's label is worth; higher is better. Pure."""

    def ask(self, utility: float, rate: float, base_rate: float) -> Ask:
        """Whether to ask for an event of this ``utility``, aiming at a ``rate`` share of events.

        ``base_rate`` is the plain budget's share. A yes beyond it (paying back
        slow spending) is still the strategy's choice (the next most valuable
        events); a yes on a nil utility is ``"explore"``.
        """
        if rate <= 0.0:
            return "no"
        rank = self._filter.rank(utility, self._rng)
        if rank >= rate:
            return "no"
        return "yes" if utility > 0.0 else "explore"

    def observe(self, obs: Observation, utility: float, outcome: Outcome) -> None:
        """Remember one event (every event the sampler shows the strategy, whatever became of it)."""
        self._filter.add(utility)

    def threshold(self, rate: float) -> float:
        """The strategy's current utility threshold at ``rate`` (for the metrics)."""
        return self._filter.threshold(rate)

    def learn_one(self, x: Mapping[str, Any], y: str, *, audit: bool = False) -> None:  # noqa: B027 - a hook
        """A label came in for ``x``, after the model learned it (``pal`` keeps label statistics from it).

        ``audit`` says the label is one of the random audit's, the sample nobody chose (``adaptive``
        measures its arms on those).
        """

    def check_model(self, model: Any) -> None:  # noqa: B027 - a hook, empty by default
        """Raise ``ValueError`` if this strategy cannot work with ``model`` (e.g. ``committee`` needs an ensemble)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(seed={self.seed})"
