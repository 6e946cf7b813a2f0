"""A burst: events outrun the first labels, and the budget is still spent as events pass."""

from __future__ import annotations

import random
import threading
import time
from typing import Any

import orjson
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from streamal.core.names import REASONS
from streamal.tools.embedded import EmbeddedBroker
from tests.integration.conftest import MakeService, send, wait_until


def truth(x: dict[str, Any]) -> str:
    return "malicious" if x["bytes"] > 800 and x["proto"] == "tcp" else "benign"


class SlowAnalyst(threading.Thread):
    """Answers each review item ``delay`` seconds after it appeared on the review topic."""

    def __init__(self, bootstrap: str, review: str, labels: str, features: dict[str, dict[str, Any]],
                 delay: float) -> None:
        super().__init__(daemon=True)
        self.bootstrap, self.review, self.labels = bootstrap, review, labels
        self.features, self.delay = features, delay
        self.answered: set[str] = set()
        self.stop = threading.Event()

    def run(self) -> None:
        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
        consumer.assign([TopicPartition(self.review, 0)])
        consumer.seek_to_beginning()
        producer = KafkaProducer(bootstrap_servers=self.bootstrap)
        waiting: list[tuple[float, str]] = []
        while not self.stop.is_set():
            for records in consumer.poll(timeout_ms=100).values():
                for r in records:
                    waiting.append((time.monotonic() + self.delay, orjson.loads(r.value)["event_id"]))
            now = time.monotonic()
            due = [eid for at, eid in waiting if at <= now and eid not in self.answered]
            waiting = [(at, eid) for at, eid in waiting if at > now]
            for eid in due:
                self.answered.add(eid)
                label = {"event_id": eid, "label": truth(self.features[eid]), "annotator": "analyst"}
                producer.send(self.labels, key=eid.encode(), value=orjson.dumps(label))
            producer.flush()
        consumer.close()
        producer.close()


def test_a_burst_of_events_spends_the_budget_while_the_first_labels_are_late(
        make_service: MakeService, producer: KafkaProducer, broker: EmbeddedBroker
) -> None:
    n, budget, audit = 10_000, 0.05, 0.1
    svc = make_service(budget=str(budget), audit_share=str(audit)).start()
    t = svc.topics
    rng = random.Random(11)
    features = {f"e{i}": {"bytes": rng.randint(0, 1500), "proto": rng.choice(["tcp", "udp"]),
                          "port": rng.choice([22, 53, 80, 443])} for i in range(n)}
    send(producer, t["events"], [{"id": eid, "features": x} for eid, x in features.items()],
         key=lambda e: e["id"].encode())  # all at once, before any label
    analyst = SlowAnalyst(broker.bootstrap, t["review"], t["labels"], features, delay=3.0)
    analyst.start()
    svc.wait_metric('streamal_events_total{outcome="scored"}', n, timeout=120)
    queries = {r: svc.metric(f'streamal_queries_total{{reason="{r}"}}') for r in REASONS}
    asked = sum(queries.values())

    def all_learned() -> bool:
        return len(analyst.answered) >= asked and svc.metric('streamal_labels_total{outcome="learned"}') >= asked

    wait_until(all_learned, 60, every=0.2)
    analyst.stop.set()
    analyst.join(10)
    learned = svc.metric('streamal_labels_total{outcome="learned"}')
    print(f"\nburst: {n} events at once, budget {budget}: {asked:.0f} queries ({asked / n:.2%} of events, "
          f"{asked / (budget * n):.0%} of budget x events) by reason {queries}; "
          f"audit {queries['random']:.0f} of a share of {budget * audit * n:.0f}; "
          f"answered {len(analyst.answered)}, learned {learned:.0f}")
    assert 0.9 * budget * n <= asked <= budget * n
    assert queries["random"] >= 0.8 * budget * audit * n
    assert learned == len(analyst.answered) == asked  # every answered label learned
    assert queries["seed"] > 20  # the cold start went on asking past the seed, without labels
    assert svc.stop() == 0
