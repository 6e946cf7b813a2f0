"""Active learning that stays active while an analyst takes a second or two to answer, with a real broker.

A drifting stream (the concept flips half-way) at several hundred events a
second, an analyst who answers each review item about 1.5 s after it appears:
labels are always outstanding. The queries' reasons must show the strategy at
work (not random exploration), drift alarms must send events to review with
reason ``drift``, and the review API must hand out the most useful item.
"""

from __future__ import annotations

import heapq
import random
import threading
import time
import urllib.request
from typing import Any

import orjson
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from streamal.tools.embedded import EmbeddedBroker
from tests.integration.conftest import MakeService, read_topic, wait_for

FLIP = 6000  # the concept flips at this event


def truth(i: int, x: dict[str, Any]) -> str:
    big = x["size"] + 10 * (x["proto"] == "udp") > 55
    return ("bad" if big else "ok") if i < FLIP else ("ok" if big else "bad")


class Source(threading.Thread):
    """``n`` events at ``rate`` per second; their truth flips at ``FLIP``."""

    seed = 3

    def __init__(self, bootstrap: str, topic: str, n: int, rate: float) -> None:
        super().__init__(daemon=True)
        self.bootstrap, self.topic, self.n, self.rate = bootstrap, topic, n, rate
        self.truth: dict[str, str] = {}
        self.index: dict[str, int] = {}

    def event(self, i: int, rng: random.Random) -> tuple[dict[str, Any], str]:
        """Event ``i``'s features and its truth."""
        x = {"size": rng.random() * 100, "proto": rng.choice(["tcp", "udp"]), "noise": rng.gauss(0, 1)}
        return x, truth(i, x)

    def run(self) -> None:
        producer = KafkaProducer(bootstrap_servers=self.bootstrap, linger_ms=5)
        rng = random.Random(self.seed)
        started = time.monotonic()
        for i in range(self.n):
            eid = f"evt-{i}"
            x, self.truth[eid] = self.event(i, rng)
            self.index[eid] = i
            producer.send(self.topic, key=eid.encode(), value=orjson.dumps({"id": eid, "features": x}))
            ahead = (i + 1) / self.rate - (time.monotonic() - started)
            if ahead > 0:
                time.sleep(ahead)
        producer.flush()
        producer.close()


class SlowAnalyst(threading.Thread):
    """Answers each review item (not the withdrawn ones) ``delay`` seconds after reading it."""

    def __init__(self, bootstrap: str, review: str, labels: str, source: Source, delay: float) -> None:
        super().__init__(daemon=True)
        self.bootstrap, self.review, self.labels, self.source, self.delay = bootstrap, review, labels, source, delay
        self.stop = threading.Event()
        self.answered = 0
        self.withdrawn: set[str] = set()

    def run(self) -> None:
        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
        consumer.assign([TopicPartition(self.review, 0)])
        consumer.seek_to_beginning()
        producer = KafkaProducer(bootstrap_servers=self.bootstrap)
        due: list[tuple[float, str]] = []
        while not self.stop.is_set():
            for records in consumer.poll(timeout_ms=50).values():
                for r in records:
                    msg = orjson.loads(r.value)
                    if msg.get("status") == "withdrawn":
                        self.withdrawn.add(msg["event_id"])
                    elif "status" not in msg:
                        heapq.heappush(due, (time.monotonic() + self.delay, msg["event_id"]))
            while due and due[0][0] <= time.monotonic():
                _, eid = heapq.heappop(due)
                if eid in self.withdrawn:
                    continue
                label = {"event_id": eid, "label": self.source.truth[eid], "annotator": "analyst"}
                producer.send(self.labels, key=eid.encode(), value=orjson.dumps(label))
                self.answered += 1
        producer.flush()
        consumer.close()
        producer.close()


