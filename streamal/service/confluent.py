"""The librdkafka clients (confluent-kafka, the ``fast`` extra): the same four parts as kafka-python's.

librdkafka fetches, decompresses, checks and batches in its own C threads, so
the Python loop pays only for handing records in and out: several times the
throughput of the pure-Python client. Chosen by ``STREAMAL_KAFKA_CLIENT=confluent``.

librdkafka connects lazily and retries for ever; each client here asks for
the cluster's metadata within the connect timeout before it is handed out,
so an unreachable broker, an untrusted certificate or a refused password
fails at start with the same one line as with kafka-python (the last error
librdkafka reported, explained). Its own log lines go to the ``kafka``
logger, shown only at ``DEBUG``.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from functools import partial
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from streamal.errors import BrokerError
from streamal.service.access import KafkaAccess
from streamal.service.acks import Acks
from streamal.service.failures import Failure, explain
from streamal.service.ports import KafkaClient, OnPartitions, Partition, Record

__all__ = ["CLIENT", "EventsConsumer", "Outputs", "TopicReader", "ensure_topics"]

logger = logging.getLogger(__name__)
_LIBRDKAFKA_LOG = logging.getLogger("kafka.librdkafka")

#: Room for the record's key and the batch header besides a value of ``max_output_bytes``.
_REQUEST_HEADROOM = 65_536
#: What each consumer may prefetch: librdkafka's default is 64 MB, which a backlog fills and memory keeps.
_PREFETCH_KBYTES = 16_384
#: Records one poll of the events consumer returns: a backlog is read in few round trips.
_MAX_POLL_RECORDS = 2000
#: What one fetch of the events consumer brings per partition, at least (a few MB: few round trips).
_EVENTS_FETCH_BYTES = 8_388_608
#: What one fetch of the side-topic reader brings, at least, in all and per partition.
_SIDE_FETCH_BYTES, _SIDE_PARTITION_FETCH_BYTES = 52_428_800, 1_048_576


class _Errors:
    """librdkafka's error callback: keeps the last error, to say why a connection failed."""

    def __init__(self) -> None:
        self.last: KafkaError | None = None

    def __call__(self, err: KafkaError) -> None:
        # "all brokers are down" is the symptom; keep the cause (a refused login, a failed handshake)
        if err.code() != KafkaError._ALL_BROKERS_DOWN or self.last is None:
            self.last = err
        _LIBRDKAFKA_LOG.debug("librdkafka error: %s", err)


def _config(access: KafkaAccess, errors: _Errors) -> dict[str, Any]:
    """The librdkafka settings ``access`` stands for, with the error callback.

    >>> access = KafkaAccess("k:9093", security_protocol="SASL_SSL", sasl_username="u", sasl_password="p")
    >>> sorted(k for k in _config(access, _Errors()) if k.startswith("sasl"))
    ['sasl.mechanism', 'sasl.password', 'sasl.username']
    """
    out: dict[str, Any] = {"bootstrap.servers": access.bootstrap, "client.id": "streamal",
                           "security.protocol": access.security_protocol.lower(),
                           "socket.connection.setup.timeout.ms": int(access.connect_timeout * 1000),
                           "error_cb": errors, "logger": _LIBRDKAFKA_LOG}
    if access.tls:
        out["ssl.endpoint.identification.algorithm"] = "https" if access.ssl_check_hostname else "none"
        for key, value in (("ssl.ca.location", access.ssl_cafile), ("ssl.certificate.location", access.ssl_certfile),
                           ("ssl.key.location", access.ssl_keyfile), ("ssl.key.password", access.ssl_key_password)):
            if value:
                out[key] = value
    if access.sasl:
        out.update({"sasl.mechanism": access.sasl_mechanism, "sasl.username": access.sasl_username,
                    "sasl.password": access.sasl_password})
    return out


def _fetching(fetch_max_bytes: int, max_partition_fetch_bytes: int) -> dict[str, Any]:
    # librdkafka wants room for a whole fetch response in one receive
    return {"fetch.max.bytes": fetch_max_bytes, "max.partition.fetch.bytes": max_partition_fetch_bytes,
            "receive.message.max.bytes": max(100_000_000, fetch_max_bytes + 1_048_576)}


