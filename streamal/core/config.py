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

from collections.abc import Mapping
from dataclasses import Field, asdict, dataclass, field, fields, replace
from typing import Any, Literal

from streamal.core.names import ModelName, StrategyName

__all__ = ["SHAPING", "LearnerConfig", "out_of_range", "replace", "settings_table"]

#: Fields a checkpointed learner cannot change: a new value needs a fresh model
#: (a feature declared categorical after a tree split on it as a number would break the tree).
SHAPING = ("model", "strategy", "categorical", "model_key")


def _knob(default: Any, doc: str, *, setting: str | None = None, ge: float | None = None, gt: float | None = None,
          le: float | None = None) -> Any:
    """A field of :class:`LearnerConfig` with what the settings need to know of it (one table for both).

    ``setting``: the name of the ``STREAMAL_`` setting, when it is not the field's own ("" for none).
    """
    return field(default=default, metadata={"doc": doc, "setting": setting, "ge": ge, "gt": gt, "le": le})


def out_of_range(meta: Mapping[str, Any], value: Any) -> str | None:
    """Why ``value`` is outside the bounds ``meta`` gives (``None`` if it is inside).

    >>> out_of_range({"gt": 0.0, "le": 1.0}, 2.0)
    'must be in (0, 1], got 2.0'
    """
    ge, gt, le = meta.get("ge"), meta.get("gt"), meta.get("le")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    low = "[" if ge is not None else "(" if gt is not None else None
    if (ge is not None and value < ge) or (gt is not None and value <= gt) or (le is not None and value > le):
        if low is not None and le is not None:
            return f"must be in {low}{ge if ge is not None else gt:g}, {le:g}], got {value}"
        if le is not None:
            return f"must be at most {le:g}, got {value}"
        return f"must be {'at least' if ge is not None else 'more than'} {ge if ge is not None else gt:g}, got {value}"
    return None


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
    model_key, max_models, max_keys, key_overflow
        A model per kind of event (:mod:`streamal.core.keyed`): the field naming the key, the models kept in
        memory, the keys that get one, and what becomes of a new key beyond them.
    seed
        Random seed of the model and the sampler (used by a fresh model only).
    """

    model: ModelName = _knob("auto", "Model: linear, hat, arf, or auto (linear and hat, the better one serving).")
    strategy: StrategyName = _knob("margin", "Query strategy (see `streamal evaluate --help`).")
    budget: float = _knob(0.05, "Fraction of scored events that may be sent to review.", gt=0.0, le=1.0)
    audit_share: float = _knob(0.1, "Share of the budget spent on random audit queries.", ge=0.0, le=1.0)
    seed_size: int = _knob(20, "Labels queried first, at cold start, before trusting the model.", ge=0)
    window: int = _knob(1000, "Events over which the recent spending is held to the budget.", ge=10,
                        setting="budget_window")
    boost: float = _knob(2.0, "Spending multiplier in the window after a drift alarm.", ge=1.0, setting="drift_boost")
    boost_events: int = _knob(500, "Events the boost lasts after a drift alarm.", ge=0, setting="drift_boost_events")
    diversity: float = _knob(0.0, "Discount on queries near recently queried events (0: off).", ge=0.0)
    capacity: float = _knob(0.0, "Most queries per hour the analysts can answer (0: no limit).", ge=0.0,
                            setting="capacity_per_hour")
    max_backlog: int = _knob(0, "Most unanswered review items; fewer queries as it fills (0: no limit).", ge=0)
    drift_warmup: int = _knob(200, "Labels learned before drift alarms count.", ge=0)
    max_pending: int = _knob(100_000, "Queried-but-unlabelled events kept; the oldest go first.", ge=1)
    accuracy_window: int = _knob(500, "Labels the accuracy estimates are computed over.", ge=1, setting="")
    max_classes: int = _knob(1000, "Most distinct labels learned; a label past it is invalid.", ge=2, le=100_000)
    categorical: tuple[str, ...] = _knob((), "Features that are categories even when numbers.", setting="")
    stopping: bool = _knob(False, "Ask only for the audit once more labels no longer change the model's "
                                  "predictions.")
    late_explore: float = _knob(0.0, "The earlier late-label exploration: pending/(pending+this) of decisions are "
                                     "random while labels are out (0, the default: off; explore_share is the small "
                                     "fixed share that replaced it).", ge=0.0)
    explore_share: float = _knob(0.15, "While labels are outstanding, this share of the strategy's decisions are "
                                       "random (explore).", ge=0.0, le=1.0)
    pending_discount: float = _knob(1.0, "Each question on its way in an event's region divides its utility by "
                                         "1 + this x their number (0: off).", ge=0.0)
    challenger: ModelName | Literal[""] = _knob(
        "", "A second model beside the champion, taught the same labels and judged on them, never serving or "
            "asking: linear, hat, arf or auto (empty: none). `streamal model promote` makes it the champion.",
        setting="challenger_model")
    novelty_share: float = _knob(0.2, "Most share of the queries that may go to events unlike anything labelled "
                                      "so far (novelty).", ge=0.0, le=1.0)
    model_key: str = _knob("", "A model per kind of event: the field whose value picks the model (meta.NAME for a "
                               "field of the event's meta, or a feature's name; empty: one model).")
    max_models: int = _knob(64, "With STREAMAL_MODEL_KEY: models kept in memory; the least recently used is parked "
                                "on the state volume and loaded back when its key returns.", ge=1)
    max_keys: int = _knob(10_000, "With STREAMAL_MODEL_KEY: keys that get a model of their own; a new key beyond "
                                  "it goes to the shared model (or the dead-letter topic: key_overflow).", ge=1)
    key_overflow: Literal["shared", "deadletter"] = _knob(
        "shared", "An event of a new key beyond STREAMAL_MAX_KEYS: scored by the shared model (shared) or "
                  "dead-lettered with reason key_overflow (deadletter).")
    seed: int = _knob(42, "Random seed of a fresh model and sampler.")

    def __post_init__(self) -> None:
        for f in fields(self):
            problem = out_of_range(f.metadata, getattr(self, f.name))
            if problem is not None:
                raise ValueError(f"{f.name}: {problem}")

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


def settings_table() -> list[tuple[str, Field[Any]]]:
    """``(setting name, field)`` of each field that is a ``STREAMAL_`` setting, in declaration order."""
    out = []
    for f in fields(LearnerConfig):
        setting = f.metadata.get("setting")
        if setting == "":
            continue
        out.append((setting or f.name, f))
    return out
