"""The learner's configuration: one frozen dataclass, the defaults in one place.

The service builds it from its settings, the evaluator from its flags, the
tests by hand; :class:`~streamal.core.learner.Learner` and
:class:`~streamal.core.sampling.Sampler` take it whole. Its fields split in
two: those that *shape* a model (the model and the strategy: a checkpoint
made with one cannot continue as another) and the *tunable* ones, which a
restart may change.

>>> a = LearnerConfig(budget=0.05)
>>> b = replace(a, budget=0.2, strategy="uncertainty")
>>> a.changes(b)
{'strategy': ('margin', 'uncertainty'), 'budget': (0.05, 0.2)}
>>> a.shaping_changes(b)
{'strategy': ('margin', 'uncertainty')}
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from streamal.core.names import ModelName, StrategyName

__all__ = ["SHAPING", "LearnerConfig", "replace"]

#: Fields a checkpointed learner cannot change: a new value needs a fresh model
#: (a feature declared categorical after a tree split on it as a number would break the tree).
SHAPING = ("model", "strategy", "categorical")


@dataclass(frozen=True, slots=True)
class LearnerConfig:
    """Everything that decides what the learner does.

    Parameters
    ----------
    model, strategy
        Names from :data:`streamal.core.models.MODELS` and :data:`streamal.core.strategies.STRATEGIES`.
    budget
        Fraction of scored events that may be queried.
    audit_share
        Share of the budget spent on a uniform random sample (the unbiased audit).
    seed_size
        Labels asked for first, at cold start.
    window
        Events over which the recent spending is held to the budget.
    boost, boost_events
        Spending multiplier after a drift alarm, and how many events it lasts.
    diversity
        Discount on queries near recently queried events (0: off).
    capacity
        Most queries per hour the analysts can answer (0: no limit).
    max_backlog
        Most unanswered review items; fewer queries as it fills (0: no limit).
    drift_warmup
        Labels learned before drift alarms count.
    max_pending
        Queried-but-unlabelled events kept; the oldest go first.
    accuracy_window
        Labels the accuracy estimates are computed over.
    max_classes
        Most distinct labels the model may learn; a label that would add one more is invalid.
    categorical
        Features that are categories even when their values are numbers (ports, protocol numbers, codes).
    late_explore
        While labels are late, give ``pending / (pending + late_explore)`` of the decisions to random
        exploration (0: never); see :class:`~streamal.core.sampling.Sampler`.
    explore_share
        While labels are outstanding, this share of the strategy's decisions are random exploration
        (``explore``): a small, separate share that keeps a lagging model from only ever seeing its own doubts.
    pending_discount
        A question already on its way (queried, label not back) in an event's region divides the event's
        utility by ``1 + pending_discount * on_the_way`` (0: off); see :class:`~streamal.core.sampling.Sampler`.
    novelty_share
        Most share of the queries that may go to novel events (unlike anything labelled so far, reason
        ``novelty``; :class:`~streamal.core.novelty.NoveltyWatch`); 0: never.
    stopping
        Stop asking beyond the audit once the model's predictions stop changing
        (:class:`~streamal.core.stopping.StoppingRule`); drift or a fall in audit accuracy resumes.
    seed
        Random seed of the model and the sampler (used by a fresh model only).
    """

    model: ModelName = "auto"
    strategy: StrategyName = "margin"
    budget: float = 0.05
    audit_share: float = 0.1
    seed_size: int = 20
    window: int = 1000
    boost: float = 2.0
    boost_events: int = 500
    diversity: float = 0.0
    capacity: float = 0.0
    max_backlog: int = 0
    drift_warmup: int = 200
    max_pending: int = 100_000
    accuracy_window: int = 500
    max_classes: int = 1000
    categorical: tuple[str, ...] = ()
    stopping: bool = False
    late_explore: float = 0.0
    explore_share: float = 0.25
    pending_discount: float = 1.0
    novelty_share: float = 0.2
    seed: int = 42

    def changes(self, other: LearnerConfig) -> dict[str, tuple[Any, Any]]:
        """The fields whose value differs in ``other``, as ``{name: (ours, theirs)}``."""
        out = {}
        for f in fields(self):
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            if mine != theirs:
                out[f.name] = (mine, theirs)
        return out

    def shaping_changes(self, other: LearnerConfig) -> dict[str, tuple[Any, Any]]:
        """The changes a checkpointed learner cannot take (see :data:`SHAPING`)."""
        return {k: v for k, v in self.changes(other).items() if k in SHAPING}

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (for the checkpoint's header)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LearnerConfig:
        """Rebuild from :meth:`to_dict`; unknown keys (from another version) are ignored."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if "categorical" in values:
            values["categorical"] = tuple(values["categorical"])
        return cls(**values)
