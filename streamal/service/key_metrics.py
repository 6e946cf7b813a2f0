"""The metrics of a model per kind of event (``STREAMAL_MODEL_KEY``), with a bounded ``key`` label.

A key is a value of the events (a sensor, a tenant), so its number is the
stream's to choose; a label with a value per key would let one bad producer
fill Prometheus. The first :data:`TOP_KEYS` keys seen by this replica get
their own label value; every later one counts as ``other``, and the shared
model (events without the key, new keys beyond ``STREAMAL_MAX_KEYS``) as
``shared``.

>>> from prometheus_client import CollectorRegistry, generate_latest
>>> m = KeyMetrics(CollectorRegistry(), top=1)
>>> m.label_of("dmz"), m.label_of("lan"), m.label_of("")
('dmz', 'other', 'shared')
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge

from streamal.core.keyed import SHARED, KeyedLearner
from streamal.core.names import ESTIMATES
from streamal.core.outcomes import Decision

__all__ = ["TOP_KEYS", "KeyMetrics"]

#: Keys with a label value of their own, per replica; the rest are ``other``.
TOP_KEYS = 20


class KeyMetrics:
    """Per-key series beside the deployment's own (which add every key up)."""

    def __init__(self, registry: CollectorRegistry, top: int = TOP_KEYS, *, overflowed: int = 0) -> None:
        """``overflowed``: the learner's count of overflowed events when it was loaded (counted before)."""
        r = registry
        self.top = top
        self._named: set[str] = set()
        self.events = Counter("streamal_key_events", "Events scored, by the key whose model scored them.", ["key"],
                              registry=r)
        self.queries = Counter("streamal_key_queries", "Events sent to review, by the key whose model asked.",
                               ["key"], registry=r)
        self.accuracy = Gauge(
            "streamal_key_accuracy", "Recent accuracy of each key's model (as streamal_accuracy; named keys in "
                                     "memory only).", ["key", "estimate"], registry=r)
        self.model_version = Gauge("streamal_key_model_version", "Labels each key's model has learned.", ["key"],
                                   registry=r)
        self.models = Gauge("streamal_models", "Models of keys: in memory (resident) and parked on the state "
                                               "volume.", ["state"], registry=r)
        self.overflow = Counter("streamal_key_overflow", "Events of a new key beyond STREAMAL_MAX_KEYS (scored by "
                                                         "the shared model, or dead-lettered).", registry=r)
        self._overflowed = overflowed
        # each label value's two counters, bound once (a labels() lookup per event is measurable)
        self._children: dict[str, tuple[Any, Any]] = {}
        for key in ("shared", "other"):
            self.events.labels(key=key)
            self.queries.labels(key=key)
        for state in ("resident", "parked"):
            self.models.labels(state=state).set(0)

    def label_of(self, key: str) -> str:
        """The ``key`` label's value for ``key``: itself, ``other`` beyond the first :attr:`top`, or ``shared``."""
        if key == SHARED:
            return "shared"
        if key in self._named:
            return key
        if len(self._named) < self.top and key not in ("shared", "other"):
            self._named.add(key)
            return key
        return "other"

    def scored(self, decision: Decision) -> None:
        """Count one scored event under its key (on the hot path: the children are bound once per key)."""
        label = self.label_of(decision.key or SHARED)
        children = self._children.get(label)
        if children is None:
            children = self._children[label] = (self.events.labels(key=label), self.queries.labels(key=label))
        children[0].inc()
        if decision.query is not None:
            children[1].inc()

    def publish(self, learner: KeyedLearner) -> None:
        """Set the gauges from the learner (on the loop's thread)."""
        self.models.labels(state="resident").set(len(learner.resident))
        self.models.labels(state="parked").set(len(learner.parked))
        if learner.overflowed > self._overflowed:
            self.overflow.inc(learner.overflowed - self._overflowed)
        self._overflowed = learner.overflowed
        for key, stats in learner.key_stats().items():
            label = self.label_of(key)
            if label == "other":
                continue
            self.model_version.labels(key=label).set(stats.model_version)
            for name in ESTIMATES:
                self.accuracy.labels(key=label, estimate=name).set(stats.accuracy[name])
