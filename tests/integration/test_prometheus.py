"""A real Prometheus scrapes a running streamal; PromQL over its HTTP API sees the loop."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, KafkaProducer

from streamal.tools.embedded import EmbeddedBroker
from tests.integration.conftest import MakeService, PrometheusServer, send, wait_until


def flipping_events(n: int) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """x decides the label; halfway the rule flips: an abrupt concept drift."""
    rng = random.Random(7)
    events, truth = [], {}
    for i in range(n):
        x = rng.random()
        label = ("hi" if x > 0.5 else "lo") if i < n // 2 else ("lo" if x > 0.5 else "hi")
        events.append({"id": f"e{i}", "features": {"x": x, "noise": rng.random()}})
        truth[f"e{i}"] = label
    return events, truth


def analyst(bootstrap: str, topics: dict[str, Any], truth: dict[str, Any], producer: KafkaProducer,
            stop: threading.Event) -> None:
    consumer = KafkaConsumer(topics["review"], bootstrap_servers=bootstrap, group_id="analyst",
                             auto_offset_reset="earliest", session_timeout_ms=6000)
    try:
        while not stop.is_set():
            for records in consumer.poll(timeout_ms=200).values():
                import orjson

                items = [orjson.loads(r.value) for r in records]
                send(producer, topics["labels"], [{"event_id": it["event_id"], "label": truth[it["event_id"]],
                                                   "annotator": "oracle"} for it in items])
    finally:
        consumer.close()


def test_prometheus_scrapes_query_rate_accuracy_and_drift_alarms(make_service: MakeService, producer: KafkaProducer,
                                                                 broker: EmbeddedBroker, tmp_path: Path) -> None:
    svc = make_service(budget="0.2", seed_size="10", drift_warmup="50", model="hat").start()
    prom = PrometheusServer([f"127.0.0.1:{svc.port}"], tmp_path)
    stop = threading.Event()
    worker = threading.Thread(target=analyst, args=(broker.bootstrap, svc.topics, truth := {}, producer, stop))
    try:
        events, labels = flipping_events(4000)
        truth.update(labels)
        worker.start()
        for start in range(0, len(events), 50):  # a steady stream the analyst keeps up with
            send(producer, svc.topics["events"], events[start:start + 50], key=lambda e: e["id"].encode())
            time.sleep(0.1)
        svc.wait_metric('streamal_events_total{outcome="scored"}', 4000, timeout=60)
        # labels from after the flip too (about 400 queries each side of it): on a busy machine the
        # analyst may still be answering the first half when every event is scored
        svc.wait_metric('streamal_labels_total{outcome="learned"}', 600, timeout=90)

        got: dict[str, list[dict[str, Any]]] = {}

        def scraped() -> bool:  # Prometheus has scraped the run's end: the labels learned and an alarm
            got["rate"] = prom.query("sum(increase(streamal_queries_total[5m]))"
                                     ' / sum(increase(streamal_events_total{outcome="scored"}[5m]))')
            got["accuracy"] = prom.query("streamal_accuracy")
            got["alarms"] = prom.query("sum by (detector) (streamal_drift_alarms_total)")
            learned = prom.query('streamal_labels_total{outcome="learned"}')
            return bool(got["rate"] and learned and float(learned[0]["value"][1]) >= 600
                        and any(float(a["value"][1]) > 0 for a in got["alarms"]))

        wait_until(scraped, 60, every=1)
        rate, accuracy, alarms = got["rate"], got["accuracy"], got["alarms"]
        assert prom.query('up{job="streamal"}')[0]["value"][1] == "1"
        query_rate = float(rate[0]["value"][1])
        assert 0.1 < query_rate < 0.4, query_rate  # about the budget of 0.2
        by_estimate = {a["metric"]["estimate"]: float(a["value"][1]) for a in accuracy}
        assert set(by_estimate) == {"audit", "queried"}
        assert 0.3 < by_estimate["queried"] <= 1.0
        by_detector = {a["metric"]["detector"]: float(a["value"][1]) for a in alarms}
        assert set(by_detector) == {"error", "confidence"}
        assert sum(by_detector.values()) >= 1, f"the flipped concept raises a drift alarm: {by_detector}"
        lag = prom.query("streamal_consumer_lag_messages")
        assert [x["metric"]["partition"] for x in lag] == ["0"] and float(lag[0]["value"][1]) >= 0
        assert float(prom.query("streamal_model_version")[0]["value"][1]) >= 600
        last = prom.query('max(streamal_drift_last_alarm_timestamp_seconds)')
        assert float(last[0]["value"][1]) > time.time() - 300
    finally:
        stop.set()
        worker.join(10)
        prom.stop()
    assert svc.stop() == 0
