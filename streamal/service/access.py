"""How every Kafka client streamal makes reaches the brokers: address, TLS, SASL, and why it could not.

One :class:`KafkaAccess` is built from the settings and handed to every client
(the service's producer and consumers, ``replay``, ``oracle``, the demo), so
the security settings apply to all of them or to none.

kafka-python retries a failed connection until its bootstrap timeout and then
says only "Unable to bootstrap". :func:`opening` listens to the client's own
log records while it connects and keeps the last connection error, so the one
line streamal fails with names the cause (an untrusted certificate, a refused
password, a listener that does not speak TLS) and the setting to check.
"""

from __future__ import annotations

import contextlib
import logging
import re
import socket
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from kafka.errors import (
    KafkaConnectionError,
    KafkaError,
    KafkaTimeoutError,
    SaslAuthenticationFailedError,
    UnsupportedSaslMechanismError,
)

from streamal.config import ENV_PREFIX, KafkaSettings
from streamal.errors import BrokerError

__all__ = ["KafkaAccess", "opening"]

_T = TypeVar("_T")


@dataclass(frozen=True)
class KafkaAccess:
    """The brokers' address and the credentials to reach them (secrets kept out of ``repr``).

    >>> access = KafkaAccess("kafka:9093", security_protocol="SASL_SSL", sasl_mechanism="SCRAM-SHA-512",
    ...                      sasl_username="streamal", sasl_password="s3cret")
    >>> access.describe()
    "kafka:9093 over SASL_SSL (SCRAM-SHA-512 as 'streamal')"
    >>> "s3cret" in repr(access)
    False
    >>> sorted(k for k in access.client_config() if k.startswith("sasl"))
    ['sasl_mechanism', 'sasl_plain_password', 'sasl_plain_username']
    >>> sorted(k for k in access.librdkafka_config() if k.startswith("sasl"))
    ['sasl.mechanism', 'sasl.password', 'sasl.username']
    """

    bootstrap: str
    connect_timeout: float = 10.0
    security_protocol: str = "PLAINTEXT"
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    ssl_key_password: str | None = field(default=None, repr=False)
    ssl_check_hostname: bool = True
    sasl_mechanism: str = "PLAIN"
    sasl_username: str | None = None
    sasl_password: str | None = field(default=None, repr=False)
    client: str = "kafka-python"  # or "confluent" (librdkafka)

    @classmethod
    def from_settings(cls, s: KafkaSettings) -> KafkaAccess:
        """The access the ``STREAMAL_KAFKA_*`` settings describe."""
        def path(p: object) -> str | None:
            return None if p is None else str(p)

        sasl = s.kafka_security_protocol.startswith("SASL_")
        return cls(
            bootstrap=s.kafka_bootstrap, connect_timeout=s.kafka_connect_timeout,
            security_protocol=s.kafka_security_protocol, ssl_cafile=path(s.kafka_ssl_cafile),
            ssl_certfile=path(s.kafka_ssl_certfile), ssl_keyfile=path(s.kafka_ssl_keyfile),
            ssl_key_password=s.kafka_ssl_key_password.get_secret_value() if s.kafka_ssl_key_password else None,
            ssl_check_hostname=s.kafka_ssl_check_hostname, sasl_mechanism=s.kafka_sasl_mechanism,
            sasl_username=s.kafka_sasl_username if sasl else None,
            sasl_password=s.kafka_sasl_password.get_secret_value() if sasl else None,
            client=s.kafka_client,
        )

    @classmethod
    def of(cls, target: KafkaAccess | str) -> KafkaAccess:
        """``target`` itself, or plain access to the bootstrap servers it names."""
        return target if isinstance(target, KafkaAccess) else cls(target)

    @property
    def tls(self) -> bool:
        return self.security_protocol in ("SSL", "SASL_SSL")

    @property
    def sasl(self) -> bool:
        return self.security_protocol.startswith("SASL_")

    def describe(self) -> str:
        """Where and how, for the log line at start (never a secret)."""
        how = f"{self.bootstrap} over {self.security_protocol}"
        if self.sasl:
            how += f" ({self.sasl_mechanism} as {self.sasl_username!r})"
        return how

    def client_config(self) -> dict[str, Any]:
        """The kafka-python client settings these stand for."""
        out: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap, "client_id": "streamal",
            "bootstrap_timeout_ms": int(self.connect_timeout * 1000),
            "security_protocol": self.security_protocol,
        }
        if self.tls:
            out.update(ssl_check_hostname=self.ssl_check_hostname, ssl_cafile=self.ssl_cafile,
                       ssl_certfile=self.ssl_certfile, ssl_keyfile=self.ssl_keyfile,
                       ssl_password=self.ssl_key_password)
        if self.sasl:
            out.update(sasl_mechanism=self.sasl_mechanism, sasl_plain_username=self.sasl_username,
                       sasl_plain_password=self.sasl_password)
        return out

    def tls_context(self) -> ssl.SSLContext:
        """The TLS context these settings describe (as kafka-python builds it)."""
        ctx = ssl.create_default_context(cafile=self.ssl_cafile)
        ctx.check_hostname = self.ssl_check_hostname
        if self.ssl_certfile:
            ctx.load_cert_chain(self.ssl_certfile, self.ssl_keyfile, self.ssl_key_password)
        return ctx

    def probe_tls(self) -> None:
        """One TLS handshake with a bootstrap server, bounded by the connect timeout.

        kafka-python's own handshake has no time limit: a TLS client at a plain
        listener that never answers would hang the start for good. A server
        that cannot be reached at all is left to the client (it retries until
        the connect timeout, as a broker still starting needs).
        """
        p = ENV_PREFIX + "KAFKA_"
        try:
            ctx = self.tls_context()
        except (ssl.SSLError, OSError) as exc:
            raise BrokerError(f"cannot load the TLS files ({exc}); check {p}SSL_CAFILE, {p}SSL_CERTFILE, "
                              f"{p}SSL_KEYFILE and {p}SSL_KEY_PASSWORD") from exc
        for server in self.bootstrap.split(","):
            host, _, port = server.strip().rpartition(":")
            host = host.strip("[]")
            try:
                sock = socket.create_connection((host, int(port)), timeout=self.connect_timeout)
            except (OSError, ValueError):
                continue
            try:
                with ctx.wrap_socket(sock, server_hostname=host):
                    return
            except TimeoutError as exc:
                raise BrokerError(
                    f"cannot reach Kafka at {self.describe()}: {server.strip()} did not answer the TLS handshake "
                    f"within {self.connect_timeout:g}s; is that listener TLS ({p}SECURITY_PROTOCOL)?") from exc
            except ssl.SSLError as exc:
                raise BrokerError(f"cannot reach Kafka at {self.describe()}: {self.explain(exc)}") from exc
            except OSError:
                continue
            finally:
                sock.close()

    def librdkafka_config(self) -> dict[str, Any]:
        """The librdkafka (confluent-kafka) settings these stand for."""
        out: dict[str, Any] = {"bootstrap.servers": self.bootstrap, "client.id": "streamal",
                               "security.protocol": self.security_protocol.lower(),
                               "socket.connection.setup.timeout.ms": int(self.connect_timeout * 1000)}
        if self.tls:
            out["ssl.endpoint.identification.algorithm"] = "https" if self.ssl_check_hostname else "none"
            for key, value in (("ssl.ca.location", self.ssl_cafile), ("ssl.certificate.location", self.ssl_certfile),
                               ("ssl.key.location", self.ssl_keyfile), ("ssl.key.password", self.ssl_key_password)):
                if value:
                    out[key] = value
        if self.sasl:
            out.update({"sasl.mechanism": self.sasl_mechanism, "sasl.username": self.sasl_username,
                        "sasl.password": self.sasl_password})
        return out

    def explain_librdkafka(self, code: str, text: str) -> str:
        """What a librdkafka error (its code name and text) means for these settings."""
        p = ENV_PREFIX + "KAFKA_"
        text = re.sub(r"^\w+://\S+?/\S+: | \(after \d+ms in state \w+\)$", "", text)  # where and when: known
        if "mechanism handshake failed" in text:
            return (f"the broker hung up during the SASL login ({text}); does it offer {self.sasl_mechanism} "
                    f"({p}SASL_MECHANISM) on a {self.security_protocol} listener ({p}SECURITY_PROTOCOL)?")
        if code == "_AUTHENTICATION" or "SASL" in text:
            return (f"the broker refused the SASL login as {self.sasl_username!r} with {self.sasl_mechanism} "
                    f"({text}); check {p}SASL_USERNAME, {p}SASL_PASSWORD and {p}SASL_MECHANISM")
        if self.tls and code in ("_ALL_BROKERS_DOWN", "_TRANSPORT"):  # the TLS probe got through first
            return (f"the broker hung up after the TLS handshake ({text}); does it want a client certificate "
                    f"({p}SSL_CERTFILE, {p}SSL_KEYFILE) or plain text ({p}SECURITY_PROTOCOL)?")
        if code == "_SSL" or "SSL" in text:
            if "certificate verify failed" in text:
                return f"the broker's TLS certificate is not trusted ({text}); check {p}SSL_CAFILE"
            return f"the TLS handshake failed ({text}); check {p}SECURITY_PROTOCOL and the {p}SSL_* files"
        return f"{text}; check {p}BOOTSTRAP, {p}SECURITY_PROTOCOL and {p}CONNECT_TIMEOUT"

    def explain(self, exc: BaseException | None) -> str:
        """What a connection error means for these settings, and which to check."""
        p = ENV_PREFIX + "KAFKA_"
        if isinstance(exc, ssl.SSLCertVerificationError):
            reason = exc.verify_message or exc.reason or str(exc)
            return (f"the broker's TLS certificate is not trusted ({reason}); check {p}SSL_CAFILE"
                    + (f" and {p}SSL_CHECK_HOSTNAME" if "hostname" in str(exc).lower() else ""))
        if isinstance(exc, ssl.SSLError):
            return (f"the TLS handshake failed ({exc.reason or exc}); is the listener TLS, and do "
                    f"{p}SSL_CERTFILE and {p}SSL_KEYFILE match what it expects?")
        if isinstance(exc, UnsupportedSaslMechanismError):
            return f"the broker does not offer {self.sasl_mechanism} ({exc}); check {p}SASL_MECHANISM"
        # kafka-python's SCRAM client fails on the server's error answer ("e=unknown-user") with a KeyError
        if isinstance(exc, SaslAuthenticationFailedError) or (self.sasl and isinstance(exc, KeyError | ValueError)):
            detail = exc if isinstance(exc, SaslAuthenticationFailedError) else "no proof of the password in reply"
            return (f"the broker refused the SASL login as {self.sasl_username!r} with {self.sasl_mechanism} "
                    f"({detail}); check {p}SASL_USERNAME, {p}SASL_PASSWORD and {p}SASL_MECHANISM")
        if self.sasl and isinstance(exc, KafkaConnectionError) and "disconnected" in str(exc):
            return (f"the broker hung up during the SASL login ({exc}); does it offer {self.sasl_mechanism} "
                    f"({p}SASL_MECHANISM) on a {self.security_protocol} listener ({p}SECURITY_PROTOCOL)?")
        if self.tls and isinstance(exc, KafkaConnectionError) and "disconnected" in str(exc):
            return (f"the broker hung up after the TLS handshake ({exc}); does it want a client certificate "
                    f"({p}SSL_CERTFILE, {p}SSL_KEYFILE) or plain text ({p}SECURITY_PROTOCOL)?")
        hint = f"check {p}BOOTSTRAP, {p}SECURITY_PROTOCOL and {p}CONNECT_TIMEOUT"
        return f"{exc}; {hint}" if exc is not None else hint


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


def opening(access: KafkaAccess, make: Callable[..., _T], **config: Any) -> _T:
    """``make(**access.client_config(), **config)``: a client, or :class:`BrokerError` saying why not."""
    if access.tls:
        access.probe_tls()
    with _watch() as seen:
        try:
            return make(**(access.client_config() | config))
        except KafkaError as exc:
            cause = seen.error or exc
            raise BrokerError(f"cannot reach Kafka at {access.describe()} within {access.connect_timeout:g}s: "
                              f"{access.explain(cause)}") from exc
