"""Records of the side topics (review and labels): parsed, routed, counted, their positions kept.

Every replica reads both topics whole. Each record is handled inside its own
error boundary: a record that cannot be used is counted ``invalid`` (review
items in ``streamal_review_items_total``, labels in ``streamal_labels_total``)
and skipped, so no record can stop the loop. Where each usable record goes is
:class:`~streamal.service.routing.LabelRouter`'s business.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping

from streamal.config import Settings
from streamal.core.learner import LearnResult
from streamal.core.pending import PendingItem
from streamal.errors import InvalidLabel, InvalidReviewItem
from streamal.service.logs import Throttled
from streamal.service.metrics import Metrics
from streamal.service.ports import Record
from streamal.service.routing import LabelRouter
from streamal.wire.labels import parse_label_message
from streamal.wire.review import Dropped, Withdrawn, parse_review_message

__all__ = ["SideHandler"]

logger = logging.getLogger(__name__)


class SideHandler:
    """Handles review and label records and keeps the position read to in each of their partitions."""

    def __init__(self, settings: Settings, router: LabelRouter, metrics: Metrics,
                 positions: Mapping[str, int] | None = None, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.router = router
        self.metrics = metrics
        self.clock = clock
        self.positions: dict[str, int] = dict(positions or {})
        self._log = Throttled(logger)

    def handle(self, records: list[Record]) -> None:
        """Handle a batch; review items first, so a label in the same batch finds its item."""
        review_topic = self.settings.review_topic
        for record in sorted(records, key=lambda r: r.topic != review_topic):
            try:
                if record.topic == review_topic:
                    self._review(record)
                else:
                    self._label(record)
            except Exception as exc:
                logger.exception("unexpected error on topic=%s offset=%d", record.topic, record.offset)
                self._invalid(record, f"{type(exc).__name__}: {exc}")
            self.positions[f"{record.topic}:{record.partition}"] = record.offset + 1

    def tick(self, *, review_caught_up: bool) -> None:
        """Retry waiting labels and learn agreed answers (see :meth:`LabelRouter.tick`)."""
        self._count(self.router.tick(self.clock(), review_caught_up=review_caught_up))

    def _limit(self) -> int:
        return max(self.settings.max_event_bytes, self.settings.max_output_bytes)

    def _invalid(self, record: Record, error: str) -> None:
        if record.topic == self.settings.review_topic:
            self.metrics.review_items.labels(outcome="invalid").inc()
        else:
            self.metrics.labels.labels(outcome="invalid").inc()
        self._log.warning(f"invalid:{record.topic}", "skipped topic=%s partition=%d offset=%d error=%s",
                          record.topic, record.partition, record.offset, error[:300])

    def _review(self, record: Record) -> None:
        try:
            msg = parse_review_message(record.value or b"", max_bytes=self._limit(),
                                       max_features=self.settings.max_features)
        except InvalidReviewItem as exc:
            self._invalid(record, str(exc))
            return
        match msg:
            case Dropped(event_id=event_id):
                self.router.drop(event_id)
                self.metrics.review_items.labels(outcome="dropped").inc()
            case Withdrawn(event_id=event_id, why=why):
                self.router.withdrawn(event_id, why)
            case PendingItem():
                added = self.router.add_item(msg)
                self.metrics.review_items.labels(outcome="added" if added else "known").inc()

    def _label(self, record: Record) -> None:
        try:
            msg = parse_label_message(record.value or b"", max_bytes=self._limit(),
                                      max_features=self.settings.max_features)
        except InvalidLabel as exc:
            self._invalid(record, str(exc))
            return
        self._count(self.router.label(msg, now=self.clock()))

    def _count(self, results: list[LearnResult]) -> None:
        m = self.metrics
        for result in results:
            if result.outcome == "unknown":
                self._log.warning("unknown", "label for an event never queried (or forgotten)")
            elif result.outcome == "invalid":
                self._log.warning("invalid-label", "label not learned error=%s", result.error)
            m.labels.labels(outcome=result.outcome).inc()
            if result.delay is not None:
                m.label_delay.observe(result.delay)
            m.count_alarms(result.alarms, self.router.learner.model_version, self.clock())
        learner = self.router.learner
        while learner.new_classes:
            name = learner.new_classes.pop(0)
            m.new_class_at.set(self.clock())
            logger.warning("new class learned class=%r classes=%d model_version=%d: an analyst named a class never "
                           "seen; its look-alikes are asked about for a while (reason novelty)",
                           name, len(learner.classes), learner.model_version)
