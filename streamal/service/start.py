"""Starting the service: state loaded, Kafka reached, the side topics read, the group joined; then it runs.

:meth:`Service.start` does the start-up in order and returns a
:class:`~streamal.service.loop.RunningService` whose parts all exist: there
is no half-built service to guard against. If a step fails, what was opened
is closed and the state directory unlocked before the error goes on.

1. lock the state directory, load the checkpoint (refusing one made with
   another model or strategy, taking new tunable settings), or learn
   ``STREAMAL_SEED_LABELS`` when there is none;
2. reach Kafka and make sure the topics exist;
3. read the review and labels topics to their end (every replica reads them
   whole, so every replica knows every queried event and learns every label);
4. join the events group ("waiting to join group G"; each assignment logged).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, Protocol

from streamal.config import Settings
from streamal.core.config import LearnerConfig
from streamal.core.keyed import KeyedLearner, make_learner
from streamal.core.learner import Learner
from streamal.crashes import CrashPoints
from streamal.datasets import read_labelled
from streamal.errors import IncompatibleState
from streamal.review.store import ReviewStore
from streamal.service.access import KafkaAccess
from streamal.service.checkpoint import CheckpointStore
from streamal.service.events import EventHandler
from streamal.service.health import Health
from streamal.service.kafka import ensure_topics, open_events_consumer, open_outputs, open_topic_reader
from streamal.service.key_metrics import KeyMetrics
from streamal.service.loop import SLOW_EVERY, RunningService
from streamal.service.metrics import Metrics
from streamal.service.parking import PARKED_DIR, DirectoryParking
from streamal.service.pool import ReviewPool
from streamal.service.ports import TopicReader
from streamal.service.routing import LabelRouter
from streamal.service.side import SideHandler
from streamal.service.state import SavedState
from streamal.service.versions import ModelVersions
from streamal.wire.messages import format_ts
from streamal.wire.outputs import fit

__all__ = ["Service"]

logger = logging.getLogger("streamal.service.loop")  # one logger name for the service's life, as before


class _Closable(Protocol):
    def close(self) -> None: ...


class Service:
    """The streaming active-learning service, not started yet: ``start()`` returns it running."""

    def __init__(self, settings: Settings, metrics: Metrics, health: Health, review: ReviewStore, *,
                 reset_model: bool = False, clock: Callable[[], float] = time.time,
                 versions: ModelVersions | None = None) -> None:
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
        self.versions = versions or ModelVersions(settings.state_dir, every=settings.snapshot_every,
                                                  keep=settings.snapshot_keep, clock=clock)

    def start(self) -> RunningService:
        """Load the state, reach Kafka, read the side topics to their end, join the events group."""
        self.store.lock()
        opened: list[_Closable] = []
        try:
            return self._start(opened)
        except BaseException:
            for client in reversed(opened):
                try:
                    client.close()
                except Exception:
                    logger.exception("closing a Kafka client after a failed start failed")
            self.health.set_ready(False, "stopped")
            self.store.unlock()
            raise

    def _start(self, opened: list[_Closable]) -> RunningService:
        s = self.settings
        for path in self.store.clean_stale():
            logger.info("removed a temporary file left by an interrupted checkpoint path=%s", path)
        saved = self._restore()
        learner = saved.learner if saved is not None else make_learner(s.learner_config())
        if isinstance(learner, KeyedLearner):  # the models of keys out of memory wait on the state volume
            learner.parking = DirectoryParking(s.state_dir / PARKED_DIR)
        if saved is None:
            self.versions.start_afresh()
        elif dropped := self.versions.cut_back(learner.model_version):
            logger.info("journal cut back to the checkpoint's model version %d (%d labels learned after it are "
                        "read again)", learner.model_version, dropped)
        router = LabelRouter(learner, self.review, waiting=saved.waiting if saved is not None else (),
                             versions=self.versions)
        side_handler = SideHandler(s, router, self.metrics, saved.positions if saved is not None else {},
                                   clock=self.clock)
        self._warm_start(learner)
        access = KafkaAccess.from_settings(s)
        logger.info("kafka client=%s%s", access.client, " (auto: confluent-kafka is installed)"
                    if s.kafka_client == "auto" and access.client == "confluent" else
                    " (auto: confluent-kafka is not installed; pip install 'streamal[fast]' for librdkafka)"
                    if s.kafka_client == "auto" else "")
        if access.security_protocol == "SASL_PLAINTEXT" and access.sasl_mechanism == "PLAIN":
            logger.warning("SASL PLAIN over a plain-text connection sends the Kafka password in clear; "
                           "use STREAMAL_KAFKA_SECURITY_PROTOCOL=SASL_SSL or a SCRAM mechanism")
        side_partitions = 1  # one partition keeps every replica's labels in one order
        ensure_topics(
            access,
            {s.events_topic: s.topic_partitions, s.review_topic: side_partitions, s.labels_topic: side_partitions,
             s.deadletter_topic: s.topic_partitions,
             **({s.predictions_topic: s.topic_partitions} if s.publish_predictions else {})},
            create=s.create_topics,
        )
        outputs = open_outputs(access, max_output_bytes=s.max_output_bytes)
        opened.append(outputs)

        def publish_review(event_id: str, msg: dict[str, Any]) -> None:
            outputs.send(s.review_topic, event_id.encode(), fit(msg, s.max_output_bytes))

        pool = ReviewPool(learner, self.review, publish_review, expire=s.review_expire_seconds, wall_clock=self.clock)
        keys = KeyMetrics(self.metrics.registry, overflowed=learner.overflowed) if isinstance(learner, KeyedLearner) \
            else None
        event_handler = EventHandler(s, learner, outputs, self.metrics, clock=self.clock, crashes=self.crashes,
                                     on_query=pool.asked, keys=keys)
        side = open_topic_reader(access, [s.review_topic, s.labels_topic], side_handler.positions,
                                 max_message_bytes=s.max_output_bytes)
        opened.append(side)
        self._catch_up(side, side_handler, learner)
        events = open_events_consumer(access, s.group_id, session_timeout_ms=s.session_timeout_ms,
                                      max_message_bytes=s.max_event_bytes,
                                      group_instance_id=s.group_instance_id or None)
        opened.append(events)
        running = RunningService(s, self.metrics, self.health, self.review, self.store, learner=learner,
                                 router=router, side_handler=side_handler, event_handler=event_handler, pool=pool,
                                 outputs=outputs, events=events, side=side, crashes=self.crashes, clock=self.clock)
        running.join()
        return running

    def _restore(self) -> SavedState | None:
        """The checkpoint's state, reconfigured to the settings; ``None`` when there is none (or ``--reset-model``)."""
        wanted = self.settings.learner_config()
        if self.reset_model:
            moved = self.store.move_aside()
            if moved is not None:
                logger.warning("--reset-model: the old checkpoint is kept as %s; the review and labels topics "
                               "are read again from their beginning", moved)
            return None
        header = self.store.read_header()
        if header is None:
            return None
        saved_config = LearnerConfig.from_dict(header.get("learner", {}))
        for name, (old, new) in saved_config.shaping_changes(wanted).items():
            if name == "model" and old == wanted.challenger:
                raise IncompatibleState(
                    f"STREAMAL_MODEL: the model was promoted: the checkpoint in {self.store.directory} serves {old!r} "
                    f"with {saved_config.challenger!r} as the challenger; set STREAMAL_MODEL={old} and "
                    f"STREAMAL_CHALLENGER_MODEL={saved_config.challenger} (or start afresh with --reset-model)")
            raise IncompatibleState(
                f"STREAMAL_{name.upper()}: the checkpoint in {self.store.directory} was made with {name} {old!r}, "
                f"the settings say {new!r}; to change it, start afresh with `streamal run --reset-model` "
                "(the labels topic is learned again)")
        state = self.store.load()
        if state is None:  # removed between the header and the state: start afresh
            return None
        saved = SavedState.from_dict(state, self.store.path)
        saved.learner.reconfigure(wanted)
        self.review.restore(saved.review)
        self.metrics.resumed(saved.learner.stats())
        changed = {k: v for k, v in saved_config.changes(wanted).items() if k != "seed"}
        if changed:
            logger.info("settings changed since the checkpoint, now in force: %s",
                        ", ".join(f"{k} {old!r} -> {new!r}" for k, (old, new) in changed.items()))
        logger.info("resumed from checkpoint model_version=%d backlog=%d saved_at=%s", saved.learner.model_version,
                    saved.learner.backlog, format_ts(float(header.get("saved_at", 0.0))))
        return saved

    def _warm_start(self, learner: Learner) -> None:
        """A fresh model learns ``STREAMAL_SEED_LABELS`` first (a model from a checkpoint has it already)."""
        path = self.settings.seed_labels
        if path is None or learner.model_version > 0:
            return
        skipped: Counter[str] = Counter()
        started = time.monotonic()
        learned, refused = learner.warm(read_labelled(path, skipped=skipped))
        logger.info("warm start from %s learned=%d refused=%d skipped=%s seconds=%.1f", path, learned, refused,
                    dict(skipped), time.monotonic() - started)

    def _catch_up(self, side: TopicReader, side_handler: SideHandler, learner: Learner) -> None:
        """Read the review and labels topics to their end before taking any events."""
        self.health.set_ready(False, "reading the review and labels topics")
        started = last_line = time.monotonic()
        read = 0
        while True:
            records = side.poll(max_records=5000, timeout_ms=200)
            side_handler.handle(records)
            read += len(records)
            side_handler.tick(review_caught_up=False)
            if not records and side.caught_up():
                break
            if time.monotonic() - last_line >= SLOW_EVERY:
                logger.info("reading the review and labels topics records=%d", read)
                last_line = time.monotonic()
        logger.info("read the review and labels topics records=%d seconds=%.1f model_version=%d",
                    read, time.monotonic() - started, learner.model_version)
