"""Per-class figures on the random audit sample: recall and precision, unbiased, with bounded class names."""

from __future__ import annotations

import math
from collections.abc import Iterable

__all__ = ["by_class"]


def by_class(pairs: Iterable[tuple[str, str]], top: int = 10) -> dict[str, tuple[float, float, int]]:
    """Per class, ``(recall, precision, audit labels)`` of ``(truth, prediction)`` pairs of the audit sample.

    The ``top`` classes with the most audit labels by name, the rest pooled as ``"other"`` (so a
    metric labelled by class stays bounded, whatever the number of classes).

    >>> by_class([("ok", "ok"), ("ok", "ok"), ("bad", "ok"), ("bad", "bad")])
    {'bad': (0.5, 1.0, 2), 'ok': (1.0, 0.6666666666666666, 2)}
    """
    pairs = list(pairs)
    support: dict[str, int] = {}
    for truth, _ in pairs:
        support[truth] = support.get(truth, 0) + 1
    kept = set(sorted(support, key=lambda c: (-support[c], c))[:top])

    def name(c: str) -> str:
        return c if c in kept else "other"

    hits: dict[str, int] = {}
    told: dict[str, int] = {}
    seen: dict[str, int] = {}
    for truth, pred in pairs:
        t, p = name(truth), name(pred)
        seen[t] = seen.get(t, 0) + 1
        told[p] = told.get(p, 0) + 1
        if truth == pred:
            hits[t] = hits.get(t, 0) + 1
    return {c: (hits.get(c, 0) / seen[c], hits.get(c, 0) / told[c] if told.get(c) else math.nan, seen[c])
            for c in sorted(seen)}
