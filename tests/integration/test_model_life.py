"""The model's life with two replicas and a real broker: a snapshot and a rollback reach both at the same point."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import orjson
from kafka import KafkaProducer

from streamal.tools.embedded import EmbeddedBroker
from tests.integration.conftest import MakeService, ServiceProcess, read_topic, wait_for

ADMIN = "admin-integration-token"
PROBES = [{"size": float(s), "proto": p} for s in (5, 30, 45, 55, 70, 95) for p in ("tcp", "udp")]


def labels(producer: KafkaProducer, topic: str, start: int, n: int, *, wrong: bool = False) -> None:
    for i in range(start, start + n):
        x: dict[str, Any] = {"size": float((i * 37) % 100), "proto": "tcp" if i % 2 else "udp"}
        truth = "malicious" if x["size"] > 50 else "benign"
        label = ("benign" if truth == "malicious" else "malicious") if wrong else truth
        msg = {"event_id": f"l{i}", "label": label, "features": x, "annotator": "careless" if wrong else "analyst"}
        producer.send(topic, key=f"l{i}".encode(), value=orjson.dumps(msg))
    producer.flush()


def versions_of(*services: ServiceProcess) -> list[int]:
    return [int(s.metric("streamal_model_version")) for s in services]


def model(args: list[str], url: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, STREAMAL_ADMIN_TOKEN=ADMIN)
    return subprocess.run([sys.executable, "-m", "streamal", "model", "--url", url, *args], env=env,
                          capture_output=True, text=True, timeout=60)


def test_a_rollback_reaches_both_replicas_at_the_same_point_and_leaves_them_with_the_same_model(
        make_service: MakeService, producer: KafkaProducer, broker: EmbeddedBroker) -> None:
    settings = {"topic_partitions": "2", "admin_tokens": f"sre:{ADMIN}", "snapshot_every": "0", "budget": "0.05",
                "model": "linear", "challenger_model": "hat"}
    a = make_service("a", **settings).start()
    b = make_service("b", **settings).start()
    wait_for(lambda: a.metric("streamal_assigned_partitions") + b.metric("streamal_assigned_partitions") == 2
             and a.metric("streamal_assigned_partitions") == 1, 60, "one partition each")
    labels(producer, a.topics["labels"], 0, 40)
    wait_for(lambda: versions_of(a, b) == [40, 40], 60, "both replicas learned the 40 labels")

    out = model(["snapshot"], a.url)
    assert out.returncode == 0, out.stderr
    wait_for(lambda: all("40" in model(["list"], s.url).stdout.split() for s in (a, b)), 30, "a snapshot of v40 "
             "on both replicas")
    labels(producer, a.topics["labels"], 40, 30, wrong=True)  # a bad afternoon of labels
    wait_for(lambda: versions_of(a, b) == [70, 70], 60, "both replicas learned the bad labels")

    out = model(["rollback", "40", "--no-replay-labels"], b.url)  # asked of one replica, applied by both
    assert out.returncode == 0 and "rollback to version 40 sent to every replica" in out.stdout, out.stderr
    wait_for(lambda: versions_of(a, b) == [40, 40], 60, "both replicas back at version 40")
    for svc in (a, b):
        history = model(["history"], svc.url).stdout
        assert "rollback from v70 to v40, 30 dropped, by sre" in history, history  # the same point of the log

    for i, x in enumerate(PROBES):  # the same events to both partitions: each replica scores one of each pair
        for partition in (0, 1):
            producer.send(a.topics["events"], partition=partition, key=f"p{i}-{partition}".encode(),
                          value=orjson.dumps({"id": f"p{i}-{partition}", "features": x}))
    producer.flush()
    got = {m["event_id"]: m for m in read_topic(broker.bootstrap, a.topics["predictions"], expect=2 * len(PROBES),
                                                  unique="event_id")}
    for i in range(len(PROBES)):
        one, other = got[f"p{i}-0"], got[f"p{i}-1"]
        assert one["model_version"] == other["model_version"] == 40
        assert one["prediction"] == other["prediction"] and one["proba"] == other["proba"], (one, other)
    assert {got[f"p{i}-0"]["prediction"] for i in range(len(PROBES))} == {"benign", "malicious"}

    labels(producer, a.topics["labels"], 100, 10, wrong=True)  # the careless annotator again...
    labels(producer, a.topics["labels"], 200, 5)  # ...and good labels after
    wait_for(lambda: versions_of(a, b) == [55, 55], 60, "both replicas learned 15 more labels")
    out = model(["rebuild", "--exclude", "annotator=careless"], a.url)
    assert out.returncode == 0, out.stderr
    wait_for(lambda: versions_of(a, b) == [45, 45], 60, "both replicas rebuilt without the careless labels")
    for svc in (a, b):
        assert "rebuild from v40 without 10 labels (annotator careless), 5 learned again" in model(
            ["history"], svc.url).stdout

    challenger = 'streamal_accuracy{estimate="queried",model="challenger"}'
    assert all(0 < s.metric(challenger) <= 1 for s in (a, b))  # the challenger learned and was judged, beside
    out = model(["promote"], b.url)
    assert out.returncode == 0, out.stderr
    served = 'streamal_build_info{model="hat",strategy="margin",version="'
    wait_for(lambda: all(any(k.startswith(served) for k in s.metrics()) for s in (a, b)), 30,
             "the challenger serves on both replicas")
    assert "challenger linear" in model(["list"], a.url).stdout
    for svc in (a, b):
        assert "promote: hat serves, linear is the challenger, by sre" in model(["history"], svc.url).stdout

    assert model(["rollback", "55"], a.url).returncode == 1  # not kept: refused, nothing sent
    denied = subprocess.run([sys.executable, "-m", "streamal", "model", "--url", a.url, "list"],
                            env=dict(os.environ, STREAMAL_ADMIN_TOKEN="not-the-token"), capture_output=True,
                            text=True, timeout=60)
    assert denied.returncode == 1 and "401" in denied.stderr
