"""TLS and SASL to Kafka, against a real broker.

Tansu 0.6.0 cannot serve TLS itself, so a TLS terminator (``tls.py``) stands in
front of it with certificates from a CA made here, and Tansu advertises the
terminator's address: every connection after bootstrap is TLS too. With
``--authentication`` Tansu runs the SASL handshake and the SCRAM exchange, but
its in-memory store keeps no users (creating one needs a login first), so the
tests here can only prove the refusal path of SASL; its success path is
checked by configuration (``tests/test_kafka_access.py``). Every test runs
against both Kafka clients: their TLS and SASL settings and error messages
are translated separately, so each needs its own proof.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from streamal.tools.embedded import EmbeddedBroker, free_port
from streamal.tools.oracle import Oracle
from tests.integration.conftest import BOTH_CLIENTS, MakeService, ServiceProcess, read_topic
from tests.integration.tls import TlsTerminator

pytestmark = BOTH_CLIENTS


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A server CA, a client CA with one client certificate, and a CA nobody uses, as files."""
    d = tmp_path_factory.mktemp("pki")
    server_ca, client_ca, stranger = trustme.CA(), trustme.CA(), trustme.CA()
    server_ca.cert_pem.write_to_path(d / "ca.pem")
    stranger.cert_pem.write_to_path(d / "stranger.pem")
    client = client_ca.issue_cert("streamal")
    client.cert_chain_pems[0].write_to_path(d / "client.pem")
    client.private_key_pem.write_to_path(d / "client.key")
    return {"server_ca": server_ca, "client_ca": client_ca, "dir": d}


