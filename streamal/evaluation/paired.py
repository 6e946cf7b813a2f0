"""Honest comparisons over seeds: a paired test, the headroom closed and the data efficiency.

Two strategies run on the same stream with the same seeds are *paired*: seed
``i`` of one and seed ``i`` of the other share the model's and the stream's
randomness. :func:`compare` asks whether the per-seed differences lean one
way more than chance would make them (Wilcoxon's signed-rank test, two-sided,
from scipy), rather than whether two means are further apart than their
spreads (which with three seeds says little either way).

Two headline numbers set a strategy against random sampling and against
labelling everything:

* :func:`headroom_closed`: ``(strategy - random) / (passive - random)``, the
  share of what labelling everything gains over random sampling that the
  strategy gets with the same labels as random (1: all of it, 0: none);
* :func:`data_efficiency`: the labels random sampling needs to reach the
  strategy's accuracy, divided by the strategy's labels, read off random's
  learning curve (random at several budgets); 2 means random needs twice the
  labels.

>>> compare([0.91, 0.92, 0.90, 0.93, 0.92, 0.91], [0.89, 0.90, 0.89, 0.90, 0.91, 0.90])
Paired(mean_difference=0.016667, p=0.031, verdict='better')
>>> headroom_closed(0.85, random=0.80, passive=0.90)
0.5
>>> data_efficiency(0.86, 100, [(100, 0.80), (200, 0.84), (400, 0.88)])   # half-way from 200 to 400 labels
2.828
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from scipy.stats import wilcoxon  # type: ignore[import-untyped]

__all__ = ["ALPHA", "Paired", "compare", "data_efficiency", "headroom_closed"]

#: The significance level of "better" and "worse".
ALPHA = 0.05

Verdict = Literal["better", "worse", "no difference"]


@dataclass(frozen=True, slots=True)
class Paired:
    """The outcome of a paired comparison: mean difference (a - b), two-sided p-value, and the verdict."""

    mean_difference: float
    p: float
    verdict: Verdict


def compare(a: Sequence[float], b: Sequence[float], alpha: float = ALPHA) -> Paired:
    """Whether ``a`` is better or worse than ``b``, seed by seed (Wilcoxon signed-rank, two-sided).

    With fewer than 6 pairs no difference can reach ``p < 0.05``: the verdict is then always "no difference".
    """
    if len(a) != len(b) or not a:
        raise ValueError(f"a paired comparison needs as many runs on each side, got {len(a)} and {len(b)}")
    diffs = [x - y for x, y in zip(a, b, strict=True)]
    mean = statistics.fmean(diffs)
    if all(abs(d) < 1e-12 for d in diffs):
        return Paired(round(mean, 6), 1.0, "no difference")
    p = float(wilcoxon(diffs, zero_method="wilcox", alternative="two-sided").pvalue)
    verdict: Verdict = "no difference" if p >= alpha else "better" if mean > 0 else "worse"
    return Paired(round(mean, 6), round(p, 3), verdict)


def headroom_closed(accuracy: float, *, random: float, passive: float) -> float | None:
    """``(accuracy - random) / (passive - random)``; ``None`` when passive is no better than random."""
    gap = passive - random
    if gap <= 1e-9:
        return None
    return round((accuracy - random) / gap, 4)


def data_efficiency(accuracy: float, labels: float, curve: Sequence[tuple[float, float]]) -> float | None:
    """Labels random needs for ``accuracy`` over ``labels``, from its ``curve`` of ``(labels, accuracy)``.

    Interpolated linearly in the logarithm of the labels between the two
    points around ``accuracy`` (the curve sorted by labels, made
    non-decreasing). Beyond the curve it is a bound, returned as the value at
    the end: below the first point, at most ``first labels / labels``; above
    the last, at least ``last labels / labels``. ``None`` without a curve.
    """
    points = sorted((lab, acc) for lab, acc in curve if lab > 0)
    if not points or labels <= 0:
        return None
    best = -math.inf
    mono = []
    for lab, acc in points:  # a learning curve that dips by noise is read as flat there
        best = max(best, acc)
        mono.append((lab, best))
    if accuracy <= mono[0][1]:
        return round(mono[0][0] / labels, 3)
    for (l0, a0), (l1, a1) in itertools.pairwise(mono):
        if a0 < accuracy <= a1:
            f = (accuracy - a0) / (a1 - a0)
            return round(math.exp(math.log(l0) + f * (math.log(l1) - math.log(l0))) / labels, 3)
    return round(mono[-1][0] / labels, 3)
