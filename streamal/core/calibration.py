"""Calibration: are the model's probabilities worth doubting?

Uncertainty sampling trusts the model to know when it does not know. Two
measures say whether it does, over a window of labelled predictions:

* the **Brier score**: the mean squared distance between the predicted
  probabilities and the one-hot truth (0 is perfect; 2 is certain and wrong);
* the **expected calibration error** (ECE): over ten bins of top-class
  confidence, how far the confidence is from the accuracy, weighted by how
  many predictions fall in each bin (0 is perfect).

The learner measures them on the audit sample (the only unbiased one), the
evaluation on every event. What makes the probabilities more honest with few
labels is in :meth:`streamal.core.learner.Learner.predict_proba` (shrinkage
towards the class prior) and :mod:`streamal.core.models` (the ``auto`` mixture).

>>> meter = CalibrationMeter(window=100)
>>> for _ in range(50):
...     meter.update({"a": 1.0, "b": 0.0}, "a")
...     meter.update({"a": 1.0, "b": 0.0}, "b")
>>> meter.brier(), meter.ece()
(1.0, 0.5)
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping

__all__ = ["BINS", "LOG_FLOOR", "CalibrationMeter", "brier", "log_likelihood"]

BINS = 10
#: The least probability :func:`log_likelihood` counts: one confidently wrong label costs at most ``-log(1e-4)``
LOG_FLOOR = 1e-4


def log_likelihood(proba: Mapping[str, float], truth: str) -> float:
    """The log of the probability given to ``truth``, the probabilities normalised first, at least ``log(LOG_FLOOR)``.

    >>> round(log_likelihood({"a": 2.0, "b": 2.0}, "a"), 4), round(log_likelihood({"a": 1.0}, "b"), 4)
    (-0.6931, -9.2103)
    """
    total = sum(proba.values())
    p = proba.get(truth, 0.0) / total if total > 0 else 0.0
    return math.log(min(1.0, max(p, LOG_FLOOR)))


def brier(proba: Mapping[str, float], truth: str) -> float:
    """The multi-class Brier score of one prediction.

    >>> round(brier({"a": 0.8, "b": 0.2}, "a"), 6), brier({"a": 1.0, "b": 0.0}, "b")
    (0.08, 2.0)
    """
    score = sum(p * p for c, p in proba.items() if c != truth)
    return score + (1.0 - proba.get(truth, 0.0)) ** 2


def _bin(confidence: float) -> int:
    return min(BINS - 1, max(0, int(confidence * BINS)))


class CalibrationMeter:
    """Brier score and ECE over the last ``window`` labelled predictions."""

    def __init__(self, window: int = 500) -> None:
        self.window = window
        self._seen: deque[tuple[float, float, bool]] = deque(maxlen=window)  # (brier, confidence, right)

    def __len__(self) -> int:
        return len(self._seen)

    def update(self, proba: Mapping[str, float], truth: str) -> None:
        """One prediction (probabilities made before the label was known) and its truth."""
        if not proba:
            return
        top = max(proba, key=proba.__getitem__)
        self._seen.append((brier(proba, truth), proba[top], top == truth))

    def brier(self) -> float:
        """Mean Brier score (NaN with nothing seen)."""
        return sum(b for b, _, _ in self._seen) / len(self._seen) if self._seen else float("nan")

    def ece(self) -> float:
        """Expected calibration error over ten confidence bins (NaN with nothing seen)."""
        if not self._seen:
            return float("nan")
        conf = [0.0] * BINS
        right = [0.0] * BINS
        count = [0] * BINS
        for _, c, ok in self._seen:
            b = _bin(c)
            conf[b] += c
            right[b] += ok
            count[b] += 1
        return sum(abs(right[b] - conf[b]) for b in range(BINS) if count[b]) / len(self._seen)
