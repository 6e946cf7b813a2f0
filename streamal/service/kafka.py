"""The Kafka clients streamal opens, from the client ``STREAMAL_KAFKA_CLIENT`` names.

``kafka-python`` (pure Python, the default) or ``confluent`` (librdkafka, the
``fast`` extra): each is an adapter (:data:`streamal.service.kafka_python.CLIENT`,
:data:`streamal.service.confluent.CLIENT`) that fills the protocols of
:mod:`streamal.service.ports`, turns the same
:class:`~streamal.service.access.KafkaAccess` (address, TLS, SASL) into its own
configuration, picks its own fetch and batch sizes from the message sizes
given, and fails with the same one-line :class:`~streamal.errors.BrokerError`
(:mod:`streamal.service.failures`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from streamal.service.access import KafkaAccess
from streamal.service.ports import EventsConsumer, KafkaClient, Outputs, TopicReader

__all__ = ["ensure_topics", "open_events_consumer", "open_outputs", "open_topic_reader"]


def _client(access: KafkaAccess) -> KafkaClient:
    """The adapter of the client ``access`` names (confluent-kafka is imported only when it is chosen)."""
    if access.client == "confluent":
        from streamal.service.confluent import CLIENT

        return CLIENT
    from streamal.service.kafka_python import CLIENT as KAFKA_PYTHON

    return KAFKA_PYTHON


def ensure_topics(target: KafkaAccess | str, topics: Mapping[str, int], *, create: bool = True) -> list[str]:
    """Check that ``topics`` (name -> partitions) exist; create the missing ones (or fail). Returns those created."""
    access = KafkaAccess.of(target)
    return _client(access).ensure_topics(access, topics, create=create)


def open_outputs(target: KafkaAccess | str, *, max_output_bytes: int = 1_000_000) -> Outputs:
    """The producer (``acks=all``), sized for messages up to ``max_output_bytes``."""
    access = KafkaAccess.of(target)
    return _client(access).outputs(access, max_output_bytes=max_output_bytes)


def open_events_consumer(target: KafkaAccess | str, group_id: str, *, session_timeout_ms: int = 10_000,
                         max_message_bytes: int = 1_048_576, group_instance_id: str | None = None) -> EventsConsumer:
    """A member of consumer group ``group_id``, offsets committed by hand, for messages up to ``max_message_bytes``.

    With ``group_instance_id``, a static member: a restart within the session timeout takes its partitions back.
    """
    access = KafkaAccess.of(target)
    return _client(access).events_consumer(access, group_id, session_timeout_ms=session_timeout_ms,
                                           max_message_bytes=max_message_bytes, group_instance_id=group_instance_id)


def open_topic_reader(target: KafkaAccess | str, topics: Iterable[str], positions: Mapping[str, int], *,
                      max_message_bytes: int = 1_048_576) -> TopicReader:
    """Every partition of ``topics`` from ``positions`` (``"topic:partition"`` -> next offset; else the start)."""
    access = KafkaAccess.of(target)
    return _client(access).topic_reader(access, topics, positions, max_message_bytes=max_message_bytes)
