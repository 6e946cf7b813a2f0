"""Thin wrappers over kafka-python: topics, the producer and the two consumers.

Nothing here knows what the messages mean; the policy (commit order,
checkpoints, dead letters) lives in :mod:`streamal.service.loop`. Client errors are
wrapped as :class:`~streamal.errors.BrokerError` with the setting to check.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from streamal.errors import BrokerError

__all__ = ["all_partitions", "ensure_topics", "make_consumer", "make_producer"]

logger = logging.getLogger(__name__)


def _unreachable(bootstrap: str, exc: Exception) -> BrokerError:
    return BrokerError(
        f"cannot reach Kafka at {bootstrap!r} (STREAMAL_KAFKA_BOOTSTRAP): {type(exc).__name__}: {exc}"
    )


def ensure_topics(bootstrap: str, names: Iterable[str], *, partitions: int = 1, create: bool = True) -> list[str]:
    """Check that ``names`` exist; create the missing ones (or fail). Returns those created."""
    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="streamal-admin")
    except KafkaError as exc:
        raise _unreachable(bootstrap, exc) from exc
    try:
        existing = set(admin.list_topics())
        missing = [n for n in names if n not in existing]
        if missing and not create:
            raise BrokerError(
                f"topics missing: {', '.join(missing)}; create them or set STREAMAL_CREATE_TOPICS=true"
            )
        if missing:
            try:
                admin.create_topics([NewTopic(n, partitions, 1) for n in missing])
            except TopicAlreadyExistsError:
                pass  # another replica was quicker
            logger.info("created topics=%s partitions=%d", ",".join(missing), partitions)
        return missing
    except KafkaError as exc:
        raise BrokerError(f"cannot check or create topics on {bootstrap!r}: {exc}") from exc
    finally:
        admin.close()


def make_producer(bootstrap: str, **overrides: Any) -> KafkaProducer:
    """A producer that waits for every replica (``acks=all``) and batches for 5 ms."""
    config: dict[str, Any] = dict(
        bootstrap_servers=bootstrap,
        client_id="streamal",
        acks="all",
        linger_ms=5,
        retries=5,
    )
    config.update(overrides)
    try:
        return KafkaProducer(**config)
    except KafkaError as exc:
        raise _unreachable(bootstrap, exc) from exc


def make_consumer(bootstrap: str, *, group_id: str | None = None, **overrides: Any) -> KafkaConsumer:
    """A consumer with manual commits, reading from the earliest offset when it has none."""
    config: dict[str, Any] = dict(
        bootstrap_servers=bootstrap,
        client_id="streamal",
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    config.update(overrides)
    try:
        return KafkaConsumer(**config)
    except KafkaError as exc:
        raise _unreachable(bootstrap, exc) from exc


def all_partitions(consumer: KafkaConsumer, topics: Iterable[str]) -> list[TopicPartition]:
    """Every partition of ``topics`` (for consumers that read a topic whole)."""
    out = []
    for topic in topics:
        parts = consumer.partitions_for_topic(topic)
        if not parts:
            raise BrokerError(f"topic {topic!r} has no partitions (does it exist?)")
        out.extend(TopicPartition(topic, p) for p in sorted(parts))
    return out
