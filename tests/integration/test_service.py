"""The service end to end over a real Kafka-protocol broker (Tansu)."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest
from kafka import KafkaProducer

from streamal.core.names import REASONS
from streamal.service.checkpoint import CheckpointStore
from streamal.tools.embedded import EmbeddedBroker
from tests.integration.conftest import BOTH_CLIENTS, MakeService, read_topic, send


def events(start: int, n: int, seed: int = 0) -> list[dict[str, Any]]:
    rng = random.Random(seed + start)
    out = []
    for i in range(start, start + n):
        proto = rng.choice(["tcp", "udp"])
        size = rng.random() * 100
        out.append({"id": f"evt-{i}", "features": {"size": size, "proto": proto, "vpn": rng.random() < 0.5},
                    "meta": {"source": "test"}})
    return out


def truth(event: dict[str, Any]) -> str:
    return "malicious" if event["features"]["size"] > 50 else "benign"


def answer(producer: KafkaProducer, topic: str, items: list[dict[str, Any]], by_id: dict[str, dict[str, Any]]) -> None:
    labels = [{"event_id": it["event_id"], "label": truth(by_id[it["event_id"]]), "annotator": "analyst-1",
               "labeled_at": "2030-01-01T00:00:00Z"} for it in items]
    send(producer, topic, labels)


@BOTH_CLIENTS
def test_events_in_review_and_predictions_out_labels_learned(make_service: MakeService, producer: KafkaProducer,
                                                             broker: EmbeddedBroker) -> None:
    svc = make_service(budget="0.2", seed_size="10").start()
    t = svc.topics
    metrics = svc.metrics()
    for key in ['streamal_events_total{outcome="scored"}', 'streamal_queries_total{reason="drift"}',
                'streamal_labels_total{outcome="duplicate"}',
                'streamal_accuracy_labels{estimate="audit",model="champion"}',
                'streamal_drift_alarms_total{detector="confidence"}', "streamal_review_backlog",
                "streamal_event_processing_seconds_count", "streamal_label_delay_seconds_count"]:
        assert metrics[key] == 0, key
    # no label yet: no accuracy, not 0
    assert math.isnan(metrics['streamal_accuracy{estimate="audit",model="champion"}'])

    batch = events(0, 300)
    by_id = {e["id"]: e for e in batch}
    send(producer, t["events"], batch, key=lambda e: e["id"].encode())
    svc.wait_metric('streamal_events_total{outcome="scored"}', 300)

    predictions = read_topic(broker.bootstrap, t["predictions"], expect=300)
    assert sorted(p["event_id"] for p in predictions) == sorted(by_id)
    assert {"prediction", "proba", "model_version", "queried"} <= set(predictions[0])
    review = read_topic(broker.bootstrap, t["review"])
    assert len(review) >= 10  # the cold-start seed at least
    assert all(r["reason"] in REASONS for r in review)
    assert review[0]["meta"] == {"source": "test"} and "queried_at" in review[0]
    queried = sum(
        svc.metric(f'streamal_queries_total{{reason="{r}"}}') for r in REASONS
    )
    assert queried == len(review) == sum(p["queried"] for p in predictions)

    answer(producer, t["labels"], review, by_id)
    svc.wait_metric('streamal_labels_total{outcome="learned"}', len(review))
    assert svc.metric("streamal_model_version") == len(review)
    assert svc.metric("streamal_review_backlog") == 0
    assert svc.metric("streamal_label_delay_seconds_count") == len(review)

    # the model learned: more events, predictions now follow the rule
    batch2 = events(300, 200, seed=1)
    by_id.update({e["id"]: e for e in batch2})
    send(producer, t["events"], batch2)
    predictions = read_topic(broker.bootstrap, t["predictions"], expect=500)
    late = [p for p in predictions if int(p["event_id"].split("-")[1]) >= 300]
    right = sum(p["prediction"] == truth(by_id[p["event_id"]]) for p in late)
    assert right / len(late) > 0.7

    # a label said twice, a label for an event nobody asked about, a malformed label
    send(producer, t["labels"], [
        {"event_id": review[0]["event_id"], "label": "benign"},
        {"event_id": "evt-never", "label": "benign"},
        b"{not json",
    ])
    svc.wait_metric('streamal_labels_total{outcome="duplicate"}', 1)
    svc.wait_metric('streamal_labels_total{outcome="invalid"}', 1)
    svc.wait_metric('streamal_labels_total{outcome="unknown"}', 1, timeout=30)
    assert svc.metric("streamal_model_version") == len(review)
    assert svc.stop() == 0


@BOTH_CLIENTS
def test_malformed_events_are_dead_lettered_and_the_loop_goes_on(make_service: MakeService, producer: KafkaProducer,
                                                                 broker: EmbeddedBroker) -> None:
    svc = make_service(max_features="5", max_event_bytes="2000").start()
    t = svc.topics
    bad = [
        b"this is not json",
        b'["a", "list"]',
        b'{"features": {"a": 1}}',
        b'{"id": "n1", "features": {"nested": {"a": {"b": {"c": {"d": 1}}}}}}',
        b'{"id": "n2", "features": {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "f": 6}}',
        b'{"id": "n3", "features": {"big": "' + b"x" * 3000 + b'"}}',
        b"\xff\xfe\x00",
    ]
    send(producer, t["events"], bad)
    send(producer, t["events"], events(0, 20))
    svc.wait_metric('streamal_events_total{outcome="scored"}', 20)
    assert svc.metric('streamal_events_total{outcome="invalid"}') == len(bad)
    dead = read_topic(broker.bootstrap, t["deadletter"], expect=len(bad))
    assert len(dead) == len(bad)
    reasons = [d["error"] for d in dead]
    assert any("not valid JSON" in r for r in reasons)
    assert any("'id' is required" in r for r in reasons)
    assert any("feature 'nested.a.b.c' nests deeper than 4 levels" in r for r in reasons)
    assert any("over the limit of 5" in r for r in reasons)
    assert any("over the limit of 2000" in r for r in reasons)
    assert all({"topic", "partition", "offset", "value", "encoding"} <= set(d) for d in dead)
    assert dead[-1]["encoding"] == "base64"
    assert svc.stop() == 0


def test_event_with_its_label_is_learned_through_the_labels_topic(make_service: MakeService, producer: KafkaProducer,
                                                                  broker: EmbeddedBroker) -> None:
    svc = make_service().start()
    t = svc.topics
    labelled = [dict(e, label=truth(e)) for e in events(0, 50)]
    send(producer, t["events"], labelled)
    svc.wait_metric('streamal_labels_total{outcome="learned"}', 50)
    assert svc.metric("streamal_model_version") == 50
    labels = read_topic(broker.bootstrap, t["labels"], expect=50)
    assert all("features" in lb for lb in labels)
    assert svc.stop() == 0


@BOTH_CLIENTS
def test_sigterm_and_restart_keep_state_and_offsets(make_service: MakeService, producer: KafkaProducer,
                                                    broker: EmbeddedBroker) -> None:
    svc = make_service(budget="0.2", seed_size="10").start()
    t = svc.topics
    first = events(0, 200)
    by_id = {e["id"]: e for e in first}
    send(producer, t["events"], first)
    svc.wait_metric('streamal_events_total{outcome="scored"}', 200)
    review = read_topic(broker.bootstrap, t["review"])
    answer(producer, t["labels"], review, by_id)
    learned = svc.wait_metric('streamal_labels_total{outcome="learned"}', len(review))
    assert svc.stop() == 0
    assert "stopped cleanly" in svc.log.read_text()

    state = CheckpointStore(svc.state_dir).load()
    assert state is not None and state["learner"].model_version == learned

    # labels and events that arrive while the service is down
    second = events(200, 100, seed=2)
    by_id.update({e["id"]: e for e in second})
    send(producer, t["events"], second)

    svc2 = svc.again().start()
    assert svc2.metric("streamal_model_version") == learned  # the learned model came back
    svc2.wait_metric('streamal_events_total{outcome="scored"}', 100)
    send(producer, t["events"], [{"id": "barrier", "features": {"size": 1.0}}])  # one partition: after the rest
    svc2.wait_metric('streamal_events_total{outcome="scored"}', 101)
    assert svc2.metric('streamal_events_total{outcome="scored"}') == 101  # nothing scored twice
    assert svc2.metric('streamal_labels_total{outcome="learned"}') == 0  # nothing learned twice
    predictions = read_topic(broker.bootstrap, t["predictions"], expect=301)
    ids = [p["event_id"] for p in predictions]
    assert len(ids) == len(set(ids)) == 301  # none lost, none twice

    # new review items from after the restart are answered and learned on top
    review2 = [r for r in read_topic(broker.bootstrap, t["review"]) if r["event_id"] in {e["id"] for e in second}]
    answer(producer, t["labels"], review2, by_id)
    if review2:
        svc2.wait_metric('streamal_labels_total{outcome="learned"}', len(review2))
    assert svc2.metric("streamal_model_version") == learned + len(review2)
    assert svc2.stop() == 0


@pytest.mark.parametrize("setting", [{"budget": "7"}])
def test_bad_setting_fails_at_start_naming_it(make_service: MakeService, setting: dict[str, Any]) -> None:
    svc = make_service(**setting)
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "streamal", "run"], env=svc.env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 2
    assert "STREAMAL_BUDGET" in out.stderr and "Traceback" not in out.stderr
