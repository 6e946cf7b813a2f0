"""``streamal replay``: publish a labelled stream to the events topic, as events.

The labels are kept back (an analyst or the oracle supplies them) unless
``with_labels`` is set; a ``truth`` callback (e.g. a JSONL file the oracle
reads) gets each event's ground truth.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any

import orjson
from tqdm import tqdm

from streamal.service.access import KafkaAccess
from streamal.service.kafka import ensure_topics, open_outputs
from streamal.wire.messages import encode, format_ts

__all__ = ["TruthWriter", "replay"]

logger = logging.getLogger(__name__)


class TruthWriter:
    """Appends ``{"event_id", "label"}`` lines to a JSONL file, flushed as it goes."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._fh: IO[bytes] = self.path.open("ab")
        self._since_flush = 0

    def __call__(self, event_id: str, label: str) -> None:
        self._fh.write(orjson.dumps({"event_id": event_id, "label": label}) + b"\n")
        self._since_flush += 1
        if self._since_flush >= 100:
            self.flush()

    def flush(self) -> None:
        """Make what was written visible to readers."""
        self._fh.flush()
        self._since_flush = 0

    def close(self) -> None:
        """Flush and close the file."""
        self._fh.close()


def replay(
    pairs: Iterable[tuple[dict[str, Any], str]],
    kafka: KafkaAccess | str,
    topic: str,
    *,
    total: int | None = None,
    rate: float | None = None,
    with_labels: bool = False,
    truth: Callable[[str, str], None] | None = None,
    id_prefix: str = "evt",
    progress: bool = True,
    stop: threading.Event | None = None,
    create_topic: bool = True,
) -> int:
    """Publish ``pairs`` as events; returns how many were sent.

    ``rate`` caps events per second (``None``: as fast as the broker takes them).
    """
    ensure_topics(kafka, {topic: 1}, create=create_topic)
    producer = open_outputs(kafka)
    started = time.monotonic()
    sent = 0
    bar = tqdm(total=total, unit="ev", desc=f"replay → {topic}", disable=not progress, mininterval=0.5)
    try:
        for x, y in pairs:
            if stop is not None and stop.is_set():
                break
            event_id = f"{id_prefix}-{sent}"
            event: dict[str, Any] = {"id": event_id, "features": x, "ts": format_ts(time.time())}
            if with_labels:
                event["label"] = y
            if truth is not None:
                truth(event_id, y)
            producer.send(topic, event_id.encode(), encode(event))
            sent += 1
            bar.update(1)
            if rate:
                ahead = sent / rate - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)
        producer.flush()
    finally:
        bar.close()
        producer.close()
        if isinstance(truth, TruthWriter):
            truth.flush()
    logger.info("replayed events=%d topic=%s seconds=%.1f", sent, topic, time.monotonic() - started)
    return sent
