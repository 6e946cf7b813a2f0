"""Kafka security settings: checked at start, mapped to the client, failures explained."""

from __future__ import annotations

import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import trustme
from kafka.errors import KafkaConnectionError, KafkaTimeoutError, SaslAuthenticationFailedError

from streamal.config import load_kafka_settings, load_settings
from streamal.errors import BrokerError, ConfigError
from streamal.service.access import KafkaAccess
from streamal.service.kafka_python import _config, _explain, _LastError


def test_plain_text_is_the_default_and_sends_no_security_settings() -> None:
    access = KafkaAccess.from_settings(load_kafka_settings({}))
    config = _config(access)
    assert config["security_protocol"] == "PLAINTEXT"
    assert not [k for k in config if k.startswith(("ssl_", "sasl_"))]


@pytest.mark.parametrize(("protocol", "tls", "sasl"), [
    ("SSL", True, False), ("SASL_PLAINTEXT", False, True), ("SASL_SSL", True, True), ("sasl_ssl", True, True),
])
def test_each_protocol_maps_to_the_client_settings_it_needs(
        protocol: str, tls: bool, sasl: bool, tmp_path: Path
) -> None:
    ca = tmp_path / "ca.pem"
    trustme.CA().cert_pem.write_to_path(ca)
    given = {"kafka_security_protocol": protocol, "kafka_sasl_mechanism": "scram-sha-512"}
    if tls:
        given["kafka_ssl_cafile"] = str(ca)
    if sasl:
        given |= {"kafka_sasl_username": "streamal", "kafka_sasl_password": "pw"}
    config = _config(KafkaAccess.from_settings(load_kafka_settings(given)))
    assert config["security_protocol"] == protocol.upper()
    assert (config.get("ssl_cafile") == str(ca)) is tls
    assert config.get("ssl_check_hostname", True) is True
    if sasl:
        assert (config["sasl_mechanism"], config["sasl_plain_username"], config["sasl_plain_password"]) == (
            "SCRAM-SHA-512", "streamal", "pw")
    else:
        assert "sasl_mechanism" not in config


