"""The names streamal speaks in: outcomes, reasons, estimates, models and strategies, as ``Literal`` types.

Each tuple next to its type is the same set at run time (for metric labels
and checks), derived from the type so the two cannot drift apart.

>>> OUTCOMES
('learned', 'unknown', 'duplicate', 'invalid')
"""

from __future__ import annotations

from typing import Literal, get_args

__all__ = [
    "ESTIMATES", "MODEL_NAMES", "OUTCOMES", "REASONS", "REASON_PHRASES", "STRATEGY_NAMES", "Estimate", "ModelName",
    "Outcome", "Reason", "StrategyName", "model_name", "strategy_name",
]

#: What became of a label.
Outcome = Literal["learned", "unknown", "duplicate", "invalid"]
#: Why an event was queried: the cold-start seed, the strategy's choice (during a drift boost: ``drift``),
#: exploration (spending paced back up, or a nil utility), the random audit, or novelty (unlike anything labelled).
Reason = Literal["seed", "uncertainty", "drift", "explore", "random", "novelty"]
#: Which labelled events an accuracy estimate is over: the random audit only (unbiased), or all queried.
Estimate = Literal["audit", "queried"]
ModelName = Literal["linear", "hat", "arf", "auto"]
StrategyName = Literal[
    "random", "periodic", "uncertainty", "margin", "entropy", "fixed-uncertainty", "variable-uncertainty",
    "randomized-variable-uncertainty", "split", "committee", "pal", "adaptive",
]

OUTCOMES: tuple[Outcome, ...] = get_args(Outcome)
REASONS: tuple[Reason, ...] = get_args(Reason)
#: Each reason in a phrase, for the analyst who is asked (the review page shows it with the item).
REASON_PHRASES: dict[Reason, str] = {
    "seed": "Picked at random while the model is new: the first labels teach it the classes.",
    "uncertainty": "The model is unsure: its two likeliest classes are close for this event.",
    "drift": "Asked after a drift alarm: the data may have changed, and the model with it.",
    "explore": "Picked at random to explore: labels are late or the model was sure, and a random look "
               "keeps it from only ever seeing its own doubts.",
    "random": "A random audit sample: your answer measures the model's accuracy without bias.",
    "novelty": "Unlike anything labelled so far: the model has never been taught about events like this one, "
               "however sure it sounds.",
}
ESTIMATES: tuple[Estimate, ...] = get_args(Estimate)
MODEL_NAMES: tuple[ModelName, ...] = get_args(ModelName)
STRATEGY_NAMES: tuple[StrategyName, ...] = get_args(StrategyName)


def model_name(text: str) -> ModelName:
    """``text`` as a model name, or ``ValueError`` listing the names.

    >>> model_name("svm")
    Traceback (most recent call last):
    ...
    ValueError: unknown model 'svm'; choose one of arf, auto, hat, linear
    """
    for name in MODEL_NAMES:
        if text == name:
            return name
    raise ValueError(f"unknown model {text!r}; choose one of {', '.join(sorted(MODEL_NAMES))}")


def strategy_name(text: str) -> StrategyName:
    """``text`` as a strategy name, or ``ValueError`` listing the names."""
    for name in STRATEGY_NAMES:
        if text == name:
            return name
    raise ValueError(f"unknown strategy {text!r}; choose one of {', '.join(sorted(STRATEGY_NAMES))}")
