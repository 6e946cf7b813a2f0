"""The strategy interface: what a label is worth, and whether to ask for it.

A strategy has two small jobs, as in river's ``active`` module:

* :meth:`Strategy.utility` says how much an event's label is worth (higher:
  more), from the model's probabilities, the features and, for strategies
  that need it, the model itself (e.g. the members of an ensemble);
* :meth:`Strategy.ask` turns that utility into a yes/no that spends about
  ``budget`` of the events. By default a balanced incremental quantile filter
  does this, so a new strategy often only writes ``utility``.

Strategies that keep statistics of the labels (``pal``) also get every label
through :meth:`Strategy.learn_one`, whenever it arrives: a label that comes
hours late updates them then, never in the past.

The :class:`~streamal.core.sampling.Sampler` around it handles what every strategy
shares: the hard budget cap, the cold start, the random audit share and the
drift boost.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from streamal.core.budget import QuantileFilter
from streamal.core.names import StrategyName

__all__ = ["Observation", "Strategy"]


@dataclass(slots=True)
class Observation:
    """What a strategy may look at for one event."""

    proba: Mapping[str, float]
    x: Mapping[str, Any]
    model: Any = None


class Strategy(ABC):
    """Base class of query strategies. Subclasses set ``name`` and write ``utility``."""

    name: ClassVar[StrategyName]

    def __init__(self, seed: int = 42) -> None:
        self.seed = seed
        self._filter = QuantileFilter()

    @abstractmethod
    def utility(self, obs: Observation) -> float:
        """How much this event's label is worth; higher is better."""

    def ask(self, utility: float, budget: float) -> bool:
        """Whether to query an event of this ``utility``, spending ``budget`` on average."""
        return self._filter.ask(utility, budget)

    def refund(self) -> None:
        """The last yes of :meth:`ask` was not spent (the budget cap or the audit took over)."""
        self._filter.refund()

    def threshold(self, budget: float) -> float:
        """The strategy's current utility threshold (for the metrics)."""
        return self._filter.threshold(budget)

    def learn_one(self, x: Mapping[str, Any], y: str) -> None:  # noqa: B027 - a hook, empty by default
        """A label came in for ``x`` (strategies that keep label statistics, e.g. ``pal``, use it)."""

    def check_model(self, model: Any) -> None:  # noqa: B027 - a hook, empty by default
        """Raise ``ValueError`` if this strategy cannot work with ``model`` (e.g. ``committee`` needs an ensemble)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(seed={self.seed})"