def _explain(access: KafkaAccess, code: str, text: str) -> str:
    """What a librdkafka error (its code name and text) means under ``access``'s settings."""
    text = re.sub(r"^\w+://\S+?/\S+: | \(after \d+ms in state \w+\)$", "", text)  # where and when: known
    if "mechanism handshake failed" in text:
        return explain(Failure.SASL_HANGUP, access, text)
    if code == "_AUTHENTICATION" or "SASL" in text:
        return explain(Failure.SASL_REFUSED, access, text)
    if access.tls and code in ("_ALL_BROKERS_DOWN", "_TRANSPORT"):  # the TLS probe got through first
        return explain(Failure.TLS_HANGUP, access, text)
    if code == "_SSL" or "SSL" in text:
        if "certificate verify failed" in text:
            return explain(Failure.UNTRUSTED_CERTIFICATE, access, text)
        return explain(Failure.TLS_HANDSHAKE, access, text)
    return explain(Failure.UNREACHABLE, access, text)


def _reachable(access: KafkaAccess, client: Any, errors: _Errors) -> Any:
    """The cluster's metadata within the connect timeout, or :class:`BrokerError` saying why not."""
    if access.tls:
        access.probe_tls()
    try:
        return client.list_topics(timeout=access.connect_timeout)
    except KafkaException as exc:
        client.poll(0.5)  # serves the error callback, which holds the cause
        err = errors.last or exc.args[0]
        raise BrokerError(f"cannot reach Kafka at {access.describe()} within {access.connect_timeout:g}s: "
                          f"{_explain(access, err.name(), err.str())}") from exc


def ensure_topics(access: KafkaAccess, topics: Mapping[str, int], *, create: bool = True) -> list[str]:
    """Check that ``topics`` (name -> partitions) exist; create the missing ones (or fail). Returns those created."""
    logger.info("connecting to %s", access.describe())
    errors = _Errors()
    admin = AdminClient(_config(access, errors))
    existing = set(_reachable(access, admin, errors).topics)
    missing = [n for n in topics if n not in existing]
    if missing and not create:
        raise BrokerError(f"topics missing: {', '.join(missing)}; create them or set STREAMAL_CREATE_TOPICS=true")
    if not missing:
        return []
    futures = admin.create_topics([NewTopic(n, topics[n], 1) for n in missing],
                                  operation_timeout=access.connect_timeout)
    for name, future in futures.items():
        try:
            future.result(timeout=access.connect_timeout)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:  # else another replica was quicker
                raise BrokerError(f"cannot create topic {name!r} on {access.bootstrap}: {exc.args[0].str()}") from exc
    logger.info("created topics=%s", ",".join(f"{n}:{topics[n]}" for n in missing))
    return missing


class _Record:
    """A consumed message with the attributes of :class:`~streamal.service.ports.Record`."""

    __slots__ = ("key", "offset", "partition", "topic", "value")

    def __init__(self, topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None) -> None:
        self.topic, self.partition, self.offset, self.key, self.value = topic, partition, offset, key, value


def _batch(consumer: Any, max_records: int, timeout: float) -> list[Any]:
    """What is ready now, up to ``max_records``; else the first message within ``timeout``.

    ``consume(n, timeout)`` waits until it has ``n`` messages or the time is
    up, so at a low rate every record would wait out the whole timeout; this
    waits only for the first, then takes what is already fetched.
    """
    messages: list[Any] = consumer.consume(max_records, 0)
    if messages or timeout <= 0:
        return messages
    first = consumer.poll(timeout)
    if first is None:
        return []
    return [first, *consumer.consume(max_records - 1, 0)] if max_records > 1 else [first]


def _records(messages: list[Any]) -> list[Record]:
    out: list[Record] = []
    for m in messages:
        err = m.error()
        if err is not None:
            if err.fatal():
                raise BrokerError(f"the Kafka consumer failed: {err.str()}")
            if err.code() != KafkaError._PARTITION_EOF:
                logger.debug("consumer error: %s", err.str())
            continue
        out.append(_Record(m.topic(), m.partition(), m.offset(), m.key(), m.value()))
    return out


