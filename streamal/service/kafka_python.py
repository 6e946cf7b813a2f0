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

kafka-python retries a failed connection until its bootstrap timeout and then
says only "Unable to bootstrap". :func:`_opening` listens to the client's own
log records while it connects and keeps the last connection error, so the one
line streamal fails with names the cause (an untrusted certificate, a refused
password, a listener that does not speak TLS) and the setting to check
(:mod:`streamal.service.failures`).
"""

from __future__ import annotations

import contextlib
import logging
import ssl
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.errors import (
    KafkaConnectionError,
    KafkaError,
    KafkaTimeoutError,
    SaslAuthenticationFailedError,
    TopicAlreadyExistsError,
    UnsupportedSaslMechanismError,
)
from kafka.structs import OffsetAndMetadata

from streamal.errors import BrokerError
from streamal.service.access import KafkaAccess
from streamal.service.acks import Acks
from streamal.service.failures import Failure, explain, from_ssl
from streamal.service.ports import KafkaClient, OnPartitions, Partition, Record

__all__ = ["CLIENT", "EventsConsumer", "Outputs", "TopicReader", "ensure_topics"]

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

#: Room for the record's key and the batch header besides a value of ``max_output_bytes``.
_REQUEST_HEADROOM = 65_536
#: Records one poll of the events consumer returns: a backlog is read in few round trips.
_MAX_POLL_RECORDS = 2000
#: What one fetch of the events consumer brings per partition, at least (a few MB: few round trips).
_EVENTS_FETCH_BYTES = 8_388_608
#: What one fetch of the side-topic reader brings, at least, in all and per partition.
_SIDE_FETCH_BYTES, _SIDE_PARTITION_FETCH_BYTES = 52_428_800, 1_048_576


def _config(access: KafkaAccess) -> dict[str, Any]:
    """The kafka-python settings ``access`` stands for.

    >>> access = KafkaAccess("k:9093", security_protocol="SASL_SSL", sasl_username="u", sasl_password="p")
    >>> sorted(k for k in _config(access) if k.startswith("sasl"))
    ['sasl_mechanism', 'sasl_plain_password', 'sasl_plain_username']
    """
    out: dict[str, Any] = {
        "bootstrap_servers": access.bootstrap, "client_id": "streamal",
        "bootstrap_timeout_ms": int(access.connect_timeout * 1000),
        "security_protocol": access.security_protocol,
    }
    if access.tls:
        out.update(ssl_check_hostname=access.ssl_check_hostname, ssl_cafile=access.ssl_cafile,
                   ssl_certfile=access.ssl_certfile, ssl_keyfile=access.ssl_keyfile,
                   ssl_password=access.ssl_key_password)
    if access.sasl:
        out.update(sasl_mechanism=access.sasl_mechanism, sasl_plain_username=access.sasl_username,
                   sasl_plain_password=access.sasl_password)
    return out


def _explain(access: KafkaAccess, exc: BaseException | None) -> str:
    """What a kafka-python connection error means under ``access``'s settings, and which to check."""
    if isinstance(exc, ssl.SSLError):
        failure, detail = from_ssl(exc)
        return explain(failure, access, detail)
    if isinstance(exc, UnsupportedSaslMechanismError):
        return explain(Failure.SASL_UNSUPPORTED, access, exc)
    # kafka-python's SCRAM client fails on the server's error answer ("e=unknown-user") with a KeyError
    if isinstance(exc, SaslAuthenticationFailedError) or (access.sasl and isinstance(exc, KeyError | ValueError)):
        detail = exc if isinstance(exc, SaslAuthenticationFailedError) else "no proof of the password in reply"
        return explain(Failure.SASL_REFUSED, access, detail)
    if isinstance(exc, KafkaConnectionError) and "disconnected" in str(exc):
        if access.sasl:
            return explain(Failure.SASL_HANGUP, access, exc)
        if access.tls:
            return explain(Failure.TLS_HANGUP, access, exc)
    return explain(Failure.UNREACHABLE, access, exc)


