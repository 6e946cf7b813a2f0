"""The Kafka service: the learner driven by the events consumer group and the side topics.

One loop in one thread does all the Kafka work; the HTTP server runs beside it
(built by :mod:`streamal.runtime` and handed the review store and health, so
nothing here imports FastAPI). What happens, in order:

1. **Start**: lock the state directory, load the checkpoint (refusing one made
   with another model or strategy, taking new tunable settings), reach Kafka,
   read the review and labels topics to their end (every replica reads them
   whole, so every replica knows every queried event and learns every label),
   then join the events group ("waiting to join group G"; each assignment logged).
2. **Loop**: commit what was handled (:mod:`streamal.service.commits`: outputs
   acknowledged, then offsets committed, before a poll when due); poll events and handle each
   (:mod:`streamal.service.events`: invalid ones to the dead-letter topic, the
   others scored, their prediction and review item sent); read the side topics
   and route each record (:mod:`streamal.service.side`,
   :mod:`streamal.service.routing`); publish the gauges; save a checkpoint when due.
3. **Stop**: flush, commit, checkpoint, close. After a fatal error (the broker
   gone, the disk full) nothing more is committed or saved, and the error
   stops the process with one line.

No single message can stop the loop: each event, review record and label is
handled inside its own error boundary, and every output is cut to fit the
broker's limit (:mod:`streamal.wire.outputs`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from streamal import __version__
from streamal.config import Settings
from streamal.core.config import LearnerConfig
from streamal.core.learner import Learner
from streamal.crashes import CrashPoints
from streamal.datasets import read_labelled
from streamal.errors import BrokerError, IncompatibleState
from streamal.review.store import ReviewStore
from streamal.service.access import KafkaAccess
from streamal.service.checkpoint import CheckpointStore
from streamal.service.commits import Commits, Partition
from streamal.service.events import EventHandler
from streamal.service.health import Health
from streamal.service.kafka import (
    EventsConsumer,
    Outputs,
    TopicReader,
    ensure_topics,
    open_events_consumer,
    open_outputs,
    open_topic_reader,
)
from streamal.service.metrics import Metrics
from streamal.service.pool import ReviewPool
from streamal.service.routing import LabelRouter, Waiting
from streamal.service.side import SideHandler
from streamal.wire.messages import format_ts
from streamal.wire.outputs import fit

__all__ = ["Service"]

logger = logging.getLogger(__name__)

#: Seconds between the slower gauges (events rate, lag, agreement) and "still waiting" lines.
_SLOW_EVERY = 5.0


class Service:
    """The streaming active-learning service. ``start()``, then ``run(stop)``."""

    def __init__(
        self,
        settings: Settings,
        metrics: Metrics,
        health: Health,
        review: ReviewStore,
        *,
        reset_model: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.health = health
        self.review = review
        self.reset_model = reset_model
        self.clock = clock
        self.crashes = CrashPoints.parse(settings.crash_at)
        if self.crashes.step is not None:
            logger.warning("STREAMAL_CRASH_AT=%s: this process kills itself at that step (for crash tests only)",
                           settings.crash_at)
        self.store = CheckpointStore(settings.state_dir, self.crashes)
        self.learner = Learner(settings.learner_config())
        self.router = LabelRouter(self.learner, review)
        self.side_handler = SideHandler(settings, self.router, metrics, clock=clock)
        self.event_handler: EventHandler | None = None
        self.pool: ReviewPool | None = None
        self.outputs: Outputs | None = None
        self.events: EventsConsumer | None = None
        self.side: TopicReader | None = None
        self.commits: Commits | None = None
        self._assigned: set[Partition] = set()
        self._joined = threading.Event()
        self._last_checkpoint: float | None = None
        self._rate_scored = 0
        self._slow_at = time.monotonic()

    # -- start ------------------------------------------------------------------------------------

    def start(self) -> None:
        """Load the state, reach Kafka, read the side topics to their end, join the events group."""
        s = self.settings
        self.store.lock()
        for path in self.store.clean_stale():
            logger.info("removed a temporary file left by an interrupted checkpoint path=%s", path)
        self._restore()
        self._warm_start()
        side_partitions = 1  # one partition keeps every replica's labels in one order
        access = KafkaAccess.from_settings(s)
        if access.security_protocol == "SASL_PLAINTEXT" and access.sasl_mechanism == "PLAIN":
            logger.warning("SASL PLAIN over a plain-text connection sends the Kafka password in clear; "
                           "use STREAMAL_KAFKA_SECURITY_PROTOCOL=SASL_SSL or a SCRAM mechanism")
        ensure_topics(
            access,
            {s.events_topic: s.topic_partitions, s.review_topic: side_partitions, s.labels_topic: side_partitions,
             s.deadletter_topic: s.topic_partitions,
             **({s.predictions_topic: s.topic_partitions} if s.publish_predictions else {})},
            create=s.create_topics,
        )
        self.outputs = open_outputs(access, max_output_bytes=s.max_output_bytes)
        outputs = self.outputs

        def publish_review(event_id: str, msg: dict[str, Any]) -> None:
            outputs.send(s.review_topic, event_id.encode(), fit(msg, s.max_output_bytes))

        self.pool = ReviewPool(self.learner, self.review, publish_review, expire=s.review_expire_seconds,
                               wall_clock=self.clock)
        self.event_handler = EventHandler(s, self.learner, self.outputs, self.metrics, clock=self.clock,
                                          crashes=self.crashes, on_query=self.pool.asked)
        self.side = open_topic_reader(access, [s.review_topic, s.labels_topic], self.side_handler.positions,
                                fetch_max_bytes=max(52_428_800, 2 * s.max_output_bytes),
                                max_partition_fetch_bytes=max(1_048_576, 2 * s.max_output_bytes))
        self._catch_up()
        self.events = open_events_consumer(
            access, s.group_id, session_timeout_ms=s.session_timeout_ms,
            # a few MB a fetch and 2000 records a poll: a backlog is read in few round trips to the broker
            max_partition_fetch_bytes=max(8_388_608, s.max_event_bytes + 65_536), max_poll_records=2000,
        )
        self.commits = Commits(self.outputs, self.events, save=self.checkpoint, interval=s.checkpoint_interval,
                               crashes=self.crashes)
        self.events.subscribe(s.events_topic, on_assigned=self._on_assigned, on_revoked=self._on_revoked)
        self.health.set_ready(False, f"waiting to join group {s.group_id}")
        logger.info("waiting to join group %s topic=%s", s.group_id, s.events_topic)
        m = self.metrics
        m.budget.set(s.budget)
        m.info.info({"version": __version__, "model": s.model, "strategy": s.strategy})
        m.publish(self.learner.stats(), self.clock(), self._last_checkpoint)

    def _restore(self) -> None:
        """The learner, review store, positions and waiting labels of the checkpoint, if there is one."""
        s = self.settings
        wanted = s.learner_config()
        if self.reset_model:
            moved = self.store.move_aside()
            if moved is not None:
                logger.warning("--reset-model: the old checkpoint is kept as %s; the review and labels topics "
                               "are read again from their beginning", moved)
            return
        header = self.store.read_header()
        if header is None:
            return
        saved = LearnerConfig.from_dict(header.get("learner", {}))
        for name, (old, new) in saved.shaping_changes(wanted).items():
            raise IncompatibleState(
                f"STREAMAL_{name.upper()}: the checkpoint in {self.store.directory} was made with {name} {old!r}, "
                f"the settings say {new!r}; to change it, start afresh with `streamal run --reset-model` "
                "(the labels topic is learned again)")
        state = self.store.load()
        assert state is not None  # the header was there
        learner: Learner = state["learner"]
        learner.reconfigure(wanted)
        self.learner = learner
        self.review.restore(state["review"])
        self.router = LabelRouter(learner, self.review, waiting=state.get("waiting", ()))
        self.side_handler = SideHandler(s, self.router, self.metrics, state.get("positions", {}), clock=self.clock)
        self.metrics.resumed(learner.stats())
        changed = {k: v for k, v in saved.changes(wanted).items() if k != "seed"}
        if changed:
            logger.info("settings changed since the checkpoint, now in force: %s",
                        ", ".join(f"{k} {old!r} -> {new!r}" for k, (old, new) in changed.items()))
        logger.info("resumed from checkpoint model_version=%d backlog=%d saved_at=%s", learner.model_version,
                    learner.backlog, format_ts(float(header.get("saved_at", 0.0))))

    def _warm_start(self) -> None:
        """A fresh model learns ``STREAMAL_SEED_LABELS`` first (a model from a checkpoint has it already)."""
        path = self.settings.seed_labels
        if path is None or self.learner.model_version > 0:
            return
        skipped: Counter[str] = Counter()
        started = time.monotonic()
        learned, refused = self.learner.warm(read_labelled(path, skipped=skipped))
        logger.info("warm start from %s learned=%d refused=%d skipped=%s seconds=%.1f", path, learned, refused,
                    dict(skipped), time.monotonic() - started)

    def _catch_up(self) -> None:
        """Read the review and labels topics to their end before taking any events."""
        assert self.side is not None
        self.health.set_ready(False, "reading the review and labels topics")
        started = last_line = time.monotonic()
        read = 0
        while True:
            records = self.side.poll(max_records=5000, timeout_ms=200)
            self.side_handler.handle(records)
            read += len(records)
            self.side_handler.tick(review_caught_up=False)
            if not records and self.side.caught_up():
                break
            if time.monotonic() - last_line >= _SLOW_EVERY:
                logger.info("reading the review and labels topics records=%d", read)
                last_line = time.monotonic()
        logger.info("read the review and labels topics records=%d seconds=%.1f model_version=%d",
                    read, time.monotonic() - started, self.learner.model_version)

    # -- rebalance callbacks (on the client's IO thread: bookkeeping only) -------------------------

    def _on_assigned(self, partitions: set[Partition]) -> None:
        self._assigned = set(partitions)
        logger.info("assigned group=%s partitions=%s", self.settings.group_id,
                    ",".join(f"{t}:{p}" for t, p in sorted(partitions)) or "none")
        self.metrics.rebalances.inc()
        self.metrics.assigned.set(len(partitions))
        self._joined.set()

    def _on_revoked(self, partitions: set[Partition]) -> None:
        if partitions:
            logger.info("revoked group=%s partitions=%s", self.settings.group_id,
                        ",".join(f"{t}:{p}" for t, p in sorted(partitions)))
        if self.commits is not None:
            self.commits.revoked(partitions)
        self._assigned -= partitions

    # -- the loop ---------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Process until ``stop`` is set, then stop cleanly (or raise on a fatal error)."""
        assert self.events is not None and self.commits is not None and self.side is not None
        assert self.event_handler is not None
        handle, side = self.event_handler.handle, self.side_handler
        waiting_since = time.monotonic()
        try:
            while not stop.is_set():
                self.commits.commit()  # before a poll: what is acknowledged, without waiting
                for record in self.events.poll(timeout_ms=100):
                    handle(record)
                    self.commits.processed((record.topic, record.partition), record.offset + 1)
                side.handle(self.side.poll(max_records=2000))
                side.tick(review_caught_up=self.side.caught_up(self.settings.review_topic))
                if self.pool is not None and (gone := self.pool.tick()):
                    self.metrics.review_items.labels(outcome="withdrawn").inc(gone)
                if not self.health.ready:
                    if self._joined.is_set():
                        self.health.set_ready(True, f"joined group {self.settings.group_id}")
                        self.metrics.ready.set(1)
                    elif time.monotonic() - waiting_since >= 2 * _SLOW_EVERY:
                        logger.info("still waiting to join group %s seconds=%.0f", self.settings.group_id,
                                    time.monotonic() - waiting_since)
                        waiting_since = time.monotonic()
                self._publish_gauges()
                self.commits.maybe_checkpoint()
        finally:
            self.close()

    def close(self) -> None:
        """Flush, commit, checkpoint (unless a fatal error came first), and close the clients."""
        try:
            if self.commits is not None:
                self.commits.final()
        finally:
            for client in (self.events, self.side):
                if client is not None:
                    try:
                        client.close()
                    except Exception:
                        logger.exception("closing a consumer failed")
            if self.outputs is not None:
                try:
                    self.outputs.close()
                except Exception:
                    logger.exception("closing the producer failed")
            self.health.set_ready(False, "stopped")
            self.metrics.ready.set(0)
            self.store.unlock()

    # -- for the review API ------------------------------------------------------------------------

    def publish_acked(self, topic: str, key: str, msg: dict[str, Any]) -> None:
        """Send one message and wait for Kafka's acknowledgement (for the review API's threads)."""
        if self.outputs is None:
            raise BrokerError("the service is not connected to Kafka yet")
        self.outputs.send_acked(topic, key.encode(), fit(msg, self.settings.max_output_bytes))

    # -- state and gauges -------------------------------------------------------------------------

    def checkpoint(self) -> None:
        """Save the learner, the review store, the side-topic positions and the waiting labels."""
        started = time.perf_counter()
        self.store.save(
            {"version": __version__, "learner": self.learner.config.to_dict()},
            {
                "learner": self.learner,
                "review": self.review.snapshot(),
                "positions": dict(self.side_handler.positions),
                "waiting": [Waiting(w.label, w.since) for w in self.router.waiting],
            },
        )
        took = time.perf_counter() - started
        self.metrics.checkpoint_duration.observe(took)
        self._last_checkpoint = self.clock()
        self.metrics.checkpoint_timestamp.set(self._last_checkpoint)
        logger.debug("checkpoint saved seconds=%.3f", took)

    def _publish_gauges(self) -> None:
        m = self.metrics
        m.publish(self.learner.stats(), self.clock(), self._last_checkpoint)
        now = time.monotonic()
        if now - self._slow_at < _SLOW_EVERY:
            return
        scored = self.event_handler.scored if self.event_handler is not None else 0
        m.events_rate.set((scored - self._rate_scored) / (now - self._slow_at))
        self._rate_scored, self._slow_at = scored, now
        kappa = self.review.agreement_kappa()
        m.review_kappa.set(float("nan") if kappa is None else kappa)
        if self.events is not None:
            try:
                for partition, lag in self.events.lag().items():
                    m.consumer_lag.labels(partition=str(partition)).set(lag)
            except Exception:  # noqa: S110 - the lag gauge must never stop the loop
                pass
