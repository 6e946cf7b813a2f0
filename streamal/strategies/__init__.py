"""Query strategies, by name. Each is a small class on :class:`Strategy`."""

from __future__ import annotations

from streamal.strategies.base import Observation, Strategy
from streamal.strategies.baseline import RandomSampling
from streamal.strategies.uncertainty import Uncertainty

__all__ = ["STRATEGIES", "Observation", "RandomSampling", "Strategy", "Uncertainty", "make_strategy"]

STRATEGIES: dict[str, type[Strategy]] = {
    cls.name: cls for cls in (Uncertainty, RandomSampling)
}


def make_strategy(name: str, seed: int = 42) -> Strategy:
    """A fresh strategy by name; ``KeyError`` listing the names on a wrong one."""
    try:
        cls = STRATEGIES[name]
    except KeyError:
        raise KeyError(f"unknown strategy {name!r}; choose one of {', '.join(sorted(STRATEGIES))}") from None
    return cls(seed=seed)
