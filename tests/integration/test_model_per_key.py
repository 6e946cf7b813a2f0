"""A model per kind of event with a real broker: each sensor its own model, bounded, carried on every message."""

from __future__ import annotations

from typing import Any

import orjson
from kafka import KafkaProducer

from streamal.tools.embedded import EmbeddedBroker
from tests.integration.conftest import MakeService, read_topic, wait_for


def teach(producer: KafkaProducer, topic: str, sensor: str, flipped: bool, n: int = 60) -> None:
    """Labels with features and meta (as another system sends them): x > 0 is 'bad' for ``sensor``, or 'ok'."""
    for i in range(n):
        x = (i % 21 - 10) / 5.0
        label = ("ok" if x > 0 else "bad") if flipped else ("bad" if x > 0 else "ok")
        msg = {"event_id": f"{sensor}-l{i}", "label": label, "features": {"x": x}, "meta": {"sensor": sensor}}
        producer.send(topic, key=f"{sensor}-l{i}".encode(), value=orjson.dumps(msg))
    producer.flush()


def probe(producer: KafkaProducer, topic: str, round_: int, partitions: int = 1) -> None:
    """The same probes to each partition (so each replica scores them): ``r{round}-{sensor}-{x}-{partition}``."""
    for partition in range(partitions):
        for sensor in ("dmz", "lan", "wifi", None):
            for x in (1.5, -1.5):
                event_id = f"r{round_}-{sensor}-{x}-{partition}"
                msg: dict[str, Any] = {"id": event_id, "features": {"x": x}}
                if sensor is not None:
                    msg["meta"] = {"sensor": sensor}
                producer.send(topic, key=event_id.encode(), value=orjson.dumps(msg), partition=partition)
    producer.flush()


def test_each_sensor_gets_its_own_model_bounded_in_memory_and_number_and_kept_across_a_restart(
        make_service: MakeService, producer: KafkaProducer, broker: EmbeddedBroker) -> None:
    settings = {"model": "linear", "model_key": "meta.sensor", "max_models": "1", "max_keys": "2",
                "key_overflow": "deadletter", "seed_size": "0", "checkpoint_interval": "1", "topic_partitions": "2"}
    svc = make_service("a", **settings).start()
    other = make_service("b", **settings).start()  # a second replica: the same labels, the same models per key
    wait_for(lambda: svc.metric("streamal_assigned_partitions") == other.metric("streamal_assigned_partitions") == 1,
             60, "one partition each")
    teach(producer, svc.topics["labels"], "dmz", flipped=False)
    teach(producer, svc.topics["labels"], "lan", flipped=True)
    wait_for(lambda: svc.metric("streamal_model_version") == other.metric("streamal_model_version") == 120, 60,
             "both sensors' labels learned on both replicas")

    probe(producer, svc.topics["events"], 0, partitions=2)
    got = {m["event_id"]: m for m in read_topic(broker.bootstrap, svc.topics["predictions"], expect=12,
                                                  unique="event_id")}
    for p in (0, 1):  # each replica scored one partition's probes, with the same models
        # each sensor its own concept: one model could not hold both
        assert got[f"r0-dmz-1.5-{p}"]["prediction"] == "bad" and got[f"r0-dmz--1.5-{p}"]["prediction"] == "ok"
        assert got[f"r0-lan-1.5-{p}"]["prediction"] == "ok" and got[f"r0-lan--1.5-{p}"]["prediction"] == "bad"
        assert got[f"r0-dmz-1.5-{p}"]["key"] == "dmz" and got[f"r0-None-1.5-{p}"]["key"] == ""  # no key: shared
        assert got[f"r0-None-1.5-{p}"]["prediction"] is None  # the shared model learned nothing
        assert got[f"r0-dmz-1.5-{p}"]["proba"] == got["r0-dmz-1.5-0"]["proba"]
    dead = read_topic(broker.bootstrap, svc.topics["deadletter"], expect=4)
    assert {d["reason"] for d in dead} == {"key_overflow"} and "over STREAMAL_MAX_KEYS" in dead[0]["error"]
    other.stop()

    wait_for(lambda: svc.metric('streamal_models{state="parked"}') == 1 and svc.metric("streamal_key_overflow_total")
             >= 2, 20, "the per-key gauges (every 5 s) after the probes")
    m = svc.metrics()
    assert m['streamal_key_events_total{key="dmz"}'] >= 2 and m['streamal_key_events_total{key="shared"}'] >= 2
    assert m['streamal_models{state="resident"}'] == 1 and m['streamal_models{state="parked"}'] == 1
    assert m["streamal_key_overflow_total"] >= 2 and m['streamal_dead_letters_total{reason="key_overflow"}'] == 2
    assert m['streamal_key_model_version{key="lan"}'] == 60  # the one in memory (the last seen)
    assert len(list((svc.state_dir / "parked-models").glob("*.pkl"))) >= 1

    svc.kill()  # a crash: the parked model and the checkpoint must agree
    again = svc.again().start()
    assert again.metric("streamal_model_version") == 120
    probe(producer, svc.topics["events"], 1, partitions=2)  # the restarted replica now holds both partitions
    got = {m["event_id"]: m for m in read_topic(broker.bootstrap, svc.topics["predictions"], expect=24,
                                                  unique="event_id")}
    for p in (0, 1):
        assert got[f"r1-dmz-1.5-{p}"]["prediction"] == "bad" and got[f"r1-lan-1.5-{p}"]["prediction"] == "ok"
        assert got[f"r1-dmz--1.5-{p}"]["prediction"] == "ok" and got[f"r1-lan--1.5-{p}"]["prediction"] == "bad"
