"""Start-up and restarts: fail fast and plainly, and honour the settings a restart is given."""

from __future__ import annotations

import random
import socket
import subprocess
import sys
import time
from typing import Any

from kafka import KafkaProducer

from streamal.core.names import REASONS
from streamal.tools.embedded import EmbeddedBroker, free_port
from tests.integration.conftest import BOTH_CLIENTS, MakeService, ServiceProcess, read_topic, send, wait_until


def run_once(svc: ServiceProcess, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "streamal", "run", *args], env=svc.env, capture_output=True,
                          text=True, timeout=timeout)


def events(start: int, n: int) -> list[dict[str, Any]]:
    rng = random.Random(start)
    return [{"id": f"evt-{i}", "features": {"size": rng.random() * 100, "proto": rng.choice(["tcp", "udp"])}}
            for i in range(start, start + n)]


def truth(e: dict[str, Any]) -> str:
    return "malicious" if e["features"]["size"] > 50 else "benign"


def test_a_port_in_use_exits_2_with_one_line(make_service: MakeService) -> None:
    svc = make_service()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", svc.port))
        taken.listen()
        started = time.monotonic()
        out = run_once(svc)
    assert out.returncode == 2
    assert time.monotonic() - started < 20
    lines = out.stderr.strip().splitlines()
    assert lines[-1] == f"streamal run: error: STREAMAL_HTTP_PORT: port {svc.port} on 127.0.0.1 is already in use"
    assert "Traceback" not in out.stderr
    assert [line for line in lines[:-1] if " WARNING " not in line] == []  # at most the warnings about the setup


def test_an_unreachable_broker_fails_within_the_bound_with_one_clear_line(make_service: MakeService) -> None:
    svc = make_service()
    dead = f"127.0.0.1:{free_port()}"
    svc.env |= {"STREAMAL_KAFKA_BOOTSTRAP": dead, "STREAMAL_KAFKA_CONNECT_TIMEOUT": "2"}
    started = time.monotonic()
    out = run_once(svc)
    took = time.monotonic() - started
    assert out.returncode == 1
    assert took < 15, f"took {took:.1f}s"
    lines = out.stderr.strip().splitlines()
    assert any(f"connecting to {dead}" in line for line in lines)
    assert lines[-1].startswith(f"streamal run: error: cannot reach Kafka at {dead} over PLAINTEXT within 2s")
    assert not [line for line in lines if " kafka." in line], "kafka-python's own logs leaked out"
    assert "Traceback" not in out.stderr and len(lines) <= 4, out.stderr


def label_all(producer: KafkaProducer, svc: ServiceProcess, broker: EmbeddedBroker,
              by_id: dict[str, dict[str, Any]]) -> int:
    review = read_topic(broker.bootstrap, svc.topics["review"])
    fresh = [r for r in review if r["event_id"] in by_id]
    send(producer, svc.topics["labels"], [{"event_id": r["event_id"], "label": truth(by_id[r["event_id"]])}
                                          for r in fresh])
    return len({r["event_id"] for r in fresh})


def queries(svc: ServiceProcess) -> float:
    return float(sum(svc.metric(f'streamal_queries_total{{reason="{r}"}}') for r in REASONS))


def test_a_restart_takes_new_tunable_settings_and_refuses_a_new_model_without_reset(
        make_service: MakeService, producer: KafkaProducer, broker: EmbeddedBroker
) -> None:
    svc = make_service(budget="0.05", strategy="uncertainty", seed_size="10").start()
    first = events(0, 400)
    by_id = {e["id"]: e for e in first}
    send(producer, svc.topics["events"], first)
    svc.wait_metric('streamal_events_total{outcome="scored"}', 400)
    answered = label_all(producer, svc, broker, by_id)
    svc.wait_metric("streamal_model_version", answered)
    assert svc.stop() == 0
    (svc.state_dir / ".checkpoint-stale123.tmp").write_bytes(b"left by a kill during a save")

    # a larger budget is in force after the restart: four times the queries on the next events
    bigger = svc.again(budget="0.2").start()
    assert not (svc.state_dir / ".checkpoint-stale123.tmp").exists()
    log = bigger.log.read_text()
    assert "budget 0.05 -> 0.2" in log and "removed a temporary file" in log
    second = events(400, 2000)
    send(producer, svc.topics["events"], second)
    bigger.wait_metric('streamal_events_total{outcome="scored"}', 2000)
    asked = queries(bigger)
    assert 0.15 * 2000 <= asked <= 0.2 * 2000 + 20, asked
    assert bigger.metric("streamal_budget_ratio") == 0.2
    assert bigger.metric("streamal_model_version") == answered
    assert bigger.stop() == 0

    # another strategy: refused at start, one line saying what changed and what to do
    out = run_once(svc.again(strategy="margin"))
    assert out.returncode == 2
    assert "STREAMAL_STRATEGY" in out.stderr and "'uncertainty'" in out.stderr and "'margin'" in out.stderr
    assert "--reset-model" in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr

    # --reset-model: a fresh model of the new kind, which learns the labels topic again
    fresh = svc.again(strategy="margin", model="linear")
    with fresh.log.open("ab") as fresh_log:
        fresh.proc = subprocess.Popen([sys.executable, "-m", "streamal", "run", "--reset-model"], env=fresh.env,
                                      stdout=fresh_log, stderr=subprocess.STDOUT)

    def ready() -> bool:
        try:
            return fresh.metric("streamal_ready") == 1
        except OSError:
            return False

    wait_until(ready, 60, every=0.2)
    assert fresh.metric("streamal_model_version") == answered
    info = [k for k in fresh.metrics() if k.startswith("streamal_build_info")]
    assert any('strategy="margin"' in k and 'model="linear"' in k for k in info)
    assert list(svc.state_dir.glob("checkpoint-*.replaced"))
    assert fresh.stop() == 0


@BOTH_CLIENTS
def test_a_static_member_joins_and_a_restart_under_the_same_name_gets_its_partition_back(
        make_service: MakeService, kafka_client: str) -> None:
    """STREAMAL_GROUP_INSTANCE_ID reaches both clients and the broker takes it (how fast: benchmarks/restart.py)."""
    svc = make_service(group_instance_id="replica-0").start()
    assert wait_until(lambda: svc.metric("streamal_assigned_partitions") == 1, 60)
    svc.kill()
    again = svc.again().start(timeout=120)
    assert wait_until(lambda: again.metric("streamal_assigned_partitions") == 1, 60)
    assert "Traceback" not in again.log.read_text()
    assert again.stop() == 0
