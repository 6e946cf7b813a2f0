"""One event record: parsed, scored, its outputs queued; or dead-lettered with its reason.

Every event is handled inside its own error boundary: an event that cannot
be parsed goes to the dead-letter topic (cut to fit, with its size and
SHA-256), and one that breaks the model while scoring does too (reason
``internal``), so no event can stop the loop.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from streamal.config import Settings
from streamal.core.domain import Event
from streamal.core.learner import Decision, Learner
from streamal.core.names import REASONS
from streamal.crashes import NO_CRASHES, CrashPoints
from streamal.errors import InvalidEvent
from streamal.service.key_metrics import KeyMetrics
from streamal.service.logs import Throttled
from streamal.service.metrics import Metrics
from streamal.service.ports import Outputs, Record
from streamal.wire.labels import event_label_message
from streamal.wire.messages import parse_event
from streamal.wire.outputs import FEATURES_HEADROOM, dead_letter, fit, prediction_message
from streamal.wire.review import review_item_message

__all__ = ["EventHandler"]

logger = logging.getLogger(__name__)


class EventHandler:
    """Turns event records into predictions, review items and labels on the outputs."""

    def __init__(self, settings: Settings, learner: Learner, outputs: Outputs, metrics: Metrics,
                 clock: Callable[[], float] = time.time, crashes: CrashPoints = NO_CRASHES,
                 on_query: Callable[[str], None] | None = None, keys: KeyMetrics | None = None) -> None:
        self.settings = settings
        self.keys = keys  # with a model per key: the per-key series
        self.on_query = on_query
        self.crashes = crashes
        self.learner = learner
        self.outputs = outputs
        self.metrics = metrics
        self.clock = clock
        self.scored = 0
        self._log = Throttled(logger)
        # metric children bound once: a labels() lookup per event is measurable on the hot path
        self._scored = metrics.events.labels(outcome="scored")
        self._invalid = metrics.events.labels(outcome="invalid")
        self._queried = {reason: metrics.queries.labels(reason=reason) for reason in REASONS}

    def handle(self, record: Record) -> None:
        """Handle one record of the events topic; never raises for anything about the record."""
        s, m = self.settings, self.metrics
        started = time.perf_counter()
        try:
            event = parse_event(record.value or b"", max_bytes=s.max_event_bytes, max_features=s.max_features,
                                max_output_bytes=s.max_output_bytes - FEATURES_HEADROOM)
        except InvalidEvent as exc:
            self._dead_letter(record, str(exc), exc.reason)
            return
        try:
            decision = self.learner.score(event, now=self.clock())
            outputs = [(topic, fit(msg, s.max_output_bytes)) for topic, msg in self._outputs_of(event, decision)]
        except InvalidEvent as exc:  # refused by the learner (a new key beyond STREAMAL_MAX_KEYS)
            self._dead_letter(record, str(exc), exc.reason)
            return
        except Exception as exc:
            logger.exception("scoring failed topic=%s partition=%d offset=%d", record.topic, record.partition,
                             record.offset)
            self._dead_letter(record, f"internal error while scoring: {type(exc).__name__}: {exc}", "internal")
            return
        key = event.id.encode()
        self.crashes.reached("handled")
        for topic, value in outputs:
            self.outputs.send(topic, key, value)
        self.crashes.reached("sent")
        if decision.query is not None:
            self._queried[decision.query.reason].inc()
            if self.on_query is not None:
                self.on_query(event.id)
        if self.keys is not None:
            self.keys.scored(decision)
        if decision.alarms:
            m.count_alarms(decision.alarms, self.learner.model_version, self.clock())
        self._scored.inc()
        self.scored += 1
        m.processing.observe(time.perf_counter() - started)

    def _outputs_of(self, event: Event, decision: Decision) -> list[tuple[str, dict[str, Any]]]:
        s = self.settings
        out: list[tuple[str, dict[str, Any]]] = []
        if s.publish_predictions:
            out.append((s.predictions_topic, prediction_message(decision)))
        if decision.item is not None:
            out.append((s.review_topic, review_item_message(decision.item)))
        if event.label is not None:  # learned through the labels topic, so every replica learns it in one order
            out.append((s.labels_topic, event_label_message(event, self.clock())))
        return out

    def _dead_letter(self, record: Record, error: str, reason: str) -> None:
        s = self.settings
        self._log.warning("dead-letter", "dead-lettered topic=%s partition=%d offset=%d error=%s",
                          record.topic, record.partition, record.offset, error[:300])
        key = record.key[:256] if record.key else f"{record.partition}:{record.offset}".encode()
        self.outputs.send(s.deadletter_topic, key, dead_letter(record.value, record.topic, record.partition,
                                                               record.offset, error, reason,
                                                               limit=s.max_output_bytes))
        self._invalid.inc()
        self.metrics.dead_letters.labels(reason=reason).inc()