def test_the_password_can_come_from_a_mounted_file_and_never_shows(tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text("from-the-file\n")
    s = load_kafka_settings({"kafka_security_protocol": "SASL_SSL", "kafka_sasl_username": "svc",
                             "kafka_sasl_password": f"@{secret}"})
    access = KafkaAccess.from_settings(s)
    assert access.sasl_password == "from-the-file"
    assert "from-the-file" not in repr(s) and "from-the-file" not in repr(access)
    assert "from-the-file" not in access.describe()


@pytest.mark.parametrize(("given", "message"), [
    ({"kafka_security_protocol": "TLS"}, "STREAMAL_KAFKA_SECURITY_PROTOCOL"),
    ({"kafka_security_protocol": "SASL_SSL", "kafka_sasl_mechanism": "GSSAPI", "kafka_sasl_username": "u",
      "kafka_sasl_password": "p"}, "STREAMAL_KAFKA_SASL_MECHANISM"),
    ({"kafka_security_protocol": "SASL_SSL"}, "STREAMAL_KAFKA_SASL_USERNAME: needed with"),
    ({"kafka_security_protocol": "SASL_SSL", "kafka_sasl_username": "u"}, "STREAMAL_KAFKA_SASL_PASSWORD: needed"),
    ({"kafka_sasl_username": "u", "kafka_sasl_password": "p"}, "STREAMAL_KAFKA_SASL_USERNAME is set but"),
    ({"kafka_ssl_cafile": "{ca}"}, "STREAMAL_KAFKA_SSL_CAFILE is set but STREAMAL_KAFKA_SECURITY_PROTOCOL is"),
    ({"kafka_security_protocol": "SSL", "kafka_ssl_cafile": "/no/such/ca.pem"}, "STREAMAL_KAFKA_SSL_CAFILE: cannot"),
    ({"kafka_security_protocol": "SSL", "kafka_ssl_keyfile": "{ca}"}, "KEYFILE is set without"),
    ({"kafka_security_protocol": "SASL_PLAINTEXT", "kafka_sasl_username": "u",
      "kafka_sasl_password": "@/no/such/file"}, "STREAMAL_KAFKA_SASL_PASSWORD: cannot read /no/such/file"),
])
def test_a_bad_combination_fails_at_start_naming_the_setting(
        given: dict[str, Any], message: str, tmp_path: Path
) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    given = {k: v.replace("{ca}", str(ca)) for k, v in given.items()}
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        load_kafka_settings(given)
    with pytest.raises(ConfigError):  # the service's settings share the checks
        load_settings(given)


def test_each_failure_is_explained_with_the_settings_to_check() -> None:
    tls = KafkaAccess("k:9093", security_protocol="SSL")
    sasl = KafkaAccess("k:9093", security_protocol="SASL_SSL", sasl_mechanism="SCRAM-SHA-256",
                       sasl_username="svc", sasl_password="pw")
    untrusted = ssl.SSLCertVerificationError(1, "certificate verify failed")
    untrusted.verify_message = "unable to get local issuer certificate"
    assert "not trusted (unable to get local issuer certificate); check STREAMAL_KAFKA_SSL_CAFILE" in _explain(
        tls, untrusted)
    assert "STREAMAL_KAFKA_SSL_CERTFILE" in _explain(tls, KafkaConnectionError("socket disconnected"))
    refused = _explain(sasl, SaslAuthenticationFailedError("invalid credentials"))
    assert "refused the SASL login as 'svc' with SCRAM-SHA-256" in refused
    assert "STREAMAL_KAFKA_SASL_PASSWORD" in refused
    assert "refused the SASL login" in _explain(sasl, KeyError("v"))  # kafka-python's SCRAM on "e=unknown-user"
    assert "hung up during the SASL login" in _explain(sasl, KafkaConnectionError("socket disconnected"))
    assert "STREAMAL_KAFKA_BOOTSTRAP" in _explain(KafkaAccess("k:9092"), KafkaConnectionError("refused"))
    assert "pw" not in refused


_SASL = KafkaAccess("k:9093", security_protocol="SASL_SSL", sasl_username="svc", sasl_password="pw")


@pytest.mark.parametrize(("access", "kafka_python_error", "librdkafka_error"), [
    (_SASL, SaslAuthenticationFailedError("Authentication failed"), ("_AUTHENTICATION", "Authentication failed")),
    (KafkaAccess("k:9093", security_protocol="SSL"), KafkaConnectionError("socket disconnected"),
     ("_TRANSPORT", "Disconnected while requesting")),
    (KafkaAccess("k:9092"), KafkaConnectionError("refused"), ("_TRANSPORT", "Connection refused")),
])
def test_both_clients_say_the_same_sentence_for_the_same_failure(
        access: Any, kafka_python_error: Any, librdkafka_error: tuple[Any, ...]
) -> None:
    """One table of what each failure means (service/failures.py): only the client's own detail differs."""
    confluent = pytest.importorskip("streamal.service.confluent")
    one = _explain(access, kafka_python_error)
    other = confluent._explain(access, *librdkafka_error)
    assert one.replace(str(kafka_python_error), "") == other.replace(librdkafka_error[1], ""), (one, other)


def test_a_commit_the_broker_refuses_for_one_partition_is_an_error_with_the_librdkafka_client() -> None:
    confluent = pytest.importorskip("streamal.service.confluent")
    from types import SimpleNamespace

    class Refusing:
        def commit(self, offsets: list[Any], asynchronous: bool) -> list[Any]:
            refused = SimpleNamespace(str=lambda: "Broker: Specified group generation id is not valid")
            return [SimpleNamespace(topic=tp.topic, partition=tp.partition, error=refused if tp.partition else None)
                    for tp in offsets]

    consumer = confluent.EventsConsumer.__new__(confluent.EventsConsumer)
    consumer._consumer = Refusing()
    with pytest.raises(BrokerError, match=r"commit refused for events:1 \(Broker: Specified group generation"):
        consumer.commit({("events", 0): 5, ("events", 1): 7})


def test_the_cause_survives_the_client_s_retries_and_its_final_timeout() -> None:
    import logging

    watcher = _LastError()
    log = logging.getLogger("kafka.net.manager")
    inner = ssl.SSLCertVerificationError(1, "verify failed")
    try:
        try:
            raise inner
        except ssl.SSLError as exc:
            raise KafkaConnectionError(f"Handshake failed: {exc}") from None
    except KafkaConnectionError as wrapped:
        wrapped.__context__ = inner
        record = log.makeRecord(log.name, logging.WARNING, __file__, 1, "failed: %s", (wrapped,), None)
    watcher.emit(record)
    timeout = log.makeRecord(log.name, logging.ERROR, __file__, 1, "Bootstrap failed: %s",
                             (KafkaTimeoutError("Unable to bootstrap"),), None)
    watcher.emit(timeout)
    assert watcher.error is inner  # the TLS error under the wrapper, not the timeout that followed


def test_unloadable_tls_files_fail_before_any_connection(tmp_path: Path) -> None:
    bad = tmp_path / "client.pem"
    bad.write_text("not a certificate")
    access = KafkaAccess("127.0.0.1:1", security_protocol="SSL", ssl_certfile=str(bad))
    with pytest.raises(BrokerError, match=r"cannot load the TLS files .*STREAMAL_KAFKA_SSL_CERTFILE"):
        access.probe_tls()


def test_the_tools_fail_with_exit_2_on_a_bad_security_setting(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "STREAMAL_KAFKA_SECURITY_PROTOCOL": "SASL_SSL"}
    out = subprocess.run([sys.executable, "-m", "streamal", "replay", "--data", "sea-abrupt", "--events", "3"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert out.stderr.strip() == ("streamal replay: error: STREAMAL_KAFKA_SASL_USERNAME: needed with "
                                  "STREAMAL_KAFKA_SECURITY_PROTOCOL=SASL_SSL")


def test_the_default_client_is_the_fast_one_where_it_is_installed_and_the_pure_one_elsewhere(
        monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    settings = load_kafka_settings({})
    assert settings.kafka_client == "auto"
    found = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object() if name == "confluent_kafka" else
                        found(name, *a))
    assert KafkaAccess.from_settings(settings).client == "confluent"
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "confluent_kafka" else
                        found(name, *a))
    assert KafkaAccess.from_settings(settings).client == "kafka-python"
    assert KafkaAccess.from_settings(load_kafka_settings({"kafka_client": "kafka-python"})).client == "kafka-python"
