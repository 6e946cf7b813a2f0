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

from streamal.config import default
from streamal.errors import DataError
from streamal.service.access import KafkaAccess
from streamal.service.kafka import ensure_topics, open_events_consumer, open_outputs
from streamal.service.ports import Outputs, Partition
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
        kafka: KafkaAccess | str,
        *,
        review_topic: str = default("review_topic"),
        labels_topic: str = default("labels_topic"),
        delay: float = 0.0,
        error_rate: float = 0.0,
        annotator: str = "oracle",
        group_id: str = "streamal-oracle",
        seed: int = 7,
    ) -> None:
        self.truth = truth
        self.kafka = KafkaAccess.of(kafka)
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
        """Answer items until ``stop`` is set.

        An item's review offset is committed only once it is answered, so the
        items still waiting out their delay at a stop are read and answered
        again after a restart.
        """
        ensure_topics(self.kafka, {self.review_topic: 1, self.labels_topic: 1})
        consumer = open_events_consumer(self.kafka, self.group_id, session_timeout_ms=6000)
        consumer.subscribe(self.review_topic, on_assigned=lambda parts: None, on_revoked=lambda parts: None)
        producer = open_outputs(self.kafka)
        due: list[tuple[float, int, str, Partition]] = []
        waiting: dict[Partition, list[int]] = {}  # offsets read, not answered yet, per partition
        read_to: dict[Partition, int] = {}
        committed: dict[Partition, int] = {}
        classes: set[str] = set()
        try:
            while not stop.is_set():
                for record in consumer.poll(timeout_ms=100):
                    part = (record.topic, record.partition)
                    read_to[part] = record.offset + 1
                    try:
                        item = orjson.loads(record.value or b"")
                        event_id = str(item["event_id"])
                    except (orjson.JSONDecodeError, KeyError, TypeError):
                        continue
                    if item.get("status") == "dropped":
                        continue
                    heapq.heappush(due, (time.monotonic() + self.delay, record.offset, event_id, part))
                    waiting.setdefault(part, []).append(record.offset)
                now = time.monotonic()
                answered = False
                while due and due[0][0] <= now:
                    _, offset, event_id, part = heapq.heappop(due)
                    self._answer(producer, event_id, classes)
                    waiting[part].remove(offset)
                    answered = True
                if answered:
                    producer.flush()
                done = {p: min(waiting.get(p) or [end]) for p, end in read_to.items()}
                done = {p: o for p, o in done.items() if committed.get(p) != o}
                if done:
                    consumer.commit(done)
                    committed.update(done)
        finally:
            producer.close()
            consumer.close()

    def _answer(self, producer: Outputs, event_id: str, classes: set[str]) -> None:
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
        producer.send(self.labels_topic, event_id.encode(), encode(message))
        self.answered += 1
