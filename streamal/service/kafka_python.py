"""The kafka-python clients (the default): topics, the producer, the events group consumer, the topic reader.

Nothing here knows what the messages mean; the policy (commit order,
checkpoints, dead letters) lives in :mod:`streamal.service.commits` and
:mod:`streamal.service.loop`. Client errors are wrapped as
:class:`~streamal.errors.BrokerError` with the setting to check.

Every client is opened with one :class:`~streamal.service.access.KafkaAccess`
(address, TLS, SASL) and gives up reaching the broker after its
``connect_timeout`` (kafka-python's ``bootstrap_timeout_ms``), so an
unreachable broker, an untrusted certificate or a refused password is one
clear line at start, not half a minute of retries.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.errors import KafkaError, TopicAlreadyExistsError
from kafka.structs import OffsetAndMetadata

from streamal.errors import BrokerError
from streamal.service.access import KafkaAccess, opening
from streamal.service.acks import Acks
from streamal.service.ports import OnPartitions, Partition, Record

__all__ = ["EventsConsumer", "Outputs", "TopicReader", "ensure_topics"]

logger = logging.getLogger(__name__)

#: Room for the record's key and the batch header besides a value of ``max_output_bytes``.
_REQUEST_HEADROOM = 65_536


def ensure_topics(target: KafkaAccess | str, topics: Mapping[str, int], *, create: bool = True) -> list[str]:
    """Check that ``topics`` (name -> partitions) exist; create the missing ones (or fail). Returns those created."""
    access = KafkaAccess.of(target)
    bootstrap = access.bootstrap
    logger.info("connecting to %s", access.describe())
    admin = opening(access, KafkaAdminClient, request_timeout_ms=int(access.connect_timeout * 1000))
    try:
        existing = set(admin.list_topics())
        missing = [n for n in topics if n not in existing]
        if missing and not create:
            raise BrokerError(
                f"topics missing: {', '.join(missing)}; create them or set STREAMAL_CREATE_TOPICS=true"
            )
        if missing:
            try:
                admin.create_topics([NewTopic(n, topics[n], 1) for n in missing])
            except TopicAlreadyExistsError:
                pass  # another replica was quicker
            logger.info("created topics=%s", ",".join(f"{n}:{topics[n]}" for n in missing))
        return missing
    except KafkaError as exc:
        raise BrokerError(f"cannot check or create topics on {bootstrap}: {exc}") from exc
    finally:
        admin.close()


class Outputs:
    """The producer: sends without waiting; every output numbered, :meth:`acked` says how far all are in.

    ``acks=all``; a send that fails stops the watermark (:mod:`streamal.service.acks`)
    and is raised by the next :meth:`check` or :meth:`flush`, so the offsets of
    its input are never committed.
    """

    def __init__(self, target: KafkaAccess | str, *, max_output_bytes: int = 1_000_000, **overrides: Any) -> None:
        access = KafkaAccess.of(target)
        # Large batches: kafka-python wakes its sender thread for every new or full batch, so small ones
        # cost a wake-up (a system call) every few messages while the loop scores.
        config: dict[str, Any] = dict(
            acks="all", linger_ms=5, retries=5, max_request_size=max_output_bytes + _REQUEST_HEADROOM,
            batch_size=max_output_bytes + _REQUEST_HEADROOM)
        config.update(overrides)
        self.bootstrap = access.bootstrap
        self._acks = Acks()
        self._producer = opening(access, KafkaProducer, **config)

    def send(self, topic: str, key: bytes | None, value: bytes) -> None:
        """Queue one message; a failure surfaces at the next :meth:`check` or :meth:`flush`."""
        number = self._acks.number()
        try:
            future = self._producer.send(topic, key=key, value=value)
        except KafkaError as exc:
            self._acks.settle(number, exc)
            return
        future.add_both(self._settle, number)

    def _settle(self, number: int, result: object) -> None:  # on the sender thread
        self._acks.settle(number, result if isinstance(result, Exception) else None)

    def sent(self) -> int:
        """The number of the last message queued."""
        return self._acks.sent

    def acked(self) -> int:
        """Every message numbered up to this one is acknowledged."""
        return self._acks.acked

    def check(self) -> None:
        """:class:`BrokerError` if a message could not be delivered."""
        if self._acks.error is not None:
            raise BrokerError(f"could not deliver outputs to {self.bootstrap}: {self._acks.error}")

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until every queued message is acknowledged; :class:`BrokerError` if any was not."""
        try:
            self._producer.flush(timeout=timeout)
        except KafkaError as exc:
            raise BrokerError(f"could not deliver outputs to {self.bootstrap} within {timeout:g}s: {exc}") from exc
        self.check()

    def send_acked(self, topic: str, key: bytes | None, value: bytes, timeout: float = 10.0) -> None:
        """Send one message and wait for its acknowledgement (for callers on other threads)."""
        try:
            self._producer.send(topic, key=key, value=value).get(timeout=timeout)
        except KafkaError as exc:
            raise BrokerError(str(exc)) from exc

    def close(self, timeout: float = 10.0) -> None:
        self._producer.close(timeout=timeout)




