"""The review desk: what the review API needs from the service, handed in by the runtime.

The review store, a publisher that waits for Kafka's acknowledgement, the
topics, the tokens, the allowed labels, the clock. Nothing of FastAPI here,
so the desk can be built and tested on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from streamal.config import TokenBook
from streamal.review.store import ReviewStore

__all__ = ["Publish", "ReviewDesk"]

#: ``publish(topic, key, message)``: returns once Kafka acknowledged it; raises ``BrokerError`` if it could not.
Publish = Callable[[str, str, dict[str, Any]], None]


class ReviewDesk:
    """The store, a publisher that waits for Kafka's ack, and the review settings."""

    def __init__(self, store: ReviewStore, publish: Publish, *, labels_topic: str, review_topic: str,
                 tokens: TokenBook, allowed_labels: list[str] | None = None,
                 on_answer: Callable[[str], None] | None = None, clock: Callable[[], float] | None = None,
                 guidelines_html: str = "") -> None:
        self.store = store
        self.publish = publish
        self.labels_topic = labels_topic
        self.review_topic = review_topic
        self.tokens = tokens
        self.allowed_labels = list(allowed_labels or [])
        self.on_answer = on_answer or (lambda annotator: None)
        self.clock: Callable[[], float] = clock or store.clock
        self.guidelines_html = guidelines_html  # rendered once at start (streamal.review.guidelines)

    def classes(self) -> list[str]:
        """The classes an analyst may pick from: the configured ones in their order, else those learned, sorted."""
        return self.allowed_labels or sorted(self.store.classes)
