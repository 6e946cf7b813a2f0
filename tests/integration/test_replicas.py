"""Several replicas in one consumer group, coming and going, against a real broker (Tansu)."""

from __future__ import annotations

import random
import threading
import time
from typing import Any

import orjson
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from streamal.tools.embedded import EmbeddedBroker
from tests.integration.conftest import BOTH_CLIENTS, MakeService, ServiceProcess, read_topic, wait_for


def truth(features: dict[str, Any]) -> str:
    return "malicious" if features["size"] > 50 else "benign"


class Source(threading.Thread):
    """Publishes ``n`` keyed events at ``rate`` per second (the rest at once after ``hurry`` is set, none more
    after ``enough`` is set: ``features`` then holds every event sent)."""

    def __init__(self, bootstrap: str, topic: str, n: int, rate: float) -> None:
        super().__init__(daemon=True)
        self.producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
        self.topic, self.n, self.rate = topic, n, rate
        self.features: dict[str, dict[str, Any]] = {}
        self.hurry = threading.Event()
        self.enough = threading.Event()

    def run(self) -> None:
        rng = random.Random(7)
        started = time.monotonic()
        for i in range(self.n):
            if self.enough.is_set():
                break
            eid = f"evt-{i}"
            x = {"size": rng.random() * 100, "proto": rng.choice(["tcp", "udp"]), "port": rng.choice([22, 80, 443])}
            self.features[eid] = x
            self.producer.send(self.topic, key=eid.encode(), value=orjson.dumps({"id": eid, "features": x}))
            ahead = (i + 1) / self.rate - (time.monotonic() - started)
            if ahead > 0 and not self.hurry.is_set():
                time.sleep(ahead)
        self.producer.flush()
        self.producer.close()


class Analyst(threading.Thread):
    """Answers every review item once, by event id, with the ground truth."""

    def __init__(self, bootstrap: str, review: str, labels: str, source: Source) -> None:
        super().__init__(daemon=True)
        self.bootstrap, self.review, self.labels, self.source = bootstrap, review, labels, source
        self.answered: set[str] = set()
        self.stop = threading.Event()

    def run(self) -> None:
        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
        consumer.assign([TopicPartition(self.review, 0)])
        consumer.seek_to_beginning()
        producer = KafkaProducer(bootstrap_servers=self.bootstrap)
        while not self.stop.is_set():
            for records in consumer.poll(timeout_ms=200).values():
                for r in records:
                    eid = orjson.loads(r.value)["event_id"]
                    if eid in self.answered:
                        continue
                    self.answered.add(eid)
                    label = {"event_id": eid, "label": truth(self.source.features[eid]), "annotator": "analyst"}
                    producer.send(self.labels, key=eid.encode(), value=orjson.dumps(label))
            producer.flush()
        consumer.close()
        producer.close()


def assigned(svc: ServiceProcess) -> int:
    return int(svc.metric("streamal_assigned_partitions"))


@BOTH_CLIENTS
def test_three_replicas_one_joining_and_one_killed_lose_no_event(make_service: MakeService,
                                                                 broker: EmbeddedBroker) -> None:
    settings = {"topic_partitions": "4", "budget": "0.1", "seed_size": "10", "session_timeout_ms": "6000"}
    a = make_service("a", **settings).start()
    b = make_service("b", **settings).start()
    t = a.topics
    wait_for(lambda: assigned(a) + assigned(b) == 4, 30, "a and b share the four partitions")
    assert "waiting to join group" in a.log.read_text() and "assigned group=" in b.log.read_text()

    n = 3000
    source = Source(broker.bootstrap, t["events"], n, rate=200)
    source.start()
    analyst = Analyst(broker.bootstrap, t["review"], t["labels"], source)
    analyst.start()

    def scored(*replicas: ServiceProcess) -> float:
        return float(sum(r.metric('streamal_events_total{outcome="scored"}') for r in replicas))

    wait_for(lambda: scored(a, b) >= 500, 30, "a and b score the first events")
    c = make_service("c", **settings).start()  # joins mid-stream
    joined = wait_for(lambda: assigned(c) > 0, 30, "c receives partitions")
    wait_for(lambda: scored(c) > 0 and scored(a) > 0, 30, "c scores events of its own while a still does")
    held_by_a = assigned(a)
    assert held_by_a > 0
    a.kill()  # SIGKILL: no goodbye to the group
    killed_at = time.monotonic()
    takeover = wait_for(lambda: assigned(b) + assigned(c) == 4, 60, "b and c take over a's partitions")

    source.join(60)
    predictions = read_topic(broker.bootstrap, t["predictions"], expect=n, timeout=90, unique="event_id")
    ids = [p["event_id"] for p in predictions]
    missing = set(source.features) - set(ids)
    assert not missing, f"{len(missing)} events never scored, e.g. {sorted(missing)[:5]}"
    duplicates = len(ids) - len(set(ids))

    # every replica learns every label: once every review item is answered, b and c agree on the model version
    queried = {r["event_id"] for r in read_topic(broker.bootstrap, t["review"])}
    wait_for(lambda: queried <= analyst.answered, 30, "the analyst answers every review item")
    analyst.stop.set()
    analyst.join(10)
    expected = len(analyst.answered)
    for svc in (b, c):
        svc.wait_metric("streamal_model_version", expected, timeout=60)
    assert b.metric("streamal_model_version") == c.metric("streamal_model_version") == expected
    print(f"\nfailover: c ready and assigned {joined:.1f}s after start; a held {held_by_a} partitions; "
          f"b and c held all 4 again {takeover:.1f}s after SIGKILL (session timeout 6 s); events {n}, "
          f"lost 0, duplicate predictions {duplicates}; labels learned by each survivor {expected}")
    assert takeover <= 3 * 6.0, f"takeover took {takeover:.1f}s since the kill at {killed_at}"
    for svc in (b, c):
        assert svc.stop() == 0
        log = svc.log.read_text()
        assert "Traceback" not in log and "RuntimeError" not in log
