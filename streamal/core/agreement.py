"""Agreement between labellings beyond chance: Cohen's kappa (two raters) and Fleiss' kappa (several).

One definition serves the evaluation (the model against the truth) and the
review workflow (analysts against each other). Both return ``None`` where
kappa is undefined (no items, or chance agreement is already total); the
caller says what that means in its setting.

>>> from collections import Counter
>>> cohen_kappa(Counter({("a", "a"): 40, ("b", "b"): 40, ("a", "b"): 10, ("b", "a"): 10}))
0.6
>>> cohen_kappa(Counter({("a", "a"): 5})) is None   # one class only: chance agrees always
True
>>> fleiss_kappa([["a", "a", "a"], ["b", "b", "b"]])
1.0
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

__all__ = ["cohen_kappa", "fleiss_kappa"]


def cohen_kappa(confusion: Mapping[tuple[str, str], int]) -> float | None:
    """Cohen's kappa of ``(first, second)`` label counts; ``None`` where undefined."""
    n = sum(confusion.values())
    if n == 0:
        return None
    p0 = sum(v for (a, b), v in confusion.items() if a == b) / n
    first: Counter[str] = Counter()
    second: Counter[str] = Counter()
    for (a, b), v in confusion.items():
        first[a] += v
        second[b] += v
    pe = sum(first[c] * second[c] for c in first) / (n * n)
    if pe >= 1.0:
        return None
    return round((p0 - pe) / (1.0 - pe), 12)


def fleiss_kappa(items: Sequence[Sequence[str]]) -> float | None:
    """Fleiss' kappa over items with two or more labels each (the first ``k`` of each, ``k`` the fewest)."""
    if not items:
        return None
    k = min(len(x) for x in items)
    if k < 2:
        return None
    n = len(items)
    totals: Counter[str] = Counter()
    p_items = []
    for labels in items:
        counts = Counter(labels[:k])
        totals.update(counts)
        p_items.append((sum(c * c for c in counts.values()) - k) / (k * (k - 1)))
    p_bar = sum(p_items) / n
    pe = sum((t / (n * k)) ** 2 for t in totals.values())
    if pe >= 1.0:
        return 1.0 if p_bar >= 1.0 else None
    return round((p_bar - pe) / (1.0 - pe), 6)
