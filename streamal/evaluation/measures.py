"""Measures of one run: kappa-temporal, recovery after a drift, labels used to reach an accuracy.

Each works on a run's per-event record of right (1) and wrong (0) predictions;
recovery and the labels curve use prefix sums, so each costs one pass.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["RECOVERY_TOLERANCE", "RECOVERY_WINDOW", "kappa_temporal", "labels_to_reach", "prefix_sums",
           "recovery_time"]

RECOVERY_WINDOW = 300
RECOVERY_TOLERANCE = 0.02


def prefix_sums(correct: Sequence[int] | bytes) -> list[int]:
    """``out[i]`` is the number right among the first ``i`` events.

    >>> prefix_sums([1, 0, 1])
    [0, 1, 1, 2]
    """
    out = [0]
    for c in correct:
        out.append(out[-1] + c)
    return out


def kappa_temporal(accuracy: float, no_change_accuracy: float) -> float:
    """Kappa against the no-change classifier: ``(p - p_nc) / (1 - p_nc)``.

    0 for a model no better than repeating the last label, positive when
    better, negative when worse. Where the no-change classifier is always
    right the ratio is undefined; it is then ``p - 1`` (0 for a model that is
    always right too, negative otherwise).

    >>> kappa_temporal(0.9, 0.8), kappa_temporal(0.8, 0.8), kappa_temporal(1.0, 1.0)
    (0.5, 0.0, 0.0)
    """
    if no_change_accuracy >= 1.0:
        return accuracy - 1.0
    return round((accuracy - no_change_accuracy) / (1.0 - no_change_accuracy), 12)


def _window_accuracy(prefix: Sequence[int], start: int, end: int) -> float:
    return (prefix[end] - prefix[start]) / (end - start) if end > start else float("nan")


def recovery_time(
    correct: Sequence[int] | bytes, drift: int, *, window: int = RECOVERY_WINDOW,
    tolerance: float = RECOVERY_TOLERANCE, until: int | None = None, prefix: Sequence[int] | None = None,
) -> int | None:
    """Events after ``drift`` until accuracy over the last ``window`` events is back within ``tolerance``.

    The bar is the accuracy over the ``window`` events before the drift. Only
    windows wholly after the drift count, so the least possible answer is
    ``window``; ``None`` if it never gets back before ``until``.

    >>> stream = [1] * 1000 + [0] * 200 + [1] * 1000
    >>> recovery_time(stream, 1000, window=100)   # back once at most 2 of the last 100 are wrong
    298
    """
    prefix = prefix_sums(correct) if prefix is None else prefix
    until = len(correct) if until is None else min(until, len(correct))
    start = max(0, drift - window)
    if drift - start < 1:
        return None
    bar = _window_accuracy(prefix, start, drift) - tolerance
    for end in range(drift + window, until + 1):
        if _window_accuracy(prefix, end - window, end) >= bar:
            return end - drift
    return None


def labels_to_reach(correct: Sequence[int] | bytes, queried: Sequence[int], target: float,
                    window: int = 1000) -> int | None:
    """Labels used when accuracy over the last ``window`` events first reaches ``target`` (``None``: never).

    >>> labels_to_reach([0, 0, 1, 1, 1, 1], queried=[0, 1, 2], target=1.0, window=2)
    3
    """
    window = min(window, max(1, len(correct) // 4))
    hits = 0
    q = 0
    for t, c in enumerate(correct):
        hits += c
        if t >= window:
            hits -= correct[t - window]
        while q < len(queried) and queried[q] <= t:
            q += 1
        if t + 1 >= window and hits / window >= target:
            return q
    return None
