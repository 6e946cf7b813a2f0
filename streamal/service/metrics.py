"""Prometheus metrics: one :class:`Metrics` object, created against an injected registry.

Every series of DESIGN.md's table exists from start-up, at 0 for each known
label value, so dashboards and alerts see the service before its first event.

>>> from prometheus_client import CollectorRegistry, generate_latest
>>> m = Metrics(CollectorRegistry())
>>> b'streamal_queries_total{reason="drift"} 0.0' in generate_latest(m.registry)
True
"""

from __future__ import annotations

import logging

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, disable_created_metrics

from streamal.core.drift import DETECTORS
from streamal.core.learner import LearnerStats
from streamal.core.names import ESTIMATES, OUTCOMES, REASONS
from streamal.errors import INVALID_REASONS

__all__ = ["REVIEW_OUTCOMES", "Metrics"]

logger = logging.getLogger(__name__)

#: What became of a record read from the review topic.
REVIEW_OUTCOMES = ("added", "known", "dropped", "withdrawn", "invalid")

#: Scoring one event takes tens of microseconds (hat) to a millisecond (arf).
PROCESSING_BUCKETS = (
    0.00002, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1.0,
)
#: Analysts answer in seconds (simulated) to hours (real).
LABEL_DELAY_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400)


class Metrics:
    """All of streamal's metrics, on ``registry``."""

    def __init__(self, registry: CollectorRegistry) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call]  # a `_created` series beside every counter says nothing a dashboard uses
        self.registry = registry
        r = registry
        self.events = Counter("streamal_events", "Events read, by outcome.", ["outcome"], registry=r)
        self.queries = Counter("streamal_queries", "Events sent to review, by reason.", ["reason"], registry=r)
        self.labels = Counter("streamal_labels", "Labels read, by outcome.", ["outcome"], registry=r)
        self.accuracy = Gauge(
            "streamal_accuracy",
            "Recent accuracy of predictions made at scoring time, on labelled events: "
            "'audit' on the random sample only (unbiased), 'queried' on all of them; model='challenger': "
            "the challenger's, judged on each label just before it learns it.",
            ["model", "estimate"],
            registry=r,
        )
        self.drift_alarms = Counter(
            "streamal_drift_alarms", "Drift alarms, by detector.", ["detector"], registry=r
        )
        self.backlog = Gauge("streamal_review_backlog", "Queried events not yet labelled.", registry=r)
        self.processing = Histogram(
            "streamal_event_processing_seconds",
            "Time to parse and score one event.",
            buckets=PROCESSING_BUCKETS,
            registry=r,
        )
        self.label_delay = Histogram(
            "streamal_label_delay_seconds",
            "Time from query to label (labeled_at - queried_at).",
            buckets=LABEL_DELAY_BUCKETS,
            registry=r,
        )
        self.model_version = Gauge(
            "streamal_model_version", "Labels the model has learned (the model version).", registry=r
        )
        self.budget_spent = Gauge(
            "streamal_budget_spent_ratio",
            "Share of scored events queried, over the run and over the recent window.",
            ["window"],
            registry=r,
        )
        self.budget = Gauge("streamal_budget_ratio", "The configured label budget.", registry=r)
        self.threshold = Gauge(
            "streamal_strategy_threshold",
            "The strategy's utility bar at the plain budget: the recent utility quantile for the rank-filter "
            "strategies, 1 - the confidence bar for the Zliobaite ones, 0 for random and periodic (no bar).",
            registry=r,
        )
        self.ready = Gauge("streamal_ready", "1 once the service has joined its group and loaded state.", registry=r)
        self.checkpoint_timestamp = Gauge(
            "streamal_last_checkpoint_timestamp_seconds", "Unix time of the last checkpoint.", registry=r
        )
        self.checkpoint_duration = Histogram(
            "streamal_checkpoint_duration_seconds",
            "Time to write one checkpoint.",
            buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10),
            registry=r,
        )
        self.pending_evicted = Counter(
            "streamal_review_evicted", "Queried events dropped from the full pending store.", registry=r
        )
        self.info = Info("streamal_build", "Version, model and strategy.", registry=r)
        self._info: dict[str, str] = {}
        self.dead_letters = Counter(
            "streamal_dead_letters", "Events sent to the dead-letter topic, by reason.", ["reason"], registry=r
        )
        self.consumer_lag = Gauge(
            "streamal_consumer_lag_messages",
            "Events waiting in each assigned partition of the events topic (high watermark - position).",
            ["partition"],
            registry=r,
        )
        self.events_rate = Gauge(
            "streamal_events_per_second", "Events scored per second, over the last few seconds.", registry=r
        )
        self.last_alarm = Gauge(
            "streamal_drift_last_alarm_timestamp_seconds",
            "Unix time of the last drift alarm, by detector (0: none yet).",
            ["detector"],
            registry=r,
        )
        self.backlog_age = Gauge(
            "streamal_review_backlog_age_seconds", "Age of the oldest queried event still without a label.", registry=r
        )
        self.checkpoint_age = Gauge(
            "streamal_checkpoint_age_seconds", "Seconds since the last checkpoint was written.", registry=r
        )
        self.review_kappa = Gauge(
            "streamal_review_agreement_kappa",
            "Agreement between annotators on items answered more than once (Fleiss' kappa; NaN until there are any).",
            registry=r,
        )
        self.review_kappa.set(float("nan"))
        self.review_answers = Counter(
            "streamal_review_answers", "Answers given on the review API, by annotator (from the configured tokens).",
            ["annotator"], registry=r,
        )
        self.accuracy_labels = Gauge(
            "streamal_accuracy_labels",
            "Labels each accuracy estimate is over (0: no estimate yet, and streamal_accuracy is NaN).",
            ["model", "estimate"], registry=r,
        )
        self.calibration = Gauge(
            "streamal_calibration",
            "Calibration of the probabilities on the audit sample: Brier score and expected calibration error "
            "(lower is better; NaN until the first audit label).",
            ["model", "measure"],
            registry=r,
        )
        for measure in ("brier", "ece"):
            self.calibration.labels(model="champion", measure=measure).set(float("nan"))
        self.challenger_lead = Gauge(
            "streamal_challenger_lead",
            "The challenger's accuracy minus the champion's on the same recent labels, each judged just before "
            "it is learned (NaN without a challenger or before its first label).", registry=r)
        self.challenger_lead.set(float("nan"))
        self.feature_mismatches = Counter(
            "streamal_feature_mismatches",
            "Feature values that did not fit their feature's kind (a word in a numeric feature) and were left out.",
            registry=r,
        )
        self._mismatches = 0
        self.saturated = Gauge(
            "streamal_saturated",
            "1 while the stopping rule holds: the model's predictions stopped changing, only the audit is asked.",
            registry=r,
        )
        self.stop_agreement = Gauge(
            "streamal_stop_agreement",
            "Agreement (Cohen's kappa) of the model's predictions on the stop set with the previous check "
            "(NaN before the first check or with the stopping rule off).",
            registry=r,
        )
        self.stop_agreement.set(float("nan"))
        self.review_items = Counter(
            "streamal_review_items", "Records read from the review topic, by outcome.", ["outcome"], registry=r
        )
        self.assigned = Gauge(
            "streamal_assigned_partitions", "Partitions of the events topic this replica holds now.", registry=r
        )
        self.rebalances = Counter(
            "streamal_rebalances", "Assignments of events partitions received from the group.", registry=r
        )
        self.classes = Counter(
            "streamal_classes", "Classes the model has learned (a new one: an analyst named a class never seen).",
            registry=r,
        )
        self.new_class_at = Gauge(
            "streamal_new_class_timestamp_seconds", "When a class was last learned for the first time (0: never).",
            registry=r,
        )
        self.audit_recall = Gauge(
            "streamal_audit_recall",
            "Recall of each class on the recent random audit sample (unbiased); the classes with the most audit "
            "labels by name, the rest as 'other' (NaN: no audit label of it now).", ["class"], registry=r,
        )
        self.audit_precision = Gauge(
            "streamal_audit_precision",
            "Precision of each class on the recent random audit sample; classes as in streamal_audit_recall.",
            ["class"], registry=r,
        )
        self._evicted = 0
        self._classes = 0
        self._audit_classes: set[str] = set()

        for outcome in ("scored", "invalid"):
            self.events.labels(outcome=outcome)
        for reason in REASONS:
            self.queries.labels(reason=reason)
        for outcome in OUTCOMES:
            self.labels.labels(outcome=outcome)
        for estimate in ESTIMATES:
            self.accuracy.labels(model="champion", estimate=estimate).set(float("nan"))
            self.accuracy_labels.labels(model="champion", estimate=estimate).set(0)
        for detector in DETECTORS:
            self.drift_alarms.labels(detector=detector)
            self.last_alarm.labels(detector=detector).set(0)
        for invalid in INVALID_REASONS:
            self.dead_letters.labels(reason=invalid)
        for window in ("run", "recent"):
            self.budget_spent.labels(window=window).set(0)
        for outcome in REVIEW_OUTCOMES:
            self.review_items.labels(outcome=outcome)

    def count_alarms(self, detectors: list[str], model_version: int, now: float) -> None:
        """Count (and log) the drift alarms of one decision or label; ``now`` in wall-clock seconds."""
        for detector in detectors:
            logger.warning("drift alarm detector=%s model_version=%d", detector, model_version)
            self.drift_alarms.labels(detector=detector).inc()
            self.last_alarm.labels(detector=detector).set(now)

    def resumed(self, stats: LearnerStats) -> None:
        """The learner came back from a checkpoint: what it had counted before is not new."""
        self._evicted = stats.evicted
        self._mismatches = stats.schema_mismatches
        self._classes = stats.classes  # (streamal_classes_total counts the classes learned since the start)

    def describe(self, **info: str) -> None:
        """``streamal_build``'s labels (version, model, strategy); the model follows a promotion."""
        self._info = dict(info)
        self.info.info(self._info)

    def publish(self, stats: LearnerStats, now: float, last_checkpoint: float | None) -> None:
        """Set the gauges from a learner snapshot (``now`` and ``last_checkpoint`` are wall-clock seconds)."""
        if self._info and stats.model and stats.model != self._info.get("model"):
            self.describe(**(self._info | {"model": stats.model}))
        self.backlog.set(stats.backlog)
        self.model_version.set(stats.model_version)
        for name, value in stats.accuracy.items():
            self.accuracy.labels(model="champion", estimate=name).set(value)
            self.accuracy_labels.labels(model="champion", estimate=name).set(stats.accuracy_labels[name])
        if stats.challenger is not None:
            c = stats.challenger
            for name, value in c.accuracy.items():
                self.accuracy.labels(model="challenger", estimate=name).set(value)
                self.accuracy_labels.labels(model="challenger", estimate=name).set(c.accuracy_labels[name])
            self.calibration.labels(model="challenger", measure="brier").set(c.brier)
            self.calibration.labels(model="challenger", measure="ece").set(c.ece)
            self.challenger_lead.set(c.lead)
        if stats.evicted > self._evicted:
            self.pending_evicted.inc(stats.evicted - self._evicted)
        self._evicted = stats.evicted
        self.budget_spent.labels(window="run").set(stats.spent_run)
        self.budget_spent.labels(window="recent").set(stats.spent_recent)
        self.threshold.set(stats.threshold)
        self.saturated.set(1 if stats.saturated else 0)
        self.stop_agreement.set(float("nan") if stats.stop_agreement is None else stats.stop_agreement)
        self.calibration.labels(model="champion", measure="brier").set(stats.brier)
        self.calibration.labels(model="champion", measure="ece").set(stats.ece)
        if stats.schema_mismatches > self._mismatches:
            self.feature_mismatches.inc(stats.schema_mismatches - self._mismatches)
        self._mismatches = stats.schema_mismatches
        if stats.classes > self._classes:
            self.classes.inc(stats.classes - self._classes)
        self._classes = stats.classes
        for gone in self._audit_classes - set(stats.audit_by_class):  # dropped out of the top: no stale series
            self.audit_recall.remove(gone)
            self.audit_precision.remove(gone)
        for cls, (recall, precision, _) in stats.audit_by_class.items():
            self.audit_recall.labels(**{"class": cls}).set(recall)
            self.audit_precision.labels(**{"class": cls}).set(precision)
        self._audit_classes = set(stats.audit_by_class)
        age = now - stats.oldest_queried_at if stats.oldest_queried_at is not None else 0.0
        self.backlog_age.set(max(0.0, age))
        if last_checkpoint is not None:
            self.checkpoint_age.set(max(0.0, now - last_checkpoint))