class Outputs:
    """The producer: ``acks=all``, Java's partitioner (murmur2), delivery failures raised by :meth:`flush`."""

    def __init__(self, access: KafkaAccess, *, max_output_bytes: int = 1_000_000) -> None:
        self.bootstrap = access.bootstrap
        self._acks = Acks()
        errors = _Errors()
        config = _config(access, errors) | {
            "acks": "all", "linger.ms": 5,
            "message.max.bytes": max_output_bytes + _REQUEST_HEADROOM, "partitioner": "murmur2_random",
        }
        self._producer = Producer(config)
        _reachable(access, self._producer, errors)

    def _delivered(self, number: int, err: KafkaError | None, msg: Any) -> None:
        self._acks.settle(number, err.str() if err is not None else None)

    def send(self, topic: str, key: bytes | None, value: bytes) -> None:
        """Queue one message; a failure surfaces at the next :meth:`check` or :meth:`flush`."""
        number = self._acks.number()
        delivered = partial(self._delivered, number)
        while True:
            try:
                self._producer.produce(topic, value, key, on_delivery=delivered)
                return
            except BufferError:  # the local queue is full: let deliveries drain, then go on
                self._producer.poll(0.1)
            except KafkaException as exc:
                self._acks.settle(number, exc.args[0].str())
                return

    def sent(self) -> int:
        """The number of the last message queued."""
        return self._acks.sent

    def acked(self) -> int:
        """Every message numbered up to this one is acknowledged (the delivery reports served first)."""
        self._producer.poll(0)
        return self._acks.acked

    def check(self) -> None:
        """:class:`BrokerError` if a message could not be delivered."""
        if self._acks.error is not None:
            raise BrokerError(f"could not deliver outputs to {self.bootstrap}: {self._acks.error}")

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until every queued message is acknowledged; :class:`BrokerError` if any was not."""
        left = self._producer.flush(timeout)
        if left:
            raise BrokerError(f"could not deliver {left} outputs to {self.bootstrap} within {timeout:g}s")
        self.check()

    def send_acked(self, topic: str, key: bytes | None, value: bytes, timeout: float = 10.0) -> None:
        """Send one message and wait for its acknowledgement (for callers on other threads)."""
        done = threading.Event()
        result: list[KafkaError | None] = []

        def _acked(err: KafkaError | None, msg: Any) -> None:
            result.append(err)
            done.set()

        try:
            self._producer.produce(topic, value, key, on_delivery=_acked)
        except (BufferError, KafkaException) as exc:
            raise BrokerError(str(exc)) from exc
        deadline = time.monotonic() + timeout
        while not done.is_set() and time.monotonic() < deadline:
            self._producer.poll(0.05)
        if not done.is_set():
            raise BrokerError(f"no acknowledgement from {self.bootstrap} within {timeout:g}s")
        if result[0] is not None:
            raise BrokerError(result[0].str())

    def close(self, timeout: float = 10.0) -> None:
        self._producer.flush(timeout)


class EventsConsumer:
    """The events topic, shared among the replicas through one consumer group; offsets committed by hand."""

    def __init__(self, access: KafkaAccess, group_id: str, *, session_timeout_ms: int = 10_000,
                 max_message_bytes: int = 1_048_576, group_instance_id: str | None = None) -> None:
        self.group_id = group_id
        self._max = _MAX_POLL_RECORDS
        errors = _Errors()
        partition_bytes = max(_EVENTS_FETCH_BYTES, max_message_bytes + _REQUEST_HEADROOM)
        config = _config(access, errors) | _fetching(max(_SIDE_FETCH_BYTES, partition_bytes), partition_bytes) | {
            "group.id": group_id, "enable.auto.commit": False, "enable.auto.offset.store": False,
            "auto.offset.reset": "earliest", "session.timeout.ms": session_timeout_ms,
            "heartbeat.interval.ms": max(300, session_timeout_ms // 5),
            "max.poll.interval.ms": max(30_000, 3 * session_timeout_ms),
            # a broker that does not answer a fetch early when data arrives would hold each event this long
            # (librdkafka's default is 500 ms; measured at 200 events/s on Tansu: p50 184 ms, with 20: 9 ms)
            "fetch.wait.max.ms": 20,
            "queued.max.messages.kbytes": _PREFETCH_KBYTES,
        } | ({"group.instance.id": group_instance_id} if group_instance_id else {})
        self._consumer = Consumer(config)
        _reachable(access, self._consumer, errors)

    def subscribe(self, topic: str, on_assigned: OnPartitions, on_revoked: OnPartitions) -> None:
        """Join the group on ``topic``; the callbacks run inside :meth:`poll`, on the caller's thread."""
        def parts(tps: list[TopicPartition]) -> set[Partition]:
            return {(tp.topic, tp.partition) for tp in tps}

        self._consumer.subscribe(
            [topic], on_assign=lambda c, tps: on_assigned(parts(tps)),
            on_revoke=lambda c, tps: on_revoked(parts(tps)), on_lost=lambda c, tps: on_revoked(parts(tps)))

    def poll(self, timeout_ms: int = 100) -> list[Record]:
        """The next records, partition by partition in offset order."""
        return _records(_batch(self._consumer, self._max, timeout_ms / 1000))

    def commit(self, offsets: Mapping[Partition, int]) -> None:
        """Commit ``offsets`` (the next offset to read, per partition); :class:`BrokerError` if any failed.

        A synchronous commit answers per partition: one refused (the partition
        moved to another member, say) is an error of that partition, not an
        exception, and is checked here.
        """
        try:
            done = self._consumer.commit(offsets=[TopicPartition(t, p, o) for (t, p), o in offsets.items()],
                                         asynchronous=False)
        except KafkaException as exc:
            raise BrokerError(f"commit failed: {exc.args[0].str()}") from exc
        failed = [f"{tp.topic}:{tp.partition} ({tp.error.str()})" for tp in done or () if tp.error is not None]
        if failed:
            raise BrokerError(f"commit refused for {', '.join(failed)}")

    def lag(self) -> dict[int, int]:
        """Messages not yet read, per assigned partition (from the high watermarks the fetches carry)."""
        out = {}
        for tp in self._consumer.assignment():
            _, high = self._consumer.get_watermark_offsets(tp, cached=True)
            [pos] = self._consumer.position([tp])
            if high >= 0 and pos.offset >= 0:
                out[tp.partition] = max(0, high - pos.offset)
        return out

    def close(self) -> None:
        self._consumer.close()


