"""What the service needs from a Kafka client, as protocols: two clients (kafka-python, librdkafka) fill them.

The loop, the tools and the commit policy speak only to these; the client
chosen by ``STREAMAL_KAFKA_CLIENT`` is opened by :mod:`streamal.service.kafka`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from streamal.service.access import KafkaAccess

__all__ = ["EventsConsumer", "KafkaClient", "OnPartitions", "Outputs", "Partition", "Record", "TopicReader"]

#: ``(topic, partition)``.
Partition = tuple[str, int]
#: Called with the partitions assigned or revoked (inside ``poll``; bookkeeping only, never a blocking call).
OnPartitions = Callable[[set[Partition]], None]


class Record(Protocol):
    """One message read from a topic (what every client's records have in common)."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...


class Outputs(Protocol):
    """The producer: sends without waiting, numbering each message (:mod:`streamal.service.acks`).

    :meth:`acked` is the watermark: every message numbered up to it is
    acknowledged; :meth:`check` and :meth:`flush` raise ``BrokerError`` once a
    message could not be delivered.
    """

    bootstrap: str

    def send(self, topic: str, key: bytes | None, value: bytes) -> None: ...
    def sent(self) -> int: ...
    def acked(self) -> int: ...
    def check(self) -> None: ...
    def flush(self, timeout: float = 30.0) -> None: ...
    def send_acked(self, topic: str, key: bytes | None, value: bytes, timeout: float = 10.0) -> None: ...
    def close(self, timeout: float = 10.0) -> None: ...


class EventsConsumer(Protocol):
    """The events topic, shared among the replicas through one consumer group; offsets committed by hand."""

    group_id: str

    def subscribe(self, topic: str, on_assigned: OnPartitions, on_revoked: OnPartitions) -> None: ...
    def poll(self, timeout_ms: int = 100) -> list[Record]: ...
    def commit(self, offsets: Mapping[Partition, int]) -> None: ...
    def lag(self) -> dict[int, int]: ...
    def close(self) -> None: ...


class TopicReader(Protocol):
    """Every partition of some topics, read whole, with the positions kept by the caller (no group)."""

    def poll(self, max_records: int = 2000, timeout_ms: int = 0) -> list[Record]: ...
    def caught_up(self, topic: str | None = None) -> bool: ...
    def close(self) -> None: ...


class _EnsureTopics(Protocol):
    def __call__(self, access: KafkaAccess, topics: Mapping[str, int], *, create: bool = True) -> list[str]: ...


class _OpenOutputs(Protocol):
    def __call__(self, access: KafkaAccess, *, max_output_bytes: int = ...) -> Outputs: ...


class _OpenEventsConsumer(Protocol):
    def __call__(self, access: KafkaAccess, group_id: str, *, session_timeout_ms: int = ...,
                 max_message_bytes: int = ..., group_instance_id: str | None = None) -> EventsConsumer: ...


class _OpenTopicReader(Protocol):
    def __call__(self, access: KafkaAccess, topics: Iterable[str], positions: Mapping[str, int], *,
                 max_message_bytes: int = ...) -> TopicReader: ...


@dataclass(frozen=True)
class KafkaClient:
    """One Kafka client library behind the protocols above (:mod:`streamal.service.kafka` picks one).

    Each adapter module names its own parts here. It owns its configuration
    (it translates the :class:`~streamal.service.access.KafkaAccess` and
    chooses its own fetch and batch sizes from the message sizes given) and
    its error explanations (through :mod:`streamal.service.failures`).
    """

    name: str
    ensure_topics: _EnsureTopics
    outputs: _OpenOutputs
    events_consumer: _OpenEventsConsumer
    topic_reader: _OpenTopicReader
