"""The Kafka clients streamal opens, from the client ``STREAMAL_KAFKA_CLIENT`` names.

``kafka-python`` (pure Python, the default) or ``confluent`` (librdkafka, the
``fast`` extra): both fill the protocols of :mod:`streamal.service.ports`, take
the same :class:`~streamal.service.access.KafkaAccess` (address, TLS, SASL)
and fail with the same one-line :class:`~streamal.errors.BrokerError`.
Settings given as keywords use kafka-python's names; the librdkafka client
translates those it knows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from streamal.service.access import KafkaAccess
from streamal.service.ports import EventsConsumer, OnPartitions, Outputs, Partition, Record, TopicReader

__all__ = [
    "EventsConsumer", "OnPartitions", "Outputs", "Partition", "Record", "TopicReader", "ensure_topics",
    "open_events_consumer", "open_outputs", "open_topic_reader",
]


def _client(access: KafkaAccess) -> Any:
    if access.client == "confluent":
        from streamal.service import confluent

        return confluent
    from streamal.service import kafka_python

    return kafka_python


def ensure_topics(target: KafkaAccess | str, topics: Mapping[str, int], *, create: bool = True) -> list[str]:
    """Check that ``topics`` (name -> partitions) exist; create the missing ones (or fail). Returns those created."""
    access = KafkaAccess.of(target)
    created: list[str] = _client(access).ensure_topics(access, topics, create=create)
    return created


def open_outputs(target: KafkaAccess | str, *, max_output_bytes: int = 1_000_000, **overrides: Any) -> Outputs:
    """The producer (``acks=all``), sized for messages up to ``max_output_bytes``."""
    access = KafkaAccess.of(target)
    out: Outputs = _client(access).Outputs(access, max_output_bytes=max_output_bytes, **overrides)
    return out


def open_events_consumer(target: KafkaAccess | str, group_id: str, *, session_timeout_ms: int = 10_000,
                         max_poll_records: int = 500, **overrides: Any) -> EventsConsumer:
    """A member of consumer group ``group_id``, offsets committed by hand."""
    access = KafkaAccess.of(target)
    consumer: EventsConsumer = _client(access).EventsConsumer(
        access, group_id, session_timeout_ms=session_timeout_ms, max_poll_records=max_poll_records, **overrides)
    return consumer


def open_topic_reader(target: KafkaAccess | str, topics: Iterable[str], positions: Mapping[str, int],
                      **overrides: Any) -> TopicReader:
    """Every partition of ``topics`` from ``positions`` (``"topic:partition"`` -> next offset; else the start)."""
    access = KafkaAccess.of(target)
    reader: TopicReader = _client(access).TopicReader(access, topics, positions, **overrides)
    return reader