def test_with_labels_outstanding_the_strategy_chooses_and_drift_reaches_the_analysts(make_service: MakeService,
                                                                                     broker: EmbeddedBroker) -> None:
    svc = make_service("a", budget="0.05", drift_warmup="100", review_tokens="analyst-1:token-one-1234").start()
    t = svc.topics
    n = 12_000
    source = Source(broker.bootstrap, t["events"], n, rate=600)
    analyst = SlowAnalyst(broker.bootstrap, t["review"], t["labels"], source, delay=1.5)
    source.start()
    analyst.start()
    try:
        source.join(120)
        wait_for(lambda: svc.metric('streamal_events_total{outcome="scored"}') >= n, 60, "every event scored")
        time.sleep(3)  # the last answers come in

        # the review API serves the most useful open item, claimed for whoever asks
        req = urllib.request.Request(f"{svc.url}/api/review/next", headers={"Authorization": "Bearer token-one-1234"})
        with urllib.request.urlopen(req, timeout=5) as resp:
            if resp.status == 200:
                item = orjson.loads(resp.read())
                assert item["claimed_by"] == "analyst-1" and "utility" in item
    finally:
        analyst.stop.set()
        analyst.join(10)

    m = svc.metrics()
    queries = {k.split('"')[1]: v for k, v in m.items() if k.startswith("streamal_queries_total{")}
    audit = queries.get("random", 0)
    non_audit = sum(queries.values()) - audit
    chosen = sum(v for r, v in queries.items() if r not in ("seed", "explore", "random"))
    assert non_audit > 0.5 * 0.05 * n, queries
    # the rest: the cold-start seed while the first labels are 1.5 s away (about a tenth), and the documented
    # explore share of 15% while labels are out: about three quarters are the strategy's (74% to 76% measured over
    # three runs of this test on a busy machine; 59% to 68% with the earlier 25% share, 32% with the rule before)
    assert chosen / non_audit >= 0.65, f"the strategy chose {chosen} of {non_audit} non-audit queries: {queries}"
    print(f"\nlive reasons with an analyst 1.5 s away: {queries}; chosen {chosen / non_audit:.0%} of non-audit")
    alarms = sum(v for k, v in m.items() if k.startswith("streamal_drift_alarms_total"))
    assert alarms >= 1, "the flip raised no drift alarm"
    assert queries.get("drift", 0) > 0, f"no query with reason drift after {alarms:g} alarms: {queries}"
    items = [i for i in read_topic(broker.bootstrap, t["review"]) if "status" not in i]
    drift_items = [source.index[i["event_id"]] for i in items if i["reason"] == "drift"]
    # most follow the real drift; an early alarm of the confidence monitor may spend part of the reserve before it
    # (one run of this test on a busy machine: 61 of 88 after the flip, the first alarm 360 events early)
    assert sum(ix >= FLIP for ix in drift_items) > 0.5 * len(drift_items), "drift queries mostly before the drift"
    assert m["streamal_model_version"] >= 0.8 * analyst.answered


class NewClassSource(Source):
    """Two classes by size; from event 2500 on, one in 40 is a huge upload of a class never seen (``exfil``)."""

    seed = 5

    def event(self, i: int, rng: random.Random) -> tuple[dict[str, Any], str]:
        if i >= 2500 and rng.random() < 1 / 40:
            return {"size": rng.uniform(1e8, 2e8), "proto": "tcp"}, "exfil"
        x: dict[str, Any] = {"size": rng.random() * 100, "proto": rng.choice(["tcp", "udp"])}
        return x, "bad" if x["size"] > 50 else "ok"


def test_a_new_class_is_asked_at_once_named_counted_and_its_audit_recall_exported(make_service: MakeService,
                                                                                  broker: EmbeddedBroker) -> None:
    svc = make_service("a", budget="0.1", audit_share="0.3").start()
    t = svc.topics
    n = 5000
    source = NewClassSource(broker.bootstrap, t["events"], n, rate=800)
    analyst = SlowAnalyst(broker.bootstrap, t["review"], t["labels"], source, delay=0.3)
    source.start()
    analyst.start()
    try:
        source.join(60)
        wait_for(lambda: svc.metric('streamal_events_total{outcome="scored"}') >= n, 60, "every event scored")
        wait_for(lambda: svc.metric("streamal_classes_total") >= 3, 30, "the new class learned")
    finally:
        analyst.stop.set()
        analyst.join(10)
    m = svc.metrics()
    assert m["streamal_classes_total"] == 3
    assert m["streamal_new_class_timestamp_seconds"] > 0
    assert "new class learned class='exfil'" in svc.log.read_text()
    items = [i for i in read_topic(broker.bootstrap, t["review"]) if "status" not in i]
    first = min(source.index[e] for e, y in source.truth.items() if y == "exfil")
    novelty = [i for i in items if i["reason"] == "novelty"]
    assert any(source.index[i["event_id"]] == first for i in novelty), "the first exfil event was not asked"
    assert {"novel": ["size"]} in [i["explanation"] for i in novelty]
    recall = {k: v for k, v in m.items() if k.startswith("streamal_audit_recall{")}
    assert 'streamal_audit_recall{class="ok"}' in recall and 'streamal_audit_recall{class="bad"}' in recall
    assert len(recall) <= 11  # ten classes by name at most, and other