@pytest.fixture(scope="module")
def tls_broker(pki: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Tansu behind a TLS terminator that wants a client certificate (mutual TLS)."""
    port = free_port()
    log = tmp_path_factory.mktemp("tls-broker") / "tansu.log"
    with EmbeddedBroker(advertised=f"localhost:{port}", log_path=log) as broker, \
            TlsTerminator(port, broker.port, pki["server_ca"], pki["client_ca"]) as terminator:
        yield {"bootstrap": f"localhost:{port}", "terminator": terminator, "plain": broker.bootstrap}


def tls_env(pki: dict[str, Any], cafile: str = "ca.pem", client_cert: bool = True) -> dict[str, str]:
    d = pki["dir"]
    env = {"STREAMAL_KAFKA_SECURITY_PROTOCOL": "SSL", "STREAMAL_KAFKA_SSL_CAFILE": str(d / cafile)}
    if client_cert:
        env |= {"STREAMAL_KAFKA_SSL_CERTFILE": str(d / "client.pem"),
                "STREAMAL_KAFKA_SSL_KEYFILE": str(d / "client.key")}
    return env


def tls_client(pki: dict[str, Any]) -> dict[str, Any]:
    d = pki["dir"]
    return {"security_protocol": "SSL", "ssl_cafile": str(d / "ca.pem"), "ssl_certfile": str(d / "client.pem"),
            "ssl_keyfile": str(d / "client.key")}


def streamal(env: dict[str, str], *args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "streamal", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_service_replay_and_oracle_work_over_mutual_tls(
        pki: dict[str, Any], tls_broker: dict[str, Any], tmp_path: Path, kafka_client: str
) -> None:
    prefix = f"tls{uuid.uuid4().hex[:8]}"
    svc = ServiceProcess(tls_broker["bootstrap"], prefix, tmp_path / "state", tmp_path / "service.log",
                         budget="0.2", seed_size="10", kafka_client=kafka_client,
                         **{k.removeprefix("STREAMAL_").lower(): v for k, v in tls_env(pki).items()})
    before = tls_broker["terminator"].connections
    svc.start()
    assert "over SSL" in svc.log.read_text()

    # replay, from the command line, with the same settings in its environment
    truth = tmp_path / "truth.jsonl"
    out = streamal(svc.env, "replay", "--data", "sea-abrupt", "--events", "400", "--truth", str(truth),
                   "--topic", svc.topics["events"], "--kafka-bootstrap", tls_broker["bootstrap"])
    assert out.returncode == 0, out.stderr
    assert "sent 400 events" in out.stdout

    # the oracle answers the review items over TLS too
    from streamal.service.access import KafkaAccess
    from streamal.tools.oracle import TruthFile

    access = KafkaAccess(tls_broker["bootstrap"], security_protocol="SSL", ssl_cafile=str(pki["dir"] / "ca.pem"),
                         ssl_certfile=str(pki["dir"] / "client.pem"), ssl_keyfile=str(pki["dir"] / "client.key"))
    oracle = Oracle(TruthFile(truth), access, review_topic=svc.topics["review"], labels_topic=svc.topics["labels"],
                    group_id=f"{prefix}-oracle")
    stop = threading.Event()
    thread = threading.Thread(target=oracle.run, args=(stop,), daemon=True)
    thread.start()
    try:
        svc.wait_metric('streamal_events_total{outcome="scored"}', 400, timeout=60)
        svc.wait_metric("streamal_model_version", 20, timeout=60)
    finally:
        stop.set()
        thread.join(15)
    predictions = read_topic(tls_broker["bootstrap"], svc.topics["predictions"], expect=400, **tls_client(pki))
    assert len(predictions) == 400
    assert oracle.answered >= 20
    assert tls_broker["terminator"].connections > before  # the traffic went through TLS
    assert svc.stop() == 0


def _fails_with_one_line(out: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert out.returncode == 1, out.stderr
    lines = out.stderr.strip().splitlines()
    assert "Traceback" not in out.stderr
    assert not [line for line in lines if " kafka." in line], "kafka-python's own logs leaked out"
    last = lines[-1]
    for needle in needles:
        assert needle in last, last
    return last


def test_a_ca_that_did_not_sign_the_broker_fails_at_start_with_one_line(pki: dict[str, Any], tls_broker: dict[str, Any],
                                                                        make_service: MakeService) -> None:
    svc = make_service(kafka_bootstrap=tls_broker["bootstrap"], kafka_connect_timeout="3",
                       **{k.removeprefix("STREAMAL_").lower(): v for k, v in tls_env(pki, "stranger.pem").items()})
    started = time.monotonic()
    out = streamal(svc.env, "run")
    assert time.monotonic() - started < 20
    _fails_with_one_line(out, "streamal run: error: cannot reach Kafka at", "TLS certificate is not trusted",
                         "STREAMAL_KAFKA_SSL_CAFILE")
    # replay says the same, from the same settings
    out = streamal(svc.env, "replay", "--data", "sea-abrupt", "--events", "5",
                   "--kafka-bootstrap", tls_broker["bootstrap"])
    _fails_with_one_line(out, "streamal replay: error:", "not trusted", "STREAMAL_KAFKA_SSL_CAFILE")


def test_a_missing_client_certificate_or_plain_text_is_named(
        pki: dict[str, Any], tls_broker: dict[str, Any], make_service: MakeService
) -> None:
    svc = make_service(kafka_bootstrap=tls_broker["bootstrap"], kafka_connect_timeout="3",
                       **{k.removeprefix("STREAMAL_").lower(): v
                          for k, v in tls_env(pki, client_cert=False).items()})
    _fails_with_one_line(streamal(svc.env, "run"), "hung up after the TLS handshake", "STREAMAL_KAFKA_SSL_CERTFILE")

    plain = make_service(kafka_bootstrap=tls_broker["bootstrap"], kafka_connect_timeout="3")
    _fails_with_one_line(streamal(plain.env, "run"), "over PLAINTEXT", "STREAMAL_KAFKA_SECURITY_PROTOCOL")


def test_tls_to_a_plain_listener_fails_within_the_timeout_instead_of_hanging(
        pki: dict[str, Any], tls_broker: dict[str, Any], make_service: MakeService
) -> None:
    # Tansu's own port speaks plain Kafka; kafka-python's handshake alone would wait for ever
    svc = make_service(kafka_bootstrap=tls_broker["plain"], kafka_connect_timeout="3",
                       **{k.removeprefix("STREAMAL_").lower(): v for k, v in tls_env(pki).items()})
    started = time.monotonic()
    out = streamal(svc.env, "run", timeout=60)
    assert time.monotonic() - started < 20
    _fails_with_one_line(out, "did not answer the TLS handshake within 3s", "STREAMAL_KAFKA_SECURITY_PROTOCOL")


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"])
def test_an_authenticating_broker_that_refuses_the_login_fails_at_start_with_one_line(
        mechanism: str, make_service: MakeService, tmp_path: Path) -> None:
    with EmbeddedBroker(authentication=True, log_path=tmp_path / "tansu.log") as broker:
        secret = tmp_path / "password"
        secret.write_text("not-a-user-of-this-broker\n")
        svc = make_service(kafka_bootstrap=broker.bootstrap, kafka_connect_timeout="3",
                           kafka_security_protocol="SASL_PLAINTEXT", kafka_sasl_mechanism=mechanism,
                           kafka_sasl_username="streamal", kafka_sasl_password=f"@{secret}")
        out = streamal(svc.env, "run")
    last = _fails_with_one_line(out, f"over SASL_PLAINTEXT ({mechanism} as 'streamal')",
                                "STREAMAL_KAFKA_SASL_MECHANISM")
    assert "not-a-user-of-this-broker" not in out.stderr  # the password is never printed
    if mechanism.startswith("SCRAM"):  # Tansu speaks SCRAM and answers "unknown user"
        assert "refused the SASL login as 'streamal'" in last
    else:  # and offers no PLAIN: it hangs up
        assert "hung up during the SASL login" in last
