"""The Kafka service: the learner driven by an events consumer group and the labels topic.

One loop in one thread does all the Kafka work; the HTTP server runs beside
it. The order of things, in one place:

1. Poll events (consumer group). Each one is parsed (invalid: to the
   dead-letter topic with its reason), scored, and its outputs are sent:
   the prediction, the review item if queried, and, for an event that came
   with its label, a label message with its features (so every replica
   learns it, in the same order).
2. Poll the review and labels topics, which every replica reads whole
   (assigned every partition, positions kept in the checkpoint): review items
   fill the pending store, labels are learned. A label whose review item has
   not been read yet waits ``LABEL_WAIT`` seconds for it before it is counted
   ``unknown``.
3. Every ``commit_interval``: flush the producer (an undelivered message
   raises, and nothing is committed), then commit the event offsets. Every
   ``checkpoint_interval``, and at the end: checkpoint the learner, the
   review/labels positions and the waiting labels.

At-least-once: after a crash, events since the last commit are scored again,
and review/labels records since the last checkpoint are read again on top of
the model of that checkpoint, so no label is lost or learned twice. After a
clean stop (SIGTERM), nothing is scored or learned twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from kafka import ConsumerRebalanceListener, TopicPartition
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata

from streamal import __version__
from streamal.config import Settings
from streamal.core.learner import Decision, Learner, LearnResult
from streamal.core.pending import PendingItem
from streamal.errors import BrokerError, InvalidEvent, InvalidLabel
from streamal.http.app import Health
from streamal.http.review_routes import ReviewDesk
from streamal.review.store import ReviewStore
from streamal.service.checkpoint import CheckpointStore
from streamal.service.kafka import all_partitions, ensure_topics, make_consumer, make_producer
from streamal.service.metrics import Metrics
from streamal.wire.messages import Label, dead_letter, encode, format_ts, parse_event, parse_label, parse_ts

__all__ = ["LABEL_WAIT", "Service"]

logger = logging.getLogger(__name__)

#: Seconds a label for an event not (yet) pending waits for its review item.
LABEL_WAIT = 5.0


@dataclass(slots=True)
class _Waiting:
    label: Label
    since: float


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, service: Service) -> None:
        self.service = service

    def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        if not self.service._closing:  # close() has committed already
            self.service._commit()
        for tp in revoked:
            self.service._offsets.pop(tp, None)

    def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        logger.info("assigned partitions=%s", sorted(f"{tp.topic}:{tp.partition}" for tp in assigned))
        self.service._joined = True


class Service:
    """The streaming active-learning service. ``start()``, then ``run(stop)``."""

    def __init__(
        self,
        settings: Settings,
        metrics: Metrics,
        health: Health | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.health = health or Health()
        self.clock = clock
        self.store = CheckpointStore(settings.state_dir)
        self.learner: Learner = Learner.from_settings(settings)
        self.review = self._new_review_store()
        self.desk = ReviewDesk(
            self.review, self._publish_acked, labels_topic=settings.labels_topic,
            review_topic=settings.review_topic, tokens=settings.tokens, allowed_labels=settings.allowed_labels,
            on_answer=lambda who: self.metrics.review_answers.labels(annotator=who).inc(),
        )
        self._positions: dict[str, int] = {}
        self._waiting: deque[_Waiting] = deque()
        self._offsets: dict[TopicPartition, int] = {}
        self._joined = False
        self._closing = False
        self._evicted_reported = 0
        self._scored = 0
        self._rate_scored = 0
        self._rate_since = time.monotonic()
        self._last_checkpoint_at: float | None = None
        self._send_error: Exception | None = None
        self._events_consumer: Any = None
        self._side_consumer: Any = None
        self._producer: Any = None

    # -- start and stop ----------------------------------------------------------

    def start(self) -> None:
        """Load the checkpoint, check the topics, connect the clients."""
        s = self.settings
        state = self.store.load()
        if state is not None:
            self.learner = state["learner"]
            if state.get("review") is not None:
                self.review = state["review"]
                self._configure_review(self.review)
                self.desk.store = self.review
            self._evicted_reported = self.learner.pending.evicted
            self._positions = dict(state.get("positions", {}))
            self._waiting = deque(_Waiting(lb, since) for lb, since in state.get("waiting", []))
            logger.info(
                "resumed from checkpoint model_version=%d backlog=%d",
                self.learner.model_version, self.learner.backlog,
            )
        topics = [s.events_topic, s.review_topic, s.labels_topic, s.deadletter_topic]
        if s.publish_predictions:
            topics.append(s.predictions_topic)
        ensure_topics(s.kafka_bootstrap, topics, partitions=s.topic_partitions, create=s.create_topics)
        self._producer = make_producer(s.kafka_bootstrap)
        self._side_consumer = make_consumer(s.kafka_bootstrap, group_id=None)
        parts = all_partitions(self._side_consumer, [s.review_topic, s.labels_topic])
        self._side_consumer.assign(parts)
        for tp in parts:
            pos = self._positions.get(f"{tp.topic}:{tp.partition}")
            if pos is None:
                self._side_consumer.seek_to_beginning(tp)
            else:
                self._side_consumer.seek(tp, pos)
        self._events_consumer = make_consumer(
            s.kafka_bootstrap,
            group_id=s.group_id,
            session_timeout_ms=s.session_timeout_ms,
            heartbeat_interval_ms=max(300, s.session_timeout_ms // 5),
            max_poll_records=500,
        )
        self._events_consumer.subscribe([s.events_topic], listener=_Rebalance(self))
        m = self.metrics
        m.budget.set(s.budget)
        m.info.info({"version": __version__, "model": s.model, "strategy": s.strategy})
        for who in set(s.tokens.values()):
            m.review_answers.labels(annotator=who)
        self._sync_gauges()

    def close(self) -> None:
        """Flush, commit, checkpoint and close the clients (the clean stop)."""
        self._closing = True
        try:
            if self._producer is not None and self._events_consumer is not None:
                self._commit()
                self.checkpoint()
        finally:
            for client in (self._events_consumer, self._side_consumer):
                if client is not None:
                    try:
                        client.close(autocommit=False)
                    except Exception:  # noqa: BLE001 - closing is best effort
                        logger.exception("closing a consumer failed")
            if self._producer is not None:
                self._producer.close(timeout=10)
            self.health.set_ready(False, "stopped")

    # -- the loop ----------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Process until ``stop`` is set, then stop cleanly."""
        s = self.settings
        last_commit = last_checkpoint = time.monotonic()
        try:
            while not stop.is_set():
                batch = self._events_consumer.poll(timeout_ms=100)
                for tp, records in batch.items():
                    for record in records:
                        self._handle_event(record)
                    self._offsets[tp] = records[-1].offset + 1
                self._poll_side()
                self._learn_agreed()
                if self._joined and not self.health.ready:
                    self.health.set_ready(True, "joined group, state loaded")
                    self.metrics.ready.set(1)
                self._sync_gauges()
                now = time.monotonic()
                if now - last_commit >= s.commit_interval:
                    self._commit()
                    last_commit = now
                if now - last_checkpoint >= s.checkpoint_interval:
                    self.checkpoint()
                    last_checkpoint = now
        finally:
            self.close()

    # -- events ------------------------------------------------------------------

    def _send(self, topic: str, key: str, value: dict[str, Any]) -> None:
        future = self._producer.send(topic, key=key.encode(), value=encode(value))
        future.add_errback(self._on_send_error)

    def _publish_acked(self, topic: str, key: str, value: dict[str, Any]) -> None:
        """Send one message and wait for the broker's acknowledgement (for the review API's thread)."""
        if self._producer is None:
            raise BrokerError("the service is not connected to Kafka yet")
        try:
            self._producer.send(topic, key=key.encode(), value=encode(value)).get(timeout=10)
        except KafkaError as exc:
            raise BrokerError(str(exc)) from exc

    def _new_review_store(self) -> ReviewStore:
        store = ReviewStore(max_items=self.settings.max_pending)
        self._configure_review(store)
        return store

    def _configure_review(self, store: ReviewStore) -> None:
        s = self.settings
        store.answers_wanted = s.review_answers
        store.claim_seconds = s.review_claim_seconds
        store.undo_seconds = s.review_undo_seconds
        store.clock = self.clock

    def _on_send_error(self, exc: Exception) -> None:
        if self._send_error is None:
            self._send_error = exc

    def _handle_event(self, record: Any) -> None:
        s, m = self.settings, self.metrics
        started = time.perf_counter()
        try:
            event = parse_event(record.value, max_bytes=s.max_event_bytes, max_features=s.max_features)
            decision = self.learner.score(event, now=self.clock())
        except InvalidEvent as exc:
            self._dead_letter(record, str(exc), exc.reason)
            return
        except Exception as exc:  # noqa: BLE001 - one bad event must not stop the loop
            logger.exception("scoring failed topic=%s offset=%d", record.topic, record.offset)
            self._dead_letter(record, f"internal error while scoring: {type(exc).__name__}: {exc}", "internal")
            return
        if s.publish_predictions:
            self._send(s.predictions_topic, event.id, decision.prediction_message())
        if decision.item is not None and decision.query is not None:
            self._send(s.review_topic, event.id, decision.item.to_review())
            m.queries.labels(reason=decision.query.reason).inc()
        if event.label is not None:
            self._send(s.labels_topic, event.id, {
                "event_id": event.id,
                "label": event.label,
                "features": event.features,
                "labeled_at": event.ts or format_ts(self.clock()),
                "source": "event",
            })
        self._count_alarms(decision)
        m.events.labels(outcome="scored").inc()
        self._scored += 1
        m.processing.observe(time.perf_counter() - started)

    def _dead_letter(self, record: Any, error: str, reason: str) -> None:
        logger.warning("dead-lettered topic=%s partition=%d offset=%d error=%s",
                       record.topic, record.partition, record.offset, error)
        key = record.key.decode("utf-8", "replace") if record.key else f"{record.partition}:{record.offset}"
        self._send(self.settings.deadletter_topic, key,
                   dead_letter(record.value, record.topic, record.partition, record.offset, error))
        self.metrics.events.labels(outcome="invalid").inc()
        self.metrics.dead_letters.labels(reason=reason).inc()

    def _count_alarms(self, outcome: Decision | LearnResult) -> None:
        for detector in outcome.alarms:
            logger.warning("drift alarm detector=%s model_version=%d", detector, self.learner.model_version)
            self.metrics.drift_alarms.labels(detector=detector).inc()
            self.metrics.last_alarm.labels(detector=detector).set(time.time())

    # -- review items and labels -------------------------------------------------

    def _poll_side(self) -> None:
        batch = self._side_consumer.poll(timeout_ms=0, max_records=2000)
        review = [r for tp, rs in batch.items() if tp.topic == self.settings.review_topic for r in rs]
        labels = [r for tp, rs in batch.items() if tp.topic == self.settings.labels_topic for r in rs]
        for record in review:
            self._handle_review(record)
        self._retry_waiting()
        for record in labels:
            self._handle_label(record)
        for tp, records in batch.items():
            self._positions[f"{tp.topic}:{tp.partition}"] = records[-1].offset + 1

    def _handle_review(self, record: Any) -> None:
        try:
            msg = orjson.loads(record.value)
            if isinstance(msg, dict) and msg.get("status") == "dropped" and isinstance(msg.get("event_id"), str):
                self.review.apply_drop(msg["event_id"])
                self.learner.pending.pop(msg["event_id"])
                return
            item = PendingItem.from_review(msg, self.settings.max_features)
        except (orjson.JSONDecodeError, ValueError, TypeError, InvalidEvent) as exc:
            logger.warning("unusable review item offset=%d error=%s", record.offset, exc)
            return
        self.learner.remember(item)
        self.review.add_item(item)

    def _handle_label(self, record: Any) -> None:
        s = self.settings
        try:
            label = parse_label(record.value, max_bytes=s.max_event_bytes, max_features=s.max_features)
        except InvalidLabel as exc:
            logger.warning("invalid label partition=%d offset=%d error=%s", record.partition, record.offset, exc)
            self.metrics.labels.labels(outcome="invalid").inc()
            return
        if label.extra.get("retracts") is not None:
            if self.review.apply_retraction(label.event_id, str(label.extra["retracts"])):
                logger.info("answer undone event_id=%s annotator=%s", label.event_id, label.annotator)
            return
        if label.extra.get("source") == "review" and self.review.knows(label.event_id):
            # an analyst's answer through the review API: learned once agreed and past its undo window
            self.review.apply_answer(label.event_id, label.label, label.annotator or "unknown",
                                     answer_id=str(label.extra.get("answer_id") or ""), at=parse_ts(label.labeled_at))
            return
        self.review.apply_answer(label.event_id, label.label, label.annotator or "unknown",
                                 at=parse_ts(label.labeled_at))
        self.review.mark_handed(label.event_id)
        self._learn(label, waited_since=None)

    def _learn_agreed(self) -> None:
        """Hand the learner the labels the analysts agreed on whose undo window is over."""
        for event_id, label, at in self.review.due(self.clock()):
            self._learn(Label(event_id, label, annotator="review", labeled_at=format_ts(at)), waited_since=None)

    def _learn(self, label: Label, waited_since: float | None) -> None:
        now = self.clock()
        result = self.learner.learn(label, now=now)
        if result.outcome == "unknown":
            since = now if waited_since is None else waited_since
            if now - since < LABEL_WAIT:
                self._waiting.append(_Waiting(label, since))
                return
            logger.warning("label for unknown event event_id=%s", label.event_id)
        elif result.outcome == "duplicate":
            logger.info("duplicate label event_id=%s", label.event_id)
        self.metrics.labels.labels(outcome=result.outcome).inc()
        if result.delay is not None:
            self.metrics.label_delay.observe(result.delay)
        self._count_alarms(result)

    def _retry_waiting(self) -> None:
        for _ in range(len(self._waiting)):
            waiting = self._waiting.popleft()
            self._learn(waiting.label, waited_since=waiting.since)

    # -- commit and checkpoint ---------------------------------------------------

    def _commit(self) -> None:
        """Flush the producer, then commit the event offsets of what was sent."""
        try:
            self._producer.flush(timeout=30)
        except KafkaError as exc:
            raise BrokerError(f"could not deliver outputs, offsets not committed: {exc}") from exc
        if self._send_error is not None:
            raise BrokerError(f"could not deliver outputs, offsets not committed: {self._send_error}")
        if not self._offsets:
            return
        offsets = {tp: OffsetAndMetadata(off, None, -1) for tp, off in self._offsets.items()}
        try:
            self._events_consumer.commit(offsets=offsets)
        except KafkaError as exc:
            logger.warning("offset commit failed (will retry) error=%s", exc)

    def checkpoint(self) -> None:
        """Save the learner, the review/labels positions and the waiting labels."""
        started = time.perf_counter()
        self.store.save({
            "learner": self.learner,
            "positions": dict(self._positions),
            "waiting": [(w.label, w.since) for w in self._waiting],
            "review": self.review,
            "saved_at": self.clock(),
        })
        took = time.perf_counter() - started
        self.metrics.checkpoint_duration.observe(took)
        self.metrics.checkpoint_timestamp.set(self.clock())
        self._last_checkpoint_at = self.clock()
        logger.debug("checkpoint saved seconds=%.3f", took)

    def _sync_gauges(self) -> None:
        m, learner = self.metrics, self.learner
        m.backlog.set(learner.backlog)
        m.model_version.set(learner.model_version)
        for name, value in learner.accuracy_estimates().items():
            m.accuracy.labels(estimate=name).set(value)
        evicted = learner.pending.evicted - self._evicted_reported
        if evicted > 0:
            m.pending_evicted.inc(evicted)
            self._evicted_reported += evicted
        cap = learner.sampler.cap
        m.budget_spent.labels(window="run").set(cap.spent)
        m.budget_spent.labels(window="recent").set(cap.recent)
        m.threshold.set(learner.sampler.threshold())
        m.labels_learned.set(learner.model_version)
        oldest = learner.pending.oldest()
        wall = self.clock()
        age = wall - oldest.queried_at if oldest is not None and oldest.queried_at is not None else 0.0
        m.backlog_age.set(max(0.0, age))
        if self._last_checkpoint_at is not None:
            m.checkpoint_age.set(max(0.0, wall - self._last_checkpoint_at))
        now = time.monotonic()
        if now - self._rate_since >= 5.0:
            scored = self._scored
            m.events_rate.set((scored - self._rate_scored) / (now - self._rate_since))
            self._rate_scored, self._rate_since = scored, now
            kappa = self.review.agreement_kappa()
            m.review_kappa.set(float("nan") if kappa is None else kappa)
            self._sync_lag()

    def _sync_lag(self) -> None:
        """Lag per assigned events partition, from the high watermarks the fetches already carry."""
        consumer = self._events_consumer
        if consumer is None:
            return
        try:
            assigned = consumer.assignment()
        except Exception:  # noqa: BLE001 - metrics must never stop the loop
            return
        for tp in assigned:
            high = consumer.highwater(tp)
            if high is None:
                continue
            try:
                position = consumer.position(tp)
            except Exception:  # noqa: BLE001, S112 - no position yet: no lag to report
                continue
            self.metrics.consumer_lag.labels(partition=str(tp.partition)).set(max(0, high - position))
