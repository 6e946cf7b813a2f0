"""What each way of failing to reach Kafka means to a user, and which settings to check: one table for both clients.

Each client adapter tells its own errors apart (kafka-python's exception
types, librdkafka's error codes) and names the :class:`Failure`; the sentence
the user reads comes from here, so the two clients say the same thing.

>>> from streamal.service.access import KafkaAccess
>>> explain(Failure.SASL_REFUSED, KafkaAccess("k:9093", security_protocol="SASL_SSL", sasl_username="svc"), "bad")
"the broker refused the SASL login as 'svc' with PLAIN (bad); check STREAMAL_KAFKA_SASL_USERNAME, \
STREAMAL_KAFKA_SASL_PASSWORD and STREAMAL_KAFKA_SASL_MECHANISM"
"""

from __future__ import annotations

import ssl
from enum import Enum
from typing import TYPE_CHECKING

from streamal.config import ENV_PREFIX

if TYPE_CHECKING:
    from streamal.service.access import KafkaAccess

__all__ = ["Failure", "explain", "from_ssl"]

_P = ENV_PREFIX + "KAFKA_"


class Failure(Enum):
    """The ways a connection to Kafka fails that a user can do something about."""

    UNTRUSTED_CERTIFICATE = "untrusted certificate"
    TLS_HANDSHAKE = "TLS handshake"
    TLS_HANGUP = "hung up after TLS"
    SASL_UNSUPPORTED = "SASL mechanism not offered"
    SASL_REFUSED = "SASL login refused"
    SASL_HANGUP = "hung up during SASL"
    UNREACHABLE = "unreachable"


def explain(failure: Failure, access: KafkaAccess, detail: object = None) -> str:
    """The sentence for ``failure`` under ``access``'s settings, with the client's own ``detail`` in brackets."""
    what = f" ({detail})" if detail is not None and str(detail) else ""
    match failure:
        case Failure.UNTRUSTED_CERTIFICATE:
            hostname = f" and {_P}SSL_CHECK_HOSTNAME" if "hostname" in str(detail).lower() else ""
            return f"the broker's TLS certificate is not trusted{what}; check {_P}SSL_CAFILE{hostname}"
        case Failure.TLS_HANDSHAKE:
            return (f"the TLS handshake failed{what}; is the listener TLS ({_P}SECURITY_PROTOCOL), and do "
                    f"{_P}SSL_CERTFILE and {_P}SSL_KEYFILE match what it expects?")
        case Failure.TLS_HANGUP:
            return (f"the broker hung up after the TLS handshake{what}; does it want a client certificate "
                    f"({_P}SSL_CERTFILE, {_P}SSL_KEYFILE) or plain text ({_P}SECURITY_PROTOCOL)?")
        case Failure.SASL_UNSUPPORTED:
            return f"the broker does not offer {access.sasl_mechanism}{what}; check {_P}SASL_MECHANISM"
        case Failure.SASL_REFUSED:
            return (f"the broker refused the SASL login as {access.sasl_username!r} with {access.sasl_mechanism}"
                    f"{what}; check {_P}SASL_USERNAME, {_P}SASL_PASSWORD and {_P}SASL_MECHANISM")
        case Failure.SASL_HANGUP:
            return (f"the broker hung up during the SASL login{what}; does it offer {access.sasl_mechanism} "
                    f"({_P}SASL_MECHANISM) on a {access.security_protocol} listener ({_P}SECURITY_PROTOCOL)?")
        case Failure.UNREACHABLE:
            hint = f"check {_P}BOOTSTRAP, {_P}SECURITY_PROTOCOL and {_P}CONNECT_TIMEOUT"
            return f"{detail}; {hint}" if what else hint


def from_ssl(exc: ssl.SSLError) -> tuple[Failure, str]:
    """What a TLS error of Python's ``ssl`` module (kafka-python's, and the start-up probe's) is."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return Failure.UNTRUSTED_CERTIFICATE, exc.verify_message or exc.reason or str(exc)
    return Failure.TLS_HANDSHAKE, exc.reason or str(exc)