class TopicReader:
    """Every partition of some topics, read whole, with the positions kept by the caller (no group)."""

    def __init__(self, access: KafkaAccess, topics: Iterable[str], positions: Mapping[str, int], *,
                 max_message_bytes: int = 1_048_576) -> None:
        errors = _Errors()
        config = _config(access, errors) | _fetching(max(_SIDE_FETCH_BYTES, 2 * max_message_bytes),
                                                     max(_SIDE_PARTITION_FETCH_BYTES, 2 * max_message_bytes)) | {
            "group.id": f"streamal-reader-{uuid.uuid4().hex}",  # required by librdkafka; never joined or committed
            "enable.auto.commit": False, "enable.auto.offset.store": False, "auto.offset.reset": "earliest",
            "queued.max.messages.kbytes": _PREFETCH_KBYTES,
        }
        self._consumer = Consumer(config)
        metadata = _reachable(access, self._consumer, errors)
        parts: list[TopicPartition] = []
        self._next: dict[Partition, int | None] = {}
        for topic in topics:
            found = metadata.topics.get(topic)
            if found is None or found.error is not None or not found.partitions:
                raise BrokerError(f"topic {topic!r} has no partitions (does it exist?)")
            for p in sorted(found.partitions):
                pos = positions.get(f"{topic}:{p}")
                parts.append(TopicPartition(topic, p, OFFSET_BEGINNING if pos is None else pos))
                self._next[(topic, p)] = pos
        self._consumer.assign(parts)

    def poll(self, max_records: int = 2000, timeout_ms: int = 0) -> list[Record]:
        """The next records (possibly none), each partition in offset order."""
        records = _records(_batch(self._consumer, max_records, timeout_ms / 1000))
        for r in records:
            self._next[(r.topic, r.partition)] = r.offset + 1
        return records

    def caught_up(self, topic: str | None = None) -> bool:
        """Whether every partition (of ``topic``) has been read to the high watermark last seen."""
        for (t, p), pos in self._next.items():
            if topic is not None and t != topic:
                continue
            low, high = self._consumer.get_watermark_offsets(TopicPartition(t, p), cached=True)
            if high < 0:
                return False  # no fetch answered yet
            if (low if pos is None else pos) < high:
                return False
        return True

    def close(self) -> None:
        self._consumer.close()


#: The librdkafka adapter, as :mod:`streamal.service.kafka` picks it.
CLIENT = KafkaClient("confluent", ensure_topics, Outputs, EventsConsumer, TopicReader)