class _LastError(logging.Handler):
    """Keeps the last exception the Kafka client logged (it logs, then retries)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.error: BaseException | None = None

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args if isinstance(record.args, tuple) else ()
        found = [a for a in args if isinstance(a, BaseException)]
        if record.exc_info and record.exc_info[1] is not None:
            found.append(record.exc_info[1])
        for exc in found:
            if not isinstance(exc, KafkaTimeoutError):  # "unable to bootstrap" is the symptom, not the cause
                self.error = _cause(exc)


def _cause(exc: BaseException) -> BaseException:
    """The innermost TLS error under ``exc``, if any (kafka-python wraps them)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return exc


@contextlib.contextmanager
def _watch() -> Iterator[_LastError]:
    kafka_logger = logging.getLogger("kafka")
    handler = _LastError()
    kafka_logger.addHandler(handler)
    try:
        yield handler
    finally:
        kafka_logger.removeHandler(handler)


def _opening(access: KafkaAccess, make: Callable[..., _T], **config: Any) -> _T:
    """``make(**_config(access), **config)``: a client, or :class:`BrokerError` saying why not."""
    if access.tls:
        access.probe_tls()
    with _watch() as seen:
        try:
            return make(**(_config(access) | config))
        except KafkaError as exc:
            raise BrokerError(f"cannot reach Kafka at {access.describe()} within {access.connect_timeout:g}s: "
                              f"{_explain(access, seen.error or exc)}") from exc


def ensure_topics(access: KafkaAccess, topics: Mapping[str, int], *, create: bool = True) -> list[str]:
    """Check that ``topics`` (name -> partitions) exist; create the missing ones (or fail). Returns those created."""
    bootstrap = access.bootstrap
    logger.info("connecting to %s", access.describe())
    admin = _opening(access, KafkaAdminClient, request_timeout_ms=int(access.connect_timeout * 1000))
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

    def __init__(self, access: KafkaAccess, *, max_output_bytes: int = 1_000_000) -> None:
        # Large batches: kafka-python wakes its sender thread for every new or full batch, so small ones
        # cost a wake-up (a system call) every few messages while the loop scores.
        config: dict[str, Any] = dict(
            acks="all", linger_ms=5, retries=5, max_request_size=max_output_bytes + _REQUEST_HEADROOM,
            batch_size=max_output_bytes + _REQUEST_HEADROOM)
        self.bootstrap = access.bootstrap
        self._acks = Acks()
        self._producer = _opening(access, KafkaProducer, **config)

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

    def __init__(self, access: KafkaAccess, group_id: str, *, session_timeout_ms: int = 10_000,
                 max_message_bytes: int = 1_048_576, group_instance_id: str | None = None) -> None:
        config: dict[str, Any] = dict(
            group_id=group_id, enable_auto_commit=False,
            auto_offset_reset="earliest", session_timeout_ms=session_timeout_ms,
            heartbeat_interval_ms=max(300, session_timeout_ms // 5), max_poll_records=_MAX_POLL_RECORDS,
            max_partition_fetch_bytes=max(_EVENTS_FETCH_BYTES, max_message_bytes + _REQUEST_HEADROOM),
            # the rebalance timeout: how long the group waits for members to rejoin
            max_poll_interval_ms=max(30_000, 3 * session_timeout_ms),
        )
        if group_instance_id:
            config["group_instance_id"] = group_instance_id
        self.group_id = group_id
        self._consumer = _opening(access, KafkaConsumer, **config)

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

    def __init__(self, access: KafkaAccess, topics: Iterable[str], positions: Mapping[str, int], *,
                 max_message_bytes: int = 1_048_576) -> None:
        config: dict[str, Any] = dict(
            group_id=None, enable_auto_commit=False, auto_offset_reset="earliest",
            fetch_max_bytes=max(_SIDE_FETCH_BYTES, 2 * max_message_bytes),
            max_partition_fetch_bytes=max(_SIDE_PARTITION_FETCH_BYTES, 2 * max_message_bytes))
        self._consumer = _opening(access, KafkaConsumer, **config)
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


#: The kafka-python adapter, as :mod:`streamal.service.kafka` picks it.
CLIENT = KafkaClient("kafka-python", ensure_topics, Outputs, EventsConsumer, TopicReader)
