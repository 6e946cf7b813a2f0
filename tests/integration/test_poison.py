"""No single message can stop the service: poison on every topic it reads, then valid events, still scored."""

from __future__ import annotations

import hashlib
import random
import time
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kafka import KafkaProducer

from streamal.tools.embedded import EmbeddedBroker
from tests.integration.conftest import BOTH_CLIENTS, MakeService, read_topic, wait_for


@pytest.fixture
def shared() -> dict[str, Any]:
    return {}


def valid(i: int) -> bytes:
    rng = random.Random(i)
    return orjson.dumps({"id": f"ok-{i}", "features": {"size": rng.random() * 100, "proto": "tcp"}})


def big_producer(bootstrap: str) -> KafkaProducer:
    return KafkaProducer(bootstrap_servers=bootstrap, max_request_size=8_000_000)


@BOTH_CLIENTS
def test_poison_on_every_topic_leaves_the_loop_running(make_service: MakeService, broker: EmbeddedBroker) -> None:
    svc = make_service(budget="1.0", seed_size="100000").start()  # every valid event is queried
    t = svc.topics
    p = big_producer(broker.bootstrap)
    wide = {f"f{i:04d}": "v" * 900 for i in range(1000)}  # 950 KB of features, within every limit
    poison_events = {
        "over max_event_bytes": orjson.dumps({"id": "huge", "features": {"a": "x" * 4000}, "pad": "p" * 1_100_000}),
        "800 KB invalid UTF-8": b"\xff" * 800_000,
        "200 KB of NUL": b"\x00" * 200_000,
        "a number past 1e100, with a label": b'{"id": "ovf", "features": {"a": 1e200}, "label": "bad"}',
        # 964 KB as sent; each 1e15 comes out as 1000000000000000.0: 978 KB, past what an output may take
        "features that re-encode past an output": b'{"id": "grow", "features": {'
        + b",".join(b'"%s": 1e15' % (b"%04d" % i + b"g" * 951) for i in range(1000)) + b"}}",
    }
    for raw in poison_events.values():
        p.send(t["events"], value=raw)
    p.send(t["events"], value=orjson.dumps({"id": "wide", "features": wide}))
    p.send(t["events"], value=orjson.dumps({"id": "fat-meta", "features": {"size": 1.0},
                                            "meta": {"blob": "m" * 1_010_000}}))  # fits the input, not an output
    for raw in (b"\xff\xfe", b"[1, 2]", b'{"event_id": "x", "label": "bad", "features": {"a": 1e200}}',
                b'{"event_id": "x"}', b"{" * 200_000):
        p.send(t["labels"], value=raw)
    for raw in (b"\xff", b"[]", b'{"event_id": "r1", "features": {"a": 1e300}}', b"x" * 1_500_000,
                b'{"event_id": "r2", "features": ["not", "an", "object"]}'):
        p.send(t["review"], value=raw)
    for i in range(50):
        p.send(t["events"], value=valid(i))
    p.flush()

    svc.wait_metric('streamal_events_total{outcome="scored"}', 52, timeout=90)
    assert svc.alive
    assert svc.metric('streamal_events_total{outcome="invalid"}') == len(poison_events)
    svc.wait_metric('streamal_review_items_total{outcome="invalid"}', 5)
    svc.wait_metric('streamal_labels_total{outcome="invalid"}', 5)

    dead = read_topic(broker.bootstrap, t["deadletter"], expect=len(poison_events), timeout=60)
    assert len(dead) == len(poison_events)
    by_size = {d["size"]: d for d in dead}
    for raw in poison_events.values():
        d = by_size[len(raw)]
        assert d["sha256"] == hashlib.sha256(raw).hexdigest() and d["error"] and d["reason"]
        assert d["topic"] == t["events"] and isinstance(d["offset"], int)
    assert by_size[800_000]["truncated"] and by_size[800_000]["encoding"] == "base64"
    assert any("beyond" in d["error"] for d in dead)
    assert any("re-encoded" in d["error"] for d in dead)

    review = {r.get("event_id"): r for r in read_topic(broker.bootstrap, t["review"], timeout=60, skip_invalid=True)}
    assert review["wide"]["features"] == wide  # queried, carried whole to every replica
    assert review["fat-meta"]["meta"] is None and review["fat-meta"]["meta_trimmed"]["bytes"] > 1_000_000
    assert svc.stop() == 0
    again = svc.again().start()  # and a restart does not meet any of it again
    assert again.stop() == 0


event_strategy = st.one_of(
    st.binary(max_size=200),
    st.fixed_dictionaries({
        "id": st.one_of(st.text(max_size=20), st.integers(min_value=-(2**63), max_value=2**63 - 1), st.none()),
        "features": st.dictionaries(
            st.text(max_size=10),
            st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**63), max_value=2**63 - 1),
                      st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=50),
                      st.lists(st.integers(min_value=0, max_value=99), max_size=3)),
            max_size=6),
    }, optional={
        "label": st.one_of(st.text(max_size=10), st.integers(min_value=0, max_value=9)),
        "meta": st.dictionaries(st.text(max_size=5), st.text(max_size=20), max_size=3),
    }).map(orjson.dumps),
)
label_strategy = st.one_of(
    st.binary(max_size=200),
    st.fixed_dictionaries({"event_id": st.one_of(st.sampled_from(["ok-1", "ok-2", "nope"]), st.text(max_size=5)),
                           "label": st.one_of(st.text(max_size=10), st.integers(min_value=0, max_value=9), st.none())},
                          optional={"features": st.dictionaries(st.text(max_size=5),
                                                                st.floats(allow_nan=False), max_size=4),
                                    "retracts": st.text(max_size=5), "source": st.just("review")}
                          ).map(orjson.dumps),
)


@given(events=st.lists(event_strategy, min_size=20, max_size=60), labels=st.lists(label_strategy, max_size=30),
       reviews=st.lists(event_strategy, max_size=20))
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
def test_generated_events_and_labels_never_stop_the_loop(
        make_service: MakeService, broker: EmbeddedBroker, shared: dict[str, Any], events: list[bytes], labels:
        list[bytes], reviews: list[bytes]
) -> None:
    if "svc" not in shared:  # one service for all the examples (the fixtures live as long as the test)
        shared["svc"] = make_service(budget="0.5").start()
    svc = shared["svc"]
    t = svc.topics
    p = big_producer(broker.bootstrap)
    before = svc.metric('streamal_events_total{outcome="scored"}') + svc.metric(
        'streamal_events_total{outcome="invalid"}')
    for raw in events:
        p.send(t["events"], value=raw)
    for raw in labels:
        p.send(t["labels"], value=raw)
    for raw in reviews:
        p.send(t["review"], value=raw)
    sentinel = f"sentinel-{time.monotonic_ns()}"
    p.send(t["events"], value=orjson.dumps({"id": sentinel, "features": {"size": 1.0}}))
    p.flush()
    p.close()

    def handled() -> bool:
        assert svc.proc.poll() is None, svc.log.read_text()[-2000:]
        total = svc.metric('streamal_events_total{outcome="scored"}') + svc.metric(
            'streamal_events_total{outcome="invalid"}')
        return bool(total >= before + len(events) + 1)

    wait_for(handled, 60, "the generated events were not all handled")
    assert svc.proc.poll() is None
