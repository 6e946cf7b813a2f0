"""The Kafka service's loop: the learner driven by the events consumer group and the side topics.

One loop in one thread does all the Kafka work; the HTTP server runs beside it
(built by :mod:`streamal.runtime` and handed the review store and health, so
nothing here imports FastAPI). Started by :mod:`streamal.service.start`, which
returns a :class:`RunningService` whose parts all exist. What happens, in order:

1. **Loop**: commit what was handled (:mod:`streamal.service.commits`: outputs
   acknowledged, then offsets committed, before a poll when due); poll events and handle each
   (:mod:`streamal.service.events`: invalid ones to the dead-letter topic, the
   others scored, their prediction and review item sent); read the side topics
   and route each record (:mod:`streamal.service.side`,
   :mod:`streamal.service.routing`); publish the gauges; save a checkpoint when due.
2. **Stop**: flush, commit, checkpoint, close. After a fatal error (the broker
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
from collections.abc import Callable
from typing import Any

from streamal import __version__
from streamal.config import Settings
from streamal.core.keyed import KeyedLearner
from streamal.core.learner import Learner
from streamal.crashes import CrashPoints
from streamal.review.store import ReviewStore
from streamal.service.checkpoint import CheckpointStore
from streamal.service.commits import Commits
from streamal.service.events import EventHandler
from streamal.service.health import Health
from streamal.service.metrics import Metrics
from streamal.service.parking import DirectoryParking
from streamal.service.pool import ReviewPool
from streamal.service.ports import EventsConsumer, Outputs, Partition, TopicReader
from streamal.service.routing import LabelRouter, Waiting
from streamal.service.side import SideHandler
from streamal.service.state import SavedState
from streamal.wire.outputs import fit

__all__ = ["SLOW_EVERY", "RunningService"]

logger = logging.getLogger(__name__)

#: Seconds between the slower gauges (events rate, lag, agreement) and "still waiting" lines.
SLOW_EVERY = 5.0


class RunningService:
    """The service once started (:meth:`streamal.service.start.Service.start`): ``run(stop)``, then it closes.

    Every part exists from construction on; the events consumer is subscribed
    by :meth:`join`, which the start-up calls last.
    """

    def __init__(self, settings: Settings, metrics: Metrics, health: Health, review: ReviewStore,
                 store: CheckpointStore, *, learner: Learner, router: LabelRouter, side_handler: SideHandler,
                 event_handler: EventHandler, pool: ReviewPool, outputs: Outputs, events: EventsConsumer,
                 side: TopicReader, crashes: CrashPoints, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.metrics = metrics
        self.health = health
        self.review = review
        self.store = store
        self.learner = learner
        self.router = router
        self.side_handler = side_handler
        self.event_handler = event_handler
        self.pool = pool
        self.outputs = outputs
        self.events = events
        self.side = side
        self.clock = clock
        self.commits = Commits(outputs, events, save=self.checkpoint, interval=settings.checkpoint_interval,
                               crashes=crashes)
        self._assigned: set[Partition] = set()
        self._joined = threading.Event()
        self._last_checkpoint: float | None = None
        self._rate_scored = 0
        self._slow_at = time.monotonic()

    def join(self) -> None:
        """Subscribe to the events topic; ready once the group assigns partitions (in :meth:`run`)."""
        s = self.settings
        self.events.subscribe(s.events_topic, on_assigned=self._on_assigned, on_revoked=self._on_revoked)
        self.health.set_ready(False, f"waiting to join group {s.group_id}")
        logger.info("waiting to join group %s topic=%s", s.group_id, s.events_topic)
        m = self.metrics
        config = self.learner.config
        m.budget.set(config.budget)
        m.describe(version=__version__, model=config.model, strategy=config.strategy)
        m.publish(self.learner.stats(), self.clock(), self._last_checkpoint)

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
        self.commits.revoked(partitions)
        self._assigned -= partitions

    # -- the loop ---------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Process until ``stop`` is set, then stop cleanly (or raise on a fatal error)."""
        handle, side = self.event_handler.handle, self.side_handler
        waiting_since = time.monotonic()
        try:
            while not stop.is_set():
                self.commits.commit()  # before a poll: what is acknowledged, without waiting
                for record in self.events.poll(timeout_ms=100):
                    handle(record)
                    self.commits.processed((record.topic, record.partition), record.offset + 1)
                side.handle(self.side.poll(max_records=2000))
                versions = self.router.versions
                if versions is not None and versions.changed:  # a rollback, rebuild or promotion: saved at once
                    versions.changed = False
                    self.commits.checkpoint()
                side.tick(review_caught_up=self.side.caught_up(self.settings.review_topic))
                if gone := self.pool.tick():
                    self.metrics.review_items.labels(outcome="withdrawn").inc(gone)
                if not self.health.ready:
                    if self._joined.is_set():
                        self.health.set_ready(True, f"joined group {self.settings.group_id}")
                        self.metrics.ready.set(1)
                    elif time.monotonic() - waiting_since >= 2 * SLOW_EVERY:
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
            self.commits.final()
        finally:
            for client in (self.events, self.side):
                try:
                    client.close()
                except Exception:
                    logger.exception("closing a consumer failed")
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
        self.outputs.send_acked(topic, key.encode(), fit(msg, self.settings.max_output_bytes))

    # -- state and gauges -------------------------------------------------------------------------

    def checkpoint(self) -> None:
        """Save the learner, the review store, the side-topic positions and the waiting labels."""
        started = time.perf_counter()
        state = SavedState(self.learner, self.review.snapshot(), dict(self.side_handler.positions),
                           [Waiting(w.label, w.since) for w in self.router.waiting])
        self.store.save({"version": __version__, "learner": self.learner.config.to_dict()}, state.to_dict())
        learner = self.learner
        if isinstance(learner, KeyedLearner) and isinstance(learner.parking, DirectoryParking):
            learner.parking.sweep(keep=set(learner.parked.values()))  # what no checkpoint names any more
        took = time.perf_counter() - started
        self.metrics.checkpoint_duration.observe(took)
        self._last_checkpoint = self.clock()
        self.metrics.checkpoint_timestamp.set(self._last_checkpoint)
        logger.debug("checkpoint saved seconds=%.3f", took)

    def _publish_gauges(self) -> None:
        m = self.metrics
        m.publish(self.learner.stats(), self.clock(), self._last_checkpoint)
        now = time.monotonic()
        if now - self._slow_at < SLOW_EVERY:
            return
        keys, learner = self.event_handler.keys, self.learner
        if keys is not None and isinstance(learner, KeyedLearner):
            keys.publish(learner)
        scored = self.event_handler.scored
        m.events_rate.set((scored - self._rate_scored) / (now - self._slow_at))
        self._rate_scored, self._slow_at = scored, now
        kappa = self.review.agreement_kappa()
        m.review_kappa.set(float("nan") if kappa is None else kappa)
        try:
            for partition, lag in self.events.lag().items():
                m.consumer_lag.labels(partition=str(partition)).set(lag)
        except Exception:  # noqa: S110 - the lag gauge must never stop the loop
            pass
