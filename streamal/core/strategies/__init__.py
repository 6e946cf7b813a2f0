"""Query strategies, by name. Each is a small class on :class:`Strategy`.

======================================  ==============================================================
name                                    asks for
======================================  ==============================================================
``random``                              each event with probability ``budget`` (baseline)
``periodic``                            every ``1/budget``-th event (baseline)
``uncertainty``                         the least confident events (``1 - max proba``)
``margin``                              the smallest gap between the two most probable classes
``entropy``                             the highest entropy of the probabilities
``fixed-uncertainty``                   confidence under a fixed bar (Zliobaite et al., 2014)
``variable-uncertainty``                confidence under a bar that adapts to the spending
``randomized-variable-uncertainty``     the same with a randomised bar
``split``                               a random share, the rest by variable uncertainty
``committee``                           where the members of an ensemble (``arf``) disagree
``pal``                                 the highest density-weighted expected accuracy gain
``adaptive``                            ``margin`` or ``random``, whichever the audit sample rewards
======================================  ==============================================================
"""

from __future__ import annotations

from streamal.core.names import StrategyName
from streamal.core.strategies.adaptive import Adaptive
from streamal.core.strategies.base import Observation, Strategy
from streamal.core.strategies.baseline import PeriodicSampling, RandomSampling
from streamal.core.strategies.committee import Committee
from streamal.core.strategies.pal import PAL
from streamal.core.strategies.uncertainty import Entropy, Margin, Uncertainty
from streamal.core.strategies.zliobaite import (
    FixedUncertainty,
    RandomizedVariableUncertainty,
    Split,
    VariableUncertainty,
)

__all__ = [
    "PAL", "STRATEGIES", "Adaptive", "Committee", "Entropy", "FixedUncertainty", "Margin", "Observation",
    "PeriodicSampling", "RandomSampling", "RandomizedVariableUncertainty", "Split", "Strategy",
    "Uncertainty", "VariableUncertainty", "make_strategy",
]

STRATEGIES: dict[StrategyName, type[Strategy]] = {
    cls.name: cls
    for cls in (
        RandomSampling, PeriodicSampling, Uncertainty, Margin, Entropy, FixedUncertainty,
        VariableUncertainty, RandomizedVariableUncertainty, Split, Committee, PAL, Adaptive,
    )
}


def make_strategy(name: str, seed: int = 42) -> Strategy:
    """A fresh strategy by name; ``KeyError`` listing the names on a wrong one."""
    try:
        cls = STRATEGIES[name]  # type: ignore[index]  # a name from outside: checked here
    except KeyError:
        raise KeyError(f"unknown strategy {name!r}; choose one of {', '.join(sorted(STRATEGIES))}") from None
    return cls(seed=seed)