class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    """Runs on kafka-python's IO thread: only bookkeeping in memory, never a blocking call."""

    def __init__(self, on_assigned: OnPartitions, on_revoked: OnPartitions) -> None:
        self._on_assigned = on_assigned
        self._on_revoked = on_revoked

    def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        self._on_revoked({(tp.topic, tp.partition) for tp in revoked})

    def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self._on_assigned({(tp.topic, tp.partition) for tp in assigned})


class EventsConsumer:
    """The events topic, shared among the replicas through one consumer group; offsets committed by hand."""

    def __init__(self, target: KafkaAccess | str, group_id: str, *, session_timeout_ms: int = 10_000,
                 max_poll_records: int = 500, **overrides: Any) -> None:
        config: dict[str, Any] = dict(
            group_id=group_id, enable_auto_commit=False,
            auto_offset_reset="earliest", session_timeout_ms=session_timeout_ms,
            heartbeat_interval_ms=max(300, session_timeout_ms // 5), max_poll_records=max_poll_records,
            # the rebalance timeout: how long the group waits for members to rejoin
            max_poll_interval_ms=max(30_000, 3 * session_timeout_ms),
        )
        config.update(overrides)
        self.group_id = group_id
        self._consumer = opening(KafkaAccess.of(target), KafkaConsumer, **config)

    def subscribe(self, topic: str, on_assigned: OnPartitions, on_revoked: OnPartitions) -> None:
        """Join the group on ``topic``; the callbacks run inside :meth:`poll` on the client's IO thread."""
        self._consumer.subscribe([topic], listener=_Listener(on_assigned, on_revoked))

    def poll(self, timeout_ms: int = 100) -> list[Record]:
        """The next records, partition by partition in offset order."""
        batch = self._consumer.poll(timeout_ms=timeout_ms)
        return [r for records in batch.values() for r in records]

    def commit(self, offsets: Mapping[Partition, int]) -> None:
        """Commit ``offsets`` (the next offset to read, per partition); raises ``KafkaError``."""
        self._consumer.commit(offsets={TopicPartition(t, p): OffsetAndMetadata(o, None, -1)
                                       for (t, p), o in offsets.items()})

    def lag(self) -> dict[int, int]:
        """Messages not yet read, per assigned partition (from the high watermarks the fetches carry)."""
        out = {}
        for tp in self._consumer.assignment():
            high = self._consumer.highwater(tp)
            if high is None:
                continue
            try:
                out[tp.partition] = max(0, high - self._consumer.position(tp, timeout_ms=100))
            except KafkaError:
                continue
        return out

    def close(self) -> None:
        self._consumer.close(autocommit=False)


class TopicReader:
    """Every partition of some topics, read whole, with the positions kept by the caller (no group)."""

    def __init__(self, target: KafkaAccess | str, topics: Iterable[str], positions: Mapping[str, int],
                 **overrides: Any) -> None:
        config: dict[str, Any] = dict(group_id=None, enable_auto_commit=False, auto_offset_reset="earliest")
        config.update(overrides)
        self._consumer = opening(KafkaAccess.of(target), KafkaConsumer, **config)
        parts: list[TopicPartition] = []
        for topic in topics:
            found = self._consumer.partitions_for_topic(topic)
            if not found:
                raise BrokerError(f"topic {topic!r} has no partitions (does it exist?)")
            parts.extend(TopicPartition(topic, p) for p in sorted(found))
        self._consumer.assign(parts)
        for tp in parts:
            pos = positions.get(f"{tp.topic}:{tp.partition}")
            if pos is None:
                self._consumer.seek_to_beginning(tp)
            else:
                self._consumer.seek(tp, pos)
        self._parts = parts

    def poll(self, max_records: int = 2000, timeout_ms: int = 0) -> list[Record]:
        """The next records (possibly none), each partition in offset order."""
        batch = self._consumer.poll(timeout_ms=timeout_ms, max_records=max_records)
        return [r for records in batch.values() for r in records]

    def caught_up(self, topic: str | None = None) -> bool:
        """Whether every partition (of ``topic``) has been read to the high watermark last seen."""
        for tp in self._parts:
            if topic is not None and tp.topic != topic:
                continue
            high = self._consumer.highwater(tp)
            if high is None or self._consumer.position(tp) < high:
                return False
        return True

    def close(self) -> None:
        self._consumer.close(autocommit=False)
