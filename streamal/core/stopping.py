"""The stopping rule: when more labels no longer change the model, ask only for the audit.

A model that has learned what the stream can teach stops changing its mind.
Following *stabilizing predictions* (Bloodgood and Vijay-Shanker, 2009),
every ``every`` labels the model predicts a **stop set** (a sample of recent
events, no labels needed) and the predictions are compared, by Cohen's
kappa, with the ones it made on the same events at the previous check. When
``patience`` checks in a row agree at ``agreement`` or more, the learner is
**saturated**: the sampler spends only the audit share (the unbiased
accuracy goes on being measured) and banks no more than one window of credit.

Spending is restored when:

* a drift alarm is raised (the world changed);
* a check no longer agrees (the predictions move again);
* the audit accuracy since saturation falls below the audit accuracy at
  saturation by more than ``z`` standard errors (with at least
  ``min_audits`` audit labels): a fall the noise of a small sample does not explain.

The stop set is refreshed at every check with the most recent events, so
under drift it follows the stream.

>>> rule = StoppingRule(stop_set=50, every=5, patience=2)
>>> class Constant:
...     def predict(self, x): return "a"
>>> for i in range(200):
...     rule.observe({"x": i})
>>> for n in range(1, 16):
...     rule.learned(Constant(), n)
>>> rule.saturated
True
>>> rule.on_drift(); rule.saturated
False
"""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Mapping
from typing import Any, Protocol

from streamal.core.agreement import cohen_kappa

__all__ = ["StoppingRule"]


class _Predicts(Protocol):
    def predict(self, x: Mapping[str, Any]) -> str | None: ...


class StoppingRule:
    """Stabilizing predictions on a stop set of recent events, undone by drift or a fall in audit accuracy."""

    def __init__(self, stop_set: int = 1000, every: int = 25, agreement: float = 0.99, patience: int = 3,
                 z: float = 2.0, min_audits: int = 20) -> None:
        self.stop_set = stop_set
        self.every = every
        self.agreement = agreement
        self.patience = patience
        self.z = z
        self.min_audits = min_audits
        self.saturated = False
        self.last_agreement: float | None = None
        self.saturations = 0
        self._recent: deque[Mapping[str, Any]] = deque(maxlen=stop_set)
        self._set: list[Mapping[str, Any]] = []
        self._before: list[str | None] = []
        self._stable = 0
        self._audit_at: tuple[float, int] | None = None  # accuracy and count of the audit window at saturation
        self._audit_since = [0, 0]  # right, seen

    def observe(self, x: Mapping[str, Any]) -> None:
        """A scored event (model-ready features): a candidate for the next stop set."""
        self._recent.append(x)

    def learned(self, model: _Predicts, n_learned: int) -> None:
        """A label was learned; every ``every`` labels, check whether the predictions moved."""
        if n_learned % self.every:
            return
        if self._set:
            now = [model.predict(x) for x in self._set]
            pairs = Counter((str(a), str(b)) for a, b in zip(self._before, now, strict=True))
            kappa = cohen_kappa(pairs)
            # the same single class both times is full agreement, not an undefined kappa
            self.last_agreement = 1.0 if kappa is None else kappa
            self._stable = self._stable + 1 if self.last_agreement >= self.agreement else 0
            if self._stable >= self.patience and not self.saturated:
                self.saturated = True
                self.saturations += 1
                self._audit_since = [0, 0]
            elif self._stable == 0:
                self._resume()
        self._set = list(self._recent)
        self._before = [model.predict(x) for x in self._set]

    def audit(self, correct: bool, accuracy: float, count: int) -> None:
        """An audit label: ``correct`` for this one, ``accuracy`` over the last ``count`` before it."""
        if not self.saturated:
            self._audit_at = (accuracy, count)
            return
        self._audit_since[0] += 1 if correct else 0
        self._audit_since[1] += 1
        right, seen = self._audit_since
        if self._audit_at is None or seen < self.min_audits:
            return
        before, n_before = self._audit_at
        now = right / seen
        spread = math.sqrt(before * (1 - before) / max(1, n_before) + now * (1 - now) / seen) or 1e-9
        if now < before - self.z * spread:
            self._resume()

    def on_drift(self) -> None:
        """A drift alarm: labels are worth asking for again."""
        self._stable = 0
        self._resume()

    def _resume(self) -> None:
        self.saturated = False
        self._audit_since = [0, 0]
