"""A challenger: another model beside the champion, taught exactly the same labels, judged on each before it learns it.

Set with ``STREAMAL_CHALLENGER_MODEL``. It never serves and never decides
what is asked: it sees the labels the champion learns, in the same order,
with the same features, so the comparison is paired and fair. Each label
first judges both models as they stand (the champion's prediction and the
challenger's, just before either learns it), then the challenger learns it.
Its accuracy (on all labels and on the random audit alone) and calibration
(on the audit) are reported beside the champion's, and ``lead`` is the
paired difference on the same labels. :func:`promote` swaps the two.

>>> from streamal.core.config import LearnerConfig
>>> from streamal.core.learner import Learner
>>> learner = Learner(LearnerConfig(model="linear", challenger="hat", seed_size=0))
>>> _ = learner.warm([({"x": float(i % 5)}, "hi" if i % 5 > 2 else "lo") for i in range(200)])
>>> learner.challenger.labels
200
>>> promote(learner)
>>> learner.config.model, learner.config.challenger
('hat', 'linear')
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from streamal.core.calibration import CalibrationMeter
from streamal.core.models import make_model
from streamal.core.names import ESTIMATES, Estimate, ModelName

if TYPE_CHECKING:
    from streamal.core.learner import Learner

__all__ = ["Challenger", "promote"]


class Challenger:
    """A second model learning the champion's labels; its recent accuracy, calibration and paired lead."""

    def __init__(self, name: ModelName, seed: int = 42, window: int = 500) -> None:
        self.name = name
        self.model = make_model(name, seed)
        self.classes: list[str] = []
        self.labels = 0
        self.accuracy: dict[Estimate, deque[bool]] = {e: deque(maxlen=window) for e in ESTIMATES}
        self.calibration = CalibrationMeter(window)
        self._lead: deque[int] = deque(maxlen=window)  # challenger right minus champion right, label by label

    def proba(self, x: dict[str, Any]) -> dict[str, float]:
        """Its probabilities over the classes it has learned (uniform when it gives none)."""
        if not self.classes:
            return {}
        raw = self.model.predict_proba_one(x)
        total = sum(raw.values())
        if not 0.0 < total < math.inf:
            return {c: 1.0 / len(self.classes) for c in self.classes}
        return {c: float(raw.get(c, 0.0)) / total for c in self.classes}

    def learn(self, x: dict[str, Any], label: str, *, audit: bool, champion: str | None) -> None:
        """Judge both on ``label`` (``champion``: the champion's prediction just before it learns), then learn it."""
        proba = self.proba(x)
        if proba:
            guess = max(proba, key=proba.__getitem__)
            right = guess == label
            self.accuracy["queried"].append(right)
            if audit:
                self.accuracy["audit"].append(right)
                self.calibration.update(proba, label)
            if champion is not None:
                self._lead.append(int(right) - int(champion == label))
        self.model.learn_one(x, label)
        if label not in self.classes:
            self.classes.append(label)
        self.labels += 1

    def estimates(self) -> dict[Estimate, float]:
        return {e: sum(h) / len(h) if h else math.nan for e, h in self.accuracy.items()}

    def estimate_labels(self) -> dict[Estimate, int]:
        return {e: len(h) for e, h in self.accuracy.items()}

    @property
    def lead(self) -> float:
        """The challenger's accuracy minus the champion's on the same recent labels (NaN before any)."""
        return sum(self._lead) / len(self._lead) if self._lead else math.nan


def promote(learner: Learner) -> None:
    """The challenger serves from now on, and the champion becomes the challenger (its estimates start afresh)."""
    challenger = learner.challenger
    if challenger is None:
        raise ValueError("there is no challenger to promote (STREAMAL_CHALLENGER_MODEL)")
    old_model, old_name = learner.model, learner.config.model
    learner.model = challenger.model
    learner.config = replace(learner.config, model=challenger.name, challenger=old_name)
    demoted = Challenger(old_name, learner.config.seed, learner.config.accuracy_window)
    demoted.model, demoted.classes, demoted.labels = old_model, list(learner.classes), learner.model_version
    learner.challenger = demoted
    for c in challenger.classes:
        if c not in learner.classes:
            learner.classes.append(c)
