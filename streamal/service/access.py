"""How every Kafka client streamal makes reaches the brokers: address, TLS, SASL; the same for both clients.

One :class:`KafkaAccess` is built from the settings and handed to every client
(the service's producer and consumers, ``replay``, ``oracle``, the demo), so
the security settings apply to all of them or to none. Each client adapter
(:mod:`streamal.service.kafka_python`, :mod:`streamal.service.confluent`)
turns it into its own configuration and explains its own errors through the
one table of :mod:`streamal.service.failures`.
"""

from __future__ import annotations

import importlib.util
import socket
import ssl
from dataclasses import dataclass, field

from streamal.config import ENV_PREFIX, KafkaSettings
from streamal.errors import BrokerError
from streamal.service.failures import explain, from_ssl

__all__ = ["KafkaAccess", "resolve_client"]


def resolve_client(name: str) -> str:
    """The client ``STREAMAL_KAFKA_CLIENT`` names; ``auto`` is confluent when confluent-kafka is installed.

    >>> resolve_client("kafka-python")
    'kafka-python'
    """
    if name != "auto":
        return name
    return "confluent" if importlib.util.find_spec("confluent_kafka") is not None else "kafka-python"


@dataclass(frozen=True)
class KafkaAccess:
    """The brokers' address and the credentials to reach them (secrets kept out of ``repr``).

    >>> access = KafkaAccess("kafka:9093", security_protocol="SASL_SSL", sasl_mechanism="SCRAM-SHA-512",
    ...                      sasl_username="streamal", sasl_password="s3cret")
    >>> access.describe()
    "kafka:9093 over SASL_SSL (SCRAM-SHA-512 as 'streamal')"
    >>> "s3cret" in repr(access)
    False
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
    client: str = "kafka-python"  # or "confluent" (librdkafka); "auto" is resolved by from_settings

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
            client=resolve_client(s.kafka_client),
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
                failure, detail = from_ssl(exc)
                raise BrokerError(f"cannot reach Kafka at {self.describe()}: {explain(failure, self, detail)}") from exc
            except OSError:
                continue
            finally:
                sock.close()
