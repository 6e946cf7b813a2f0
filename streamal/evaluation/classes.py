"""Per-class measures: what analysts care about on imbalanced streams, where accuracy hides the rare class.

A model that calls every event benign scores 94% on a stream with 6% attacks.
These measures look at the classes one by one:

* **recall** of each class (of its events, the share predicted as it), and
  **precision**; **balanced accuracy** (the mean recall) and **macro-F1** (the
  mean F1 over the classes that occur), so every class counts the same;
* the **discovery delay** of a class: how many of its events had passed
  before the first was queried (the analysts saw it), and before the model
  first predicted one right. A class never queried or never predicted has
  ``None``.

:class:`ClassTracker` follows a run event by event; :func:`per_class` turns
a confusion count into the figures.

>>> t = ClassTracker()
>>> for truth, pred, asked in [("ok", None, True), ("ok", "ok", False), ("bad", "ok", False),
...                            ("bad", "ok", True), ("bad", "bad", False)]:
...     t.record(truth, pred)
...     if asked:
...         t.queried(truth)
>>> t.discovery("bad")          # one "bad" passed before the first was asked; two before one was predicted
(1, 2)
>>> figures = per_class(t.confusion)
>>> figures.recall["bad"], round(figures.macro_f1, 3), round(figures.balanced_accuracy, 3)
(0.3333333333333333, 0.45, 0.417)
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

__all__ = ["RARE_SHARE", "ClassFigures", "ClassTracker", "median_or_never", "per_class"]

#: A class with fewer than this share of a stream's events is rare (its discovery delay is reported).
RARE_SHARE = 0.03


@dataclass(frozen=True, slots=True)
class ClassFigures:
    """Recall and precision per class, their balanced means, and how many events each class had."""

    recall: dict[str, float]
    precision: dict[str, float]
    support: dict[str, int]
    macro_f1: float
    balanced_accuracy: float


def per_class(confusion: Counter[tuple[str, str]]) -> ClassFigures:
    """Figures from ``{(truth, prediction): count}`` (a prediction of ``""``: none). Classes are the truths."""
    support: Counter[str] = Counter()
    predicted: Counter[str] = Counter()
    right: Counter[str] = Counter()
    for (truth, pred), count in confusion.items():
        support[truth] += count
        predicted[pred] += count
        if truth == pred:
            right[truth] += count
    classes = sorted(support)
    recall = {c: right[c] / support[c] for c in classes}
    precision = {c: right[c] / predicted[c] if predicted[c] else 0.0 for c in classes}
    f1 = [2 * precision[c] * recall[c] / (precision[c] + recall[c]) if precision[c] + recall[c] else 0.0
          for c in classes]
    return ClassFigures(recall, precision, dict(support), sum(f1) / len(f1) if f1 else 0.0,
                        sum(recall.values()) / len(recall) if recall else 0.0)


@dataclass
class ClassTracker:
    """Counts per class through a run: the confusion, and when each class was first asked and first right."""

    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)
    seen: Counter[str] = field(default_factory=Counter)
    first_asked: dict[str, int] = field(default_factory=dict)
    first_right: dict[str, int] = field(default_factory=dict)

    def record(self, truth: str, prediction: str | None) -> None:
        """One event: its class and the model's prediction (before any query about it)."""
        self.seen[truth] += 1
        self.confusion[(truth, "" if prediction is None else prediction)] += 1
        if prediction == truth and truth not in self.first_right:
            self.first_right[truth] = self.seen[truth] - 1

    def queried(self, truth: str) -> None:
        """The event just recorded was queried."""
        if truth not in self.first_asked:
            self.first_asked[truth] = self.seen[truth] - 1

    def discovery(self, cls: str) -> tuple[int | None, int | None]:
        """``(events of cls before the first was queried, before the first was predicted right)``."""
        return self.first_asked.get(cls), self.first_right.get(cls)

    def rare(self, share: float = RARE_SHARE) -> list[str]:
        """The classes under ``share`` of the events so far, rarest first."""
        n = sum(self.seen.values())
        return sorted((c for c, k in self.seen.items() if k < share * n), key=lambda c: (self.seen[c], c))


def median_or_never(values: list[int | None]) -> int | None:
    """The median of discovery delays over seeds, ``None`` (never) counting as later than any number.

    >>> median_or_never([3, None, 1]), median_or_never([None, None, 2])
    (3, None)
    """
    ordered = sorted(values, key=lambda v: (v is None, v or 0))
    return ordered[(len(ordered) - 1) // 2] if ordered else None
