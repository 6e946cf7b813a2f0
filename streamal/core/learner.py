"""The learner: the one pure object at the heart of streamal.

It owns the model, the sampler (query strategy and budget), the drift
monitors and the store of queried-but-unlabelled events. It knows nothing of
Kafka, HTTP or clocks: the caller passes ``now``. The service, the offline
evaluation and the tests all drive this same object.

>>> from streamal.wire.messages import Event, Label
>>> learner = Learner(model="hat", budget=0.5, seed_size=1)
>>> d = learner.score(Event("e1", {"port": 22, "proto": "ssh"}), now=0.0)
>>> d.query.reason, d.prediction          # cold start: nothing known, so ask
('uncertainty', None)
>>> learner.learn(Label("e1", "bad"), now=5.0).outcome
'learned'
>>> learner.score(Event("e2", {"port": 22, "proto": "ssh"}), now=6.0).prediction
'bad'
>>> learner.learn(Label("e1", "bad"), now=7.0).outcome   # said twice: learned once
'duplicate'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from river import metrics, utils

from streamal.core.drift import DETECTORS, DriftMonitor
from streamal.core.models import make_model, prepare
from streamal.core.pending import PendingItem, PendingStore, RecentIds
from streamal.core.sampling import Query, Sampler
from streamal.core.strategies import make_strategy
from streamal.wire.messages import Event, Label, parse_ts

__all__ = ["OUTCOMES", "Decision", "LearnResult", "Learner"]

OUTCOMES = ("learned", "unknown", "duplicate", "invalid")
ESTIMATES = ("audit", "queried")


@dataclass(slots=True)
class Decision:
    """What the learner made of one event."""

    event_id: str
    prediction: str | None
    proba: dict[str, float]
    query: Query | None
    model_version: int
    alarms: list[str] = field(default_factory=list)
    item: PendingItem | None = None

    def prediction_message(self) -> dict[str, Any]:
        """The predictions-topic message (DESIGN.md's shape)."""
        return {
            "event_id": self.event_id,
            "prediction": self.prediction,
            "proba": self.proba,
            "model_version": self.model_version,
            "queried": self.query is not None,
        }


@dataclass(slots=True)
class LearnResult:
    """What the learner made of one label: ``outcome`` is one of :data:`OUTCOMES`."""

    outcome: str
    correct: bool | None = None
    reason: str | None = None
    delay: float | None = None
    alarms: list[str] = field(default_factory=list)


class Learner:
    """Scores events, decides what to query, and learns from labels.

    Parameters
    ----------
    model, strategy
        Names from :data:`streamal.core.models.MODELS` and :data:`streamal.core.strategies.STRATEGIES`.
    budget
        Fraction of scored events that may be queried.
    audit_share, seed_size, window, boost, boost_events, diversity, capacity, max_backlog
        See :class:`~streamal.core.sampling.Sampler`.
    drift_warmup
        Labels learned before drift alarms count (see :class:`~streamal.core.drift.DriftMonitor`).
    max_pending
        Queried-but-unlabelled events kept; the oldest go first.
    accuracy_window
        Labels the two accuracy estimates are computed over.
    """

    def __init__(
        self,
        model: str = "hat",
        strategy: str = "uncertainty",
        budget: float = 0.05,
        *,
        audit_share: float = 0.1,
        seed_size: int = 20,
        window: int = 1000,
        boost: float = 3.0,
        boost_events: int = 500,
        diversity: float = 0.0,
        capacity: float = 0.0,
        max_backlog: int = 0,
        drift_warmup: int = 200,
        max_pending: int = 100_000,
        accuracy_window: int = 500,
        seed: int = 42,
    ) -> None:
        self.model_name = model
        self.strategy_name = strategy
        self.budget = budget
        self.seed = seed
        self.model = make_model(model, seed)
        chosen = make_strategy(strategy, seed)
        chosen.check_model(self.model)
        self.sampler = Sampler(
            chosen,
            budget,
            audit_share=audit_share,
            seed_size=seed_size,
            window=window,
            boost=boost,
            boost_events=boost_events,
            diversity=diversity,
            capacity=capacity,
            max_backlog=max_backlog,
            seed=seed,
        )
        self.drift = DriftMonitor(warmup=drift_warmup)
        self.pending = PendingStore(max_pending)
        self.labelled = RecentIds(max_pending)
        self.classes: list[str] = []
        self.model_version = 0
        self.accuracy = {
            name: utils.Rolling(metrics.Accuracy(), window_size=accuracy_window) for name in ESTIMATES
        }

    @classmethod
    def from_settings(cls, settings: Any) -> Learner:
        """A learner configured by :class:`~streamal.config.Settings`."""
        return cls(
            model=settings.model,
            strategy=settings.strategy,
            budget=settings.budget,
            audit_share=settings.audit_share,
            seed_size=settings.seed_size,
            window=settings.budget_window,
            boost=settings.drift_boost,
            boost_events=settings.drift_boost_events,
            diversity=settings.diversity,
            capacity=settings.capacity_per_hour,
            max_backlog=settings.max_backlog,
            drift_warmup=settings.drift_warmup,
            max_pending=settings.max_pending,
            seed=settings.seed,
        )

    # -- scoring ---------------------------------------------------------------

    def predict_proba(self, features: dict[str, Any]) -> dict[str, float]:
        """Probabilities over every known class (0 for those the model leaves out)."""
        if not self.classes:
            return {}
        raw = self.model.predict_proba_one(prepare(features))
        total = sum(raw.values())
        if total <= 0:
            return {c: 1.0 / len(self.classes) for c in self.classes}
        return {c: float(raw.get(c, 0.0)) / total for c in self.classes}

    def score(self, event: Event, now: float) -> Decision:
        """Predict ``event``, decide whether to query it, and remember it if so."""
        proba = self.predict_proba(event.features)
        prediction = max(proba, key=proba.__getitem__) if proba else None
        alarms: list[str] = []
        if proba and self.drift.update_confidence(max(proba.values()), self.model_version):
            alarms.append("confidence")
            self.sampler.on_drift()
        query = None
        if event.label is None:
            query = self.sampler.decide(proba, event.features, n_learned=self.model_version, model=self.model,
                                        now=now, backlog=len(self.pending))
        decision = Decision(event.id, prediction, proba, query, self.model_version, alarms)
        if query is not None:
            item = PendingItem(
                event.id, event.features, event.meta, prediction, proba,
                round(query.score, 6), query.reason, self.model_version, now,
            )
            if event.id not in self.labelled:
                self.pending.add(item)
            decision.item = item
        return decision

    def remember(self, item: PendingItem) -> bool:
        """Add a review item queried elsewhere (another replica, or before a restart).

        Idempotent: an item already pending or already labelled is ignored.
        """
        if item.event_id in self.labelled:
            return False
        return self.pending.add(item)

    # -- learning --------------------------------------------------------------

    def learn(self, label: Label, now: float) -> LearnResult:
        """Join ``label`` to its queried event (or to its own features) and learn it."""
        item = self.pending.pop(label.event_id)
        if item is None:
            if label.event_id in self.labelled:
                return LearnResult("duplicate")
            if label.features is None:
                return LearnResult("unknown")
            self._learn_one(label.features, label.label)
            self.labelled.add(label.event_id)
            return LearnResult("learned")
        correct = item.prediction == label.label
        result = LearnResult("learned", correct=correct, reason=item.reason)
        if item.prediction is not None:
            self.accuracy["queried"].update(label.label, item.prediction)
            if item.reason == "random":
                self.accuracy["audit"].update(label.label, item.prediction)
            if self.drift.update_error(not correct, self.model_version):
                result.alarms.append("error")
                self.sampler.on_drift()
        labeled_at = parse_ts(label.labeled_at)
        if item.queried_at is not None:
            result.delay = max(0.0, (labeled_at if labeled_at is not None else now) - item.queried_at)
        self._learn_one(item.features, label.label)
        self.labelled.add(label.event_id)
        return result

    def _learn_one(self, features: dict[str, Any], label: str) -> None:
        if label not in self.classes:
            self.classes.append(label)
        self.model.learn_one(prepare(features), label)
        self.sampler.strategy.learn_one(features, label)
        self.model_version += 1

    # -- state -----------------------------------------------------------------

    @property
    def backlog(self) -> int:
        """Queried events still waiting for their label."""
        return len(self.pending)

    def accuracy_estimates(self) -> dict[str, float]:
        """Recent accuracy of the audit sample (unbiased) and of all queried events."""
        return {name: float(acc.get()) for name, acc in self.accuracy.items()}

    def drift_alarms(self) -> dict[str, int]:
        """Alarms raised so far, by detector."""
        return {name: self.drift.alarms[name] for name in DETECTORS}
