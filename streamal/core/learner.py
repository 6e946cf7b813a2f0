"""The learner: the one pure object at the heart of streamal.

It owns the model, the sampler (query strategy and budget), the drift
monitors and the store of queried-but-unlabelled events. It knows nothing of
Kafka, HTTP or clocks: the caller passes ``now``. The service, the offline
evaluation and the tests all drive this same object.

>>> from streamal.core.domain import Event, Label
>>> learner = Learner(LearnerConfig(model="hat", budget=0.5, seed_size=1, audit_share=0.0))
>>> d = learner.score(Event("e1", {"port": 22, "proto": "ssh"}), now=0.0)
>>> d.query.reason, d.prediction          # cold start: nothing known, so ask (the seed)
('seed', None)
>>> learner.learn(Label("e1", "bad"), now=5.0).outcome
'learned'
>>> learner.score(Event("e2", {"port": 22, "proto": "ssh"}), now=6.0).prediction
'bad'
>>> learner.learn(Label("e1", "bad"), now=7.0).outcome   # said twice: learned once
'duplicate'
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

from streamal.core.audit import by_class
from streamal.core.calibration import CalibrationMeter
from streamal.core.challenger import Challenger, promote
from streamal.core.config import LearnerConfig
from streamal.core.domain import Event, Label
from streamal.core.drift import DETECTORS, DriftMonitor
from streamal.core.explain import explain
from streamal.core.models import make_model
from streamal.core.names import ESTIMATES, OUTCOMES, Estimate
from streamal.core.outcomes import ChallengerStats, Decision, LearnerStats, LearnResult
from streamal.core.pending import PendingItem, PendingStore, RecentIds
from streamal.core.sampling import Sampler
from streamal.core.schema import Schema
from streamal.core.stopping import StoppingRule
from streamal.core.strategies import make_strategy
from streamal.core.strategies.base import Observation

__all__ = ["ESTIMATES", "OUTCOMES", "PRIOR_FADE", "Decision", "LearnResult", "Learner", "LearnerStats"]

#: With ``n`` labels learned, the model's probabilities count ``n / (n + PRIOR_FADE)`` against the class
#: prior's: a model that has seen a handful of labels does not claim certainty (a tree's P = 1e-80).
PRIOR_FADE = 10.0


class Learner:
    """Scores events, decides what to query, and learns from labels.

    Everything it does is set by one :class:`~streamal.core.config.LearnerConfig`;
    :meth:`reconfigure` takes the tunable fields of a new one (a restart with new settings).
    """

    #: A second model taught the same labels (``config.challenger``); the class default serves older checkpoints.
    challenger: Challenger | None = None

    def __init__(self, config: LearnerConfig | None = None) -> None:
        config = config or LearnerConfig()
        self.config = config
        self.model = make_model(config.model, config.seed)
        chosen = make_strategy(config.strategy, config.seed)
        chosen.check_model(self.model)
        self.sampler = Sampler(chosen, config)
        self.drift = DriftMonitor(warmup=config.drift_warmup)
        self.schema = Schema(config.categorical)
        self.stopping = StoppingRule() if config.stopping else None
        self.challenger = Challenger(config.challenger, config.seed, config.accuracy_window) if config.challenger \
            else None
        self.pending = PendingStore(config.max_pending)
        self.labelled = RecentIds(config.max_pending)
        self.classes: list[str] = []
        self._class_counts: dict[str, int] = {}
        self.model_version = 0
        self.calibration = CalibrationMeter(config.accuracy_window)
        # right (True) or wrong, per estimate, over the last accuracy_window labels
        self.accuracy: dict[Estimate, deque[bool]] = {
            name: deque(maxlen=config.accuracy_window) for name in ESTIMATES
        }
        # (truth, prediction) of the last accuracy_window audit labels: per-class recall and precision
        self.audit_pairs: deque[tuple[str, str]] = deque(maxlen=config.accuracy_window)
        #: Classes learned for the first time and not yet reported (the service logs and counts them).
        self.new_classes: list[str] = []
        #: Set to a clock (e.g. ``time.perf_counter``) to add up the time spent deciding in ``decision_seconds``.
        self.timer: Callable[[], float] | None = None
        self.decision_seconds = 0.0

    def reconfigure(self, config: LearnerConfig) -> None:
        """Take the tunable values of ``config``; ``ValueError`` naming what cannot change.

        The model and the strategy shape what was learned: a learner of one
        cannot go on as another (start a fresh one instead). The seed only
        matters to a fresh learner and is kept.

        >>> learner = Learner(LearnerConfig(budget=0.05))
        >>> learner.reconfigure(LearnerConfig(budget=0.2))
        >>> learner.sampler.budget
        0.2
        >>> learner.reconfigure(LearnerConfig(model="linear"))
        Traceback (most recent call last):
        ...
        ValueError: model: the checkpoint's model is 'auto', the settings say 'linear'
        """
        for name, (old, new) in self.config.shaping_changes(config).items():
            raise ValueError(f"{name}: the checkpoint's {name} is {old!r}, the settings say {new!r}")
        config = replace(config, seed=self.config.seed)
        self.sampler.reconfigure(config)
        self.drift.warmup = config.drift_warmup
        if config.stopping and self.stopping is None:
            self.stopping = StoppingRule()
        elif not config.stopping:
            self.stopping = None
        self.pending.max_items = config.max_pending
        self.labelled.max_items = config.max_pending
        if config.challenger != self.config.challenger:  # a new challenger starts afresh
            self.challenger = Challenger(config.challenger, config.seed, config.accuracy_window) \
                if config.challenger else None
        self.config = config

    # -- scoring ---------------------------------------------------------------

    def predict_proba(self, features: Mapping[str, Any]) -> dict[str, float]:
        """Probabilities over every known class (0 for those the model leaves out).

        A model that gives no probability, or a non-finite one, is read as knowing nothing (uniform).
        """
        return self._proba(self.schema.prepare(features))

    def _proba(self, x: dict[str, float | str]) -> dict[str, float]:
        if not self.classes:
            return {}
        raw = self.model.predict_proba_one(x)
        total = sum(raw.values())
        if not 0.0 < total < math.inf:
            return self._prior()
        n = self.model_version
        if n >= PRIOR_FADE * 100:
            return {c: float(raw.get(c, 0.0)) / total for c in self.classes}
        # few labels: shrink towards the prior over the classes seen, as if PRIOR_FADE labels had been prior-like
        prior = self._prior()
        w = n / (n + PRIOR_FADE)
        return {c: w * float(raw.get(c, 0.0)) / total + (1.0 - w) * prior[c] for c in self.classes}

    def _prior(self) -> dict[str, float]:
        """Class frequencies of the labels learned, Laplace-smoothed."""
        k, n = len(self.classes), sum(self._class_counts.values())
        return {c: (self._class_counts.get(c, 0) + 1.0) / (n + k) for c in self.classes}

    def score(self, event: Event, now: float) -> Decision:
        """Predict ``event``, decide whether to query it, and remember it if so."""
        x = self.schema.prepare(event.features)
        proba = self._proba(x)
        prediction = max(proba, key=proba.__getitem__) if proba else None
        alarms: list[str] = []
        if proba and self.drift.update_confidence(max(proba.values()), self.model_version):
            alarms.append("confidence")
            self._on_drift()
        if self.stopping is not None:
            self.stopping.observe(x)
        query = None
        if event.label is None:
            started = self.timer() if self.timer is not None else 0.0
            query = self.sampler.decide(proba, x, n_learned=self.model_version, model=self.model, now=now,
                                        backlog=len(self.pending), saturated=self.saturated, key=event.id)
            if self.timer is not None:
                self.decision_seconds += self.timer() - started
        decision = Decision(event.id, prediction, proba, query, self.model_version, alarms)
        if query is not None:
            item = PendingItem(
                event.id, event.features, event.meta, prediction, proba,
                round(query.score, 6), query.reason, self.model_version, now,
                ({"novel": list(query.novel)} if query.novel else {"new_class": query.new_class}
                 if query.new_class else explain(self.model, x, prediction)),
            )
            if event.id not in self.labelled:
                self.pending.add(item)
            decision.item = item
        return decision

    def pending_item(self, event_id: str) -> PendingItem | None:
        """The queried event ``event_id`` still waiting for its label, if it is."""
        return self.pending.get(event_id)

    def remember(self, item: PendingItem) -> bool:
        """Add a review item queried elsewhere (another replica, or before a restart).

        Idempotent: an item already pending or already labelled is ignored.
        """
        if item.event_id in self.labelled:
            return False
        added = self.pending.add(item)
        if added:
            self.sampler.remembered(item.event_id, self.schema.prepare(item.features))
        return added

    # -- learning --------------------------------------------------------------

    def learn(self, label: Label, now: float) -> LearnResult:
        """Join ``label`` to its queried event (or to its own features) and learn it.

        Whatever goes wrong while learning (a label past ``max_classes``, a
        value the model cannot take) makes the outcome ``invalid`` with the
        reason in ``error``; the label is not counted as learned, and a
        queried event goes on waiting for a label that can be.
        """
        item = self.pending.pop(label.event_id)
        self.sampler.answered(label.event_id)
        if item is None:
            if label.event_id in self.labelled:
                return LearnResult("duplicate")
            if label.features is None:
                return LearnResult("unknown")
            error = self._learn_one(label.features, label.label)
            if error is not None:
                return LearnResult("invalid", error=error)
            self.labelled.add(label.event_id)
            return LearnResult("learned", features=label.features)
        error = self._learn_one(item.features, label.label, audit=item.reason == "random")
        if error is not None:
            self.pending.add(item)
            return LearnResult("invalid", reason=item.reason, error=error)
        self.labelled.add(label.event_id)
        correct = item.prediction == label.label
        result = LearnResult("learned", correct=correct, reason=item.reason, features=item.features)
        if item.prediction is not None:
            self.accuracy["queried"].append(correct)
            if item.reason == "random":
                self.accuracy["audit"].append(correct)
                self.audit_pairs.append((label.label, item.prediction))
                self.calibration.update(item.proba, label.label)
                if self.stopping is not None:
                    audit = self.accuracy["audit"]
                    self.stopping.audit(correct, sum(audit) / len(audit), len(audit))
            if self.drift.update_error(not correct, self.model_version):
                result.alarms.append("error")
                self._on_drift()
        if item.queried_at is not None:
            result.delay = max(0.0, (label.labeled_at if label.labeled_at is not None else now) - item.queried_at)
        return result

    def correct(self, event_id: str, features: Mapping[str, Any], label: str, *,
                key: str | None = None) -> LearnResult:
        """Learn ``label`` for an event learned before with another one (an analyst changed an answer).

        An online model cannot unlearn the first label; learning the right one
        after it moves the model back, and later labels finish the job.
        ``key``: whose model learns it, with a model per key (:mod:`streamal.core.keyed`).
        """
        error = self._learn_one(dict(features), label)
        if error is not None:
            return LearnResult("invalid", error=error)
        self.labelled.add(event_id)
        return LearnResult("learned", features=dict(features))

    def _learn_one(self, features: dict[str, Any], label: str, *, audit: bool = False) -> str | None:
        """Learn one labelled example (``audit``: one of the random audit's); why it could not be, or ``None``."""
        new_class = label not in self.classes
        if new_class and len(self.classes) >= self.config.max_classes:
            return f"label {label!r} would be class number {len(self.classes) + 1}, over max_classes"
        try:
            x = self.schema.prepare(features, learn=True)
            if self.challenger is not None:
                self.challenger.learn(x, label, audit=audit, champion=self.predict(x))
            self.model.learn_one(x, label)
            self.sampler.strategy.learn_one(x, label, audit=audit)
            self.sampler.learned(x)
        except Exception as exc:
            return f"the model could not learn it: {type(exc).__name__}: {exc}"
        if new_class:
            self.classes.append(label)
            if self.model_version >= max(1, self.config.seed_size):  # (the classes of the cold start are no news)
                self.new_classes.append(label)
                self.sampler.on_new_class(label, x)
        self._class_counts[label] = self._class_counts.get(label, 0) + 1
        self.model_version += 1
        if self.stopping is not None:
            self.stopping.learned(self, self.model_version)
        return None

    def predict(self, x: Mapping[str, Any]) -> str | None:
        """The class predicted for model-ready features ``x`` (``None`` with no class known)."""
        proba = self._proba(dict(x))
        return max(proba, key=proba.__getitem__) if proba else None

    @property
    def saturated(self) -> bool:
        """Whether the stopping rule holds (only the audit is asked for)."""
        return self.stopping is not None and self.stopping.saturated

    def _on_drift(self) -> None:
        self.sampler.on_drift()
        if self.stopping is not None:
            self.stopping.on_drift()

    def warm(self, pairs: Iterable[tuple[Mapping[str, Any], str]]) -> tuple[int, int]:
        """Learn a labelled history before the stream (a warm start): ``(learned, refused)``.

        The history counts as labels learned (the cold-start seed is not asked for
        again); it is not judged, so accuracy and drift start with the stream.
        """
        learned = refused = 0
        for x, y in pairs:
            if self._learn_one(dict(x), y) is None:
                learned += 1
            else:
                refused += 1
        return learned, refused

    def forget(self, event_id: str) -> bool:
        """Stop waiting for the label of ``event_id`` (its review item was dropped)."""
        self.sampler.answered(event_id)
        return self.pending.pop(event_id) is not None

    def worth_now(self, features: Mapping[str, Any], *, key: str | None = None) -> float:
        """What the strategy makes of an event's label *now*, with the model as it is (for the review pool).

        ``key``: whose model judges it, with a model per key (:mod:`streamal.core.keyed`).
        """
        x = self.schema.prepare(features)
        proba = self._proba(x)
        if not proba:
            return 1.0
        return self.sampler.strategy.utility(Observation(proba, x, self.model))

    def admission_bar(self, *, key: str | None = None) -> float:
        """The utility an event needs now to be asked about at the plain budget (of ``key``'s model)."""
        return self.sampler.threshold()

    def withdraw(self, event_id: str) -> bool:
        """Take back a question nobody answered (the model answered it for itself): its query is refunded."""
        if not self.forget(event_id):
            return False
        self.sampler.cap.refund()
        return True

    # -- state -----------------------------------------------------------------

    @property
    def backlog(self) -> int:
        """Queried events still waiting for their label."""
        return len(self.pending)

    def stats(self) -> LearnerStats:
        """A snapshot of the counts and estimates the metrics report."""
        cap = self.sampler.cap
        oldest = self.pending.oldest()
        return LearnerStats(
            model_version=self.model_version, backlog=len(self.pending), evicted=self.pending.evicted,
            accuracy=self.accuracy_estimates(), accuracy_labels=self.accuracy_labels(), spent_run=cap.spent,
            spent_recent=cap.recent,
            threshold=self.sampler.threshold(), oldest_queried_at=oldest.queried_at if oldest else None,
            classes=len(self.classes), brier=self.calibration.brier(), ece=self.calibration.ece(),
            schema_mismatches=self.schema.mismatches, saturated=self.saturated,
            stop_agreement=self.stopping.last_agreement if self.stopping is not None else None,
            audit_by_class=self.audit_by_class(), model=self.config.model,
            challenger=None if self.challenger is None else ChallengerStats(
                self.challenger.name, self.challenger.estimates(), self.challenger.estimate_labels(),
                self.challenger.calibration.brier(), self.challenger.calibration.ece(), self.challenger.lead),
        )

    def promote_challenger(self) -> None:
        """The challenger serves from now on (:func:`~streamal.core.challenger.promote`); ``ValueError`` if none."""
        promote(self)

    def model_parts(self) -> dict[str, Any]:
        """What labels changed (:mod:`streamal.core.versions`): the model, the strategy's learned part, the
        schema, the classes and their counts. The rest (questions on their way, budget, estimates) is the present.
        """
        return {"model": self.model, "strategy": self.sampler.strategy, "schema": self.schema,
                "classes": self.classes, "class_counts": self._class_counts}

    def restore_model_parts(self, parts: Mapping[str, Any], version: int) -> None:
        """Put back :meth:`model_parts` (unpickled: the caller's copy), as of model version ``version``."""
        self.model = parts["model"]
        self.sampler.strategy = parts["strategy"]
        self.schema = parts["schema"]
        self.classes = list(parts["classes"])
        self._class_counts = dict(parts["class_counts"])
        self.model_version = version

    def audit_by_class(self, top: int = 10) -> dict[str, tuple[float, float, int]]:
        """Per class, ``(recall, precision, audit labels)`` over the recent audit sample (:func:`by_class`)."""
        return by_class(self.audit_pairs, top)

    def accuracy_estimates(self) -> dict[Estimate, float]:
        """Recent accuracy of the audit sample (unbiased) and of all queried events; NaN before any label."""
        return {name: sum(hits) / len(hits) if hits else math.nan for name, hits in self.accuracy.items()}

    def accuracy_labels(self) -> dict[Estimate, int]:
        """How many labels each accuracy estimate is over (0: no estimate yet)."""
        return {name: len(hits) for name, hits in self.accuracy.items()}

    def drift_alarms(self) -> dict[str, int]:
        """Alarms raised so far, by detector."""
        return {name: self.drift.alarms[name] for name in DETECTORS}
