"""``streamal oracle``: a stand-in analyst that answers review items from known ground truth.

It reads the review topic (its own consumer group, so a restart goes on where
it stopped), waits ``delay`` seconds per item (labels are late in real life),
and publishes the true label to the labels topic. ``error_rate`` makes it
answer wrongly now and then, as people do.
"""

from __future__ import annotations

import heapq
import logging
import random
import threading
import time
from collections.abc import Mapping
from pathlib import Path

import orjson

from streamal.errors import DataError
from streamal.service.kafka import ensure_topics, make_consumer, make_producer
from streamal.wire.messages import encode, format_ts

__all__ = ["Oracle", "TruthFile"]

logger = logging.getLogger(__name__)


class TruthFile(Mapping[str, str]):
    """Ground truth from a JSONL file of ``{"event_id", "label"}`` lines, read as it grows."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._truth: dict[str, str] = {}
        self._offset = 0
        self._refresh()

    def _refresh(self) -> None:
        try:
            with self.path.open("rb") as fh:
                fh.seek(self._offset)
                for line in fh:
                    if not line.endswith(b"\n"):
                        break  # a line still being written
                    self._offset += len(line)
                    try:
                        obj = orjson.loads(line)
                        self._truth[str(obj["event_id"])] = str(obj["label"])
                    except (orjson.JSONDecodeError, KeyError, TypeError):
                        logger.warning("skipping bad truth line in %s", self.path)
        except FileNotFoundError as exc:
            raise DataError(f"ground-truth file {self.path} not found") from exc

    def __getitem__(self, key: str) -> str:
        if key not in self._truth:
            self._refresh()
        return self._truth[key]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._truth)

    def __len__(self) -> int:
        return len(self._truth)


class Oracle:
    """Answers review items with ``truth[event_id]`` after ``delay`` seconds."""

    def __init__(
        self,
        truth: Mapping[str, str],
        bootstrap: str,
        *,
        review_topic: str = "streamal.review",
        labels_topic: str = "streamal.labels",
        delay: float = 0.0,
        error_rate: float = 0.0,
        annotator: str = "oracle",
        group_id: str = "streamal-oracle",
        seed: int = 7,
    ) -> None:
        self.truth = truth
        self.bootstrap = bootstrap
        self.review_topic = review_topic
        self.labels_topic = labels_topic
        self.delay = delay
        self.error_rate = error_rate
        self.annotator = annotator
        self.group_id = group_id
        self.answered = 0
        self.missing = 0
        self._rng = random.Random(seed)

    def run(self, stop: threading.Event) -> None:
        """Answer items until ``stop`` is set (items still waiting then are left)."""
        ensure_topics(self.bootstrap, [self.review_topic, self.labels_topic])
        consumer = make_consumer(self.bootstrap, group_id=self.group_id, session_timeout_ms=6000,
                                 heartbeat_interval_ms=1000)
        consumer.subscribe([self.review_topic])
        producer = make_producer(self.bootstrap)
        due: list[tuple[float, str, str | None]] = []
        classes: set[str] = set()
        try:
            while not stop.is_set():
                for records in consumer.poll(timeout_ms=100).values():
                    for record in records:
                        try:
                            item = orjson.loads(record.value)
                            event_id = str(item["event_id"])
                        except (orjson.JSONDecodeError, KeyError, TypeError):
                            continue
                        heapq.heappush(due, (time.monotonic() + self.delay, event_id, item.get("prediction")))
                now = time.monotonic()
                while due and due[0][0] <= now:
                    _, event_id, _ = heapq.heappop(due)
                    self._answer(producer, event_id, classes)
                producer.flush()
                consumer.commit()
        finally:
            producer.close()
            consumer.close(autocommit=False)

    def _answer(self, producer: object, event_id: str, classes: set[str]) -> None:
        try:
            label = self.truth[event_id]
        except KeyError:
            self.missing += 1
            logger.warning("no ground truth for event_id=%s", event_id)
            return
        classes.add(label)
        if self.error_rate and self._rng.random() < self.error_rate and len(classes) > 1:
            label = self._rng.choice(sorted(classes - {label}))
        message = {"event_id": event_id, "label": label, "annotator": self.annotator,
                   "labeled_at": format_ts(time.time())}
        producer.send(self.labels_topic, key=event_id.encode(), value=encode(message))  # type: ignore[attr-defined]
        self.answered += 1
