"""Where the service stands against its ceilings, in one run against one broker.

    .venv/bin/python benchmarks/end_to_end.py [--events 100000] [--models linear,hat]
        [--client kafka-python] [--latency-rate 1000] [--memory 20000 [--memory-points 1,10,20]
        [--memory-analysts keep-up,none]] [--scale-out]

Measured side by side, on the same 10-feature events, in one run:

* **client ceiling**: the Kafka client consuming the events topic and parsing
  each event (nothing else);
* **model ceiling**: the learner in-process on the same events (parse, score,
  and learn the queried ones at once, as the service would with analysts who
  keep up);
* **service**: ``streamal run`` from ready to every event scored, with an
  oracle answering its review items;
* and the ratio of the service to the smaller ceiling;
* beside it, the **producer alone** (the service's own producer sending one
  prediction-sized message per event) and the **serial ceiling**: one loop
  that consumes, scores and produces each event in turn can go no faster
  than ``1 / (1/client + 1/model + 1/producer)``, so the ratio to that says
  what the loop's own overhead costs.

Then, optionally: the latency from an event's timestamp to its prediction's
(p50/p99/max) at a fixed rate; the service's RSS after N and 10N events (or
other multiples of N: ``--memory-points``) with analysts keeping up and with
nobody answering; and two replicas against one on a 4-partition topic. The
machine is shared and noisy: quote the ratios.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import orjson
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from streamal.core.config import LearnerConfig
from streamal.core.domain import Label
from streamal.core.learner import Learner
from streamal.tools.child import ServiceProcess
from streamal.tools.embedded import EmbeddedBroker
from streamal.tools.oracle import Oracle
from streamal.wire.messages import format_ts, parse_event

SCORED = 'streamal_events_total{outcome="scored"}'


def security_events(n: int, seed: int = 7, start: int = 0) -> tuple[list[bytes], dict[str, str]]:
    """``n`` 10-feature events like a sensor's (numbers, categories, a flag) and their ground truth.

    ``start``: the number of the first (a long run is made in slices, each its own seed).
    """
    rng = random.Random(seed)
    raw, truth = [], {}
    for i in range(start, start + n):
        proto = rng.choice(["tcp", "udp", "icmp"])
        x: dict[str, Any] = {"bytes_out": rng.lognormvariate(7, 1.5), "bytes_in": rng.lognormvariate(8, 1.2),
             "duration": rng.expovariate(0.5), "dst_port": rng.choice([22, 53, 80, 443, 3389, 8080]),
             "proto": proto, "hour": rng.randrange(24), "packets": rng.randrange(1, 500),
             "tls": rng.random() < 0.6, "country": rng.choice(["de", "fr", "us", "cn", "br"]),
             "failed_logins": rng.choice([0, 0, 0, 1, 2, 5, 20])}
        bad = (x["failed_logins"] >= 5 and x["dst_port"] in (22, 3389)) or (x["bytes_out"] > 20_000 and not x["tls"])
        event_id = f"e{i}"
        truth[event_id] = "malicious" if bad else "benign"
        raw.append(orjson.dumps({"id": event_id, "features": x, "ts": format_ts(time.time())}))
    return raw, truth


class TruthInId(Mapping[str, str]):
    """The ground truth of events numbered past ``n`` slices without a dict of 10 million entries.

    The soak's events carry their class in their id (``e123-m``: malicious), which only the oracle reads.
    """

    def __getitem__(self, event_id: str) -> str:
        if event_id.endswith("-m"):
            return "malicious"
        if event_id.endswith("-b"):
            return "benign"
        raise KeyError(event_id)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def soak_slice(start: int, n: int) -> list[bytes]:
    """Events ``start`` to ``start + n`` of a long run, their class in their id (:class:`TruthInId`)."""
    raw, truth = security_events(n, seed=11 + start, start=start)
    return [orjson.dumps({**(event := orjson.loads(msg)), "id": f"{event['id']}-{truth[event['id']][0]}"})
            for msg in raw]


def produce(bootstrap: str, topic: str, raw: list[bytes]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, batch_size=256_000, acks=1)
    for msg in raw:
        producer.send(topic, key=msg[7:20], value=msg)
    producer.flush()
    producer.close()


def client_ceiling(bootstrap: str, topic: str, n: int) -> float:
    """Events per second the client consumes and parses, and nothing else."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None,
                             max_poll_records=2000, fetch_max_bytes=52_428_800)
    parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
    consumer.assign(parts)
    consumer.seek_to_beginning()
    seen = 0
    started = time.perf_counter()
    while seen < n:
        for records in consumer.poll(timeout_ms=500).values():
            for r in records:
                orjson.loads(r.value)
                seen += 1
    took = time.perf_counter() - started
    consumer.close()
    return n / took


def confluent_ceiling(bootstrap: str, topic: str, n: int) -> float:
    """The same with confluent-kafka (librdkafka), the ``fast`` extra's client."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer
    from confluent_kafka import TopicPartition as Tp

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"ceiling-{random.randrange(10**6)}",
                         "enable.auto.commit": False, "fetch.max.bytes": 52_428_800})
    parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    consumer.assign([Tp(topic, p, OFFSET_BEGINNING) for p in sorted(parts)])
    seen = 0
    started = time.perf_counter()
    while seen < n:
        for msg in consumer.consume(2000, timeout=0.5):
            if msg.error() is None:
                orjson.loads(msg.value() or b"null")
                seen += 1
    took = time.perf_counter() - started
    consumer.close()
    return n / took


CEILINGS = {"kafka-python": client_ceiling, "confluent": confluent_ceiling}


def producer_ceiling(bootstrap: str, n: int, client: str) -> float:
    """Messages per second the service's own producer sends (prediction-sized, keyed), flushed at the end."""
    from streamal.service.access import KafkaAccess
    from streamal.service.kafka import ensure_topics, open_outputs

    topic = f"ceiling-{client}-{random.randrange(10**6)}.predictions"
    ensure_topics(bootstrap, {topic: 1})
    out = open_outputs(KafkaAccess(bootstrap, client=client))
    messages = [(f"e{i}".encode(), orjson.dumps(
        {"id": f"e{i}", "prediction": "benign", "proba": {"benign": 0.97, "malicious": 0.03}, "model_version": i,
         "ts": format_ts(time.time())})) for i in range(n)]
    out.send(topic, b"warm-up", b"{}")
    out.flush()
    started = time.perf_counter()
    for key, value in messages:
        out.send(topic, key, value)
    out.flush()
    took = time.perf_counter() - started
    out.close()
    return n / took


def model_ceiling(raw: list[bytes], truth: dict[str, str], model: str) -> float:
    """Events per second of the learner in-process: parse, score, learn the queried ones at once."""
    learner = Learner(LearnerConfig(model=model))  # type: ignore[arg-type]
    started = time.perf_counter()
    for msg in raw:  # on the wall clock, as the service runs
        event = parse_event(msg)
        decision = learner.score(event, now=time.time())
        if decision.query is not None:
            learner.learn(Label(event.id, truth[event.id]), now=time.time())
    return len(raw) / (time.perf_counter() - started)


class Service(ServiceProcess):
    """``streamal run`` as a child process on its own topics (launched, then waited for with :meth:`ready`)."""

    def __init__(self, bootstrap: str, events_topic: str, prefix: str, state: Path, **settings: str) -> None:
        self.topics = {k: f"{prefix}.{k}" for k in ("review", "labels", "predictions", "deadletter")}
        defaults = {"kafka_bootstrap": bootstrap, "events_topic": events_topic, "state_dir": str(state),
                    "group_id": f"{prefix}-group", "session_timeout_ms": "6000",
                    "review_tokens": "bench:benchmark-token", "log_level": "WARNING",
                    **{f"{k}_topic": v for k, v in self.topics.items()}}
        super().__init__(state.parent / f"{prefix}.log", defaults | {k.lower(): v for k, v in settings.items()})

    def start(self, timeout: float = 120) -> Service:
        self.launch()
        return self

    def ready(self, timeout: float = 120) -> None:
        self.wait_ready(timeout)


def with_oracle(bootstrap: str, svc: Service, truth: Mapping[str, str], prefix: str) -> tuple[threading.Event, Oracle]:
    stop = threading.Event()
    oracle = Oracle(truth, bootstrap, review_topic=svc.topics["review"], labels_topic=svc.topics["labels"],
                    group_id=f"{prefix}-oracle")
    threading.Thread(target=oracle.run, args=(stop,), daemon=True).start()
    return stop, oracle


def wait_scored(services: list[Service], n: int, timeout: float = 1800) -> float:
    """Seconds from now until the services scored ``n`` events between them."""
    started = time.perf_counter()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sum(s.metric(SCORED) for s in services) >= n:
            return time.perf_counter() - started
        time.sleep(0.05)
    raise RuntimeError(f"not all {n} events scored within {timeout}s")


def service_rate(bootstrap: str, topic: str, n: int, truth: dict[str, str], model: str, work: Path,
                 replicas: int = 1, **settings: str) -> float:
    prefix = f"svc-{model}-{replicas}-{random.randrange(10**6)}"
    services = [Service(bootstrap, topic, prefix, work / f"{prefix}-state-{i}", MODEL=model, **settings)
                for i in range(replicas)]
    for s in services:
        s.start()
    try:
        for s in services:
            s.ready()
        if replicas > 1:  # every replica holds partitions before the clock starts
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not all(s.metric("streamal_assigned_partitions") for s in services):
                time.sleep(0.1)
        stop, _ = with_oracle(bootstrap, services[0], truth, prefix)
        done_before = sum(s.metric(SCORED) for s in services)
        took = wait_scored(services, n)
        stop.set()
        return (n - done_before) / took
    finally:
        for s in services:
            s.stop()


def paced(rate: float, total: int, send: Callable[[int], None]) -> None:
    """Call ``send(i)`` for ``i`` in ``range(total)``, ``rate`` times a second."""
    started = time.monotonic()
    for i in range(total):
        send(i)
        ahead = (i + 1) / rate - (time.monotonic() - started)
        if ahead > 0:
            time.sleep(ahead)


def spread(delays: list[float], skip: int) -> dict[str, float]:
    """Count, p50, p99, max and mean in milliseconds of ``delays`` (seconds), the first ``skip`` left out."""
    warm = sorted(delays[skip:] or delays)
    return {"n": len(warm), "p50": 1000 * warm[len(warm) // 2], "p99": 1000 * warm[int(len(warm) * 0.99)],
            "max": 1000 * warm[-1], "mean": 1000 * statistics.fmean(warm)}


def latency(bootstrap: str, truth: dict[str, str], model: str, rate: float, seconds: float,
            work: Path, client: str) -> dict[str, float]:
    """Event timestamp to prediction timestamp at ``rate`` events per second."""
    prefix = f"lat-{model}-{random.randrange(10**6)}"
    topic = f"{prefix}.events"
    svc = Service(bootstrap, topic, prefix, work / f"{prefix}-state", MODEL=model, CREATE_TOPICS="true",
                  KAFKA_CLIENT=client).start()
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=0, acks=1)
    producer.send(topic, key=b"warm", value=orjson.dumps({"id": "warm", "features": {"x": 1}})).get(10)
    svc.ready()
    answers: dict[str, str] = {"warm": "benign"}  # the oracle's truth, filled as events are sent
    stop, _ = with_oracle(bootstrap, svc, answers, prefix)
    sent_at: dict[str, float] = {}
    rng = random.Random(1)
    ids = list(truth)
    total = int(rate * seconds)

    def send(i: int) -> None:
        event_id = ids[i % len(ids)]
        now = time.time()
        key = f"{event_id}-{i}"
        sent_at[key] = now
        answers[key] = truth[event_id]
        x = {"a": rng.random(), "b": rng.random(), "c": rng.choice(["x", "y"])}
        producer.send(topic, key=key.encode(), value=orjson.dumps({"id": key, "features": x, "ts": format_ts(now)}))

    paced(rate, total, send)
    producer.flush()
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    tp = TopicPartition(svc.topics["predictions"], 0)
    consumer.assign([tp])
    consumer.seek_to_beginning(tp)
    delays: list[float] = []
    deadline = time.monotonic() + 60
    while len(delays) < total and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=500).values():
            for r in records:
                key = r.key.decode() if r.key else ""
                if key in sent_at:
                    delays.append(r.timestamp / 1000 - sent_at[key])
    consumer.close()
    stop.set()
    svc.stop()
    return spread(delays, skip=int(rate * 2))  # leave out the first two seconds


_PIPE_READER = r"""
import sys, time, orjson
from confluent_kafka import Consumer, TopicPartition
c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": "floor", "fetch.wait.max.ms": 20})
c.assign([TopicPartition(sys.argv[2], 0, 0)])
delays, want, end = [], int(sys.argv[3]), time.time() + 120
while len(delays) < want and time.time() < end:
    for m in c.consume(1000, 0.05):
        if m.error() is None:
            delays.append(time.time() - orjson.loads(m.value())["t"])
print(orjson.dumps(delays).decode())
"""


def broker_floor(bootstrap: str, rate: float, seconds: float) -> dict[str, float]:
    """The same path without the service: event sent, then read by a consumer in another process.

    What the broker alone costs an event between its producer and a consumer: the part of the
    service's latency that no change to the service can remove.
    """
    topic = f"floor-{random.randrange(10**6)}"
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=0, acks=1)
    producer.send(topic, value=orjson.dumps({"t": time.time()}), partition=0).get(10)
    total = int(rate * seconds)
    reader = subprocess.Popen([sys.executable, "-c", _PIPE_READER, bootstrap, topic, str(total + 1)],
                              stdout=subprocess.PIPE)
    time.sleep(2)  # the reader process starts and is assigned its partition
    paced(rate, total, lambda i: producer.send(topic, value=orjson.dumps({"t": time.time()}), partition=0))
    producer.flush()
    out, _ = reader.communicate(timeout=150)
    return spread(orjson.loads(out), skip=1 + int(rate * 2))  # the first message and two seconds left out


def memory(bootstrap: str, n: int, model: str, work: Path, answer: bool, client: str,
           points: tuple[int, ...] = (1, 10)) -> list[tuple[int, float]]:
    """The service's RSS after ``k * n`` events for each ``k`` of ``points``, with an oracle answering or nobody."""
    prefix = f"mem-{model}-{answer}-{random.randrange(10**6)}"
    topic = f"{prefix}.events"
    svc = Service(bootstrap, topic, prefix, work / f"{prefix}-state", MODEL=model, KAFKA_CLIENT=client)
    stop = threading.Event()
    out: list[tuple[int, float]] = []
    sent = 0
    for k in points:
        for start in range(sent, k * n, 500_000):  # in slices: 10 million events at once do not fit in memory
            produce(bootstrap, topic, soak_slice(start, min(500_000, k * n - start)))
        sent = k * n
        if not out:
            svc.start()
            svc.ready()
            if answer:
                stop, _ = with_oracle(bootstrap, svc, TruthInId(), prefix)
        wait_scored([svc], sent, timeout=max(1800.0, sent / 500))  # a long run on a busy machine: 500/s at worst
        time.sleep(2)
        rss = svc.rss_mib()
        out.append((sent, rss))
        print(f"  memory, {'keep up' if answer else 'none'}: {rss:.0f} MiB after {sent:,} events",
              file=sys.stderr, flush=True)
    stop.set()
    svc.stop()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--models", default="linear,hat")
    parser.add_argument("--clients", default="kafka-python",
                        help="Kafka clients of the service, comma-separated: kafka-python, confluent")
    parser.add_argument("--latency-rate", type=float, default=0, help="events/s for the latency run (0: skip)")
    parser.add_argument("--latency-seconds", type=float, default=20)
    parser.add_argument("--memory", type=int, default=0, help="N for the memory runs (0: skip)")
    parser.add_argument("--memory-points", default="1,10", help="multiples of N to measure RSS after (1,10,20)")
    parser.add_argument("--memory-analysts", default="keep-up,none",
                        help="which memory runs: keep-up (an oracle answers), none (nobody answers), or both")
    parser.add_argument("--scale-out", action="store_true", help="two replicas against one on 4 partitions")
    args = parser.parse_args()
    models = args.models.split(",")
    work = Path(tempfile.mkdtemp(prefix="streamal-bench-"))
    print(f"# end to end: {args.events} events, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}", flush=True)
    raw, truth = security_events(args.events)
    with EmbeddedBroker(log_path=work / "broker.log") as broker:
        topic = "bench.events"
        produce(broker.bootstrap, topic, raw)
        clients = {name: CEILINGS[name](broker.bootstrap, topic, args.events) for name in args.clients.split(",")}
        producers = {name: producer_ceiling(broker.bootstrap, args.events, name) for name in clients}
        for name, rate in clients.items():
            print(f"client ceiling (consume + parse), {name}: {rate:,.0f} events/s; its producer alone: "
                  f"{producers[name]:,.0f} messages/s", flush=True)
        rows = []
        for model in models:
            ceiling = model_ceiling(raw, truth, model)
            for name, client in clients.items():
                rate = service_rate(broker.bootstrap, topic, args.events, truth, model, work, KAFKA_CLIENT=name)
                rows.append((model, name, client, ceiling, rate, rate / min(client, ceiling)))
                print(f"{model} on {name}: model ceiling {ceiling:,.0f}/s, service {rate:,.0f}/s, "
                      f"ratio {rate / min(client, ceiling):.2f}", flush=True)
        print()
        print("| model | client | client ceiling | model ceiling | service | service / min(ceilings) "
              "| producer alone | serial ceiling | service / serial |")
        print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
        for model, name, client, ceiling, rate, ratio in rows:
            serial = 1.0 / (1.0 / client + 1.0 / ceiling + 1.0 / producers[name])
            print(f"| {model} | {name} | {client:,.0f} | {ceiling:,.0f} | {rate:,.0f} | {ratio:.2f} "
                  f"| {producers[name]:,.0f} | {serial:,.0f} | {rate / serial:.2f} |")
        if args.latency_rate:
            print(f"\n| latency at {args.latency_rate:g} events/s | client | n | p50 ms | p99 ms | max ms |")
            print("|---|---|---:|---:|---:|---:|")
            floor = broker_floor(broker.bootstrap, args.latency_rate, args.latency_seconds)
            print(f"| the broker alone (no service) | | {floor['n']:.0f} | {floor['p50']:.1f} | {floor['p99']:.1f} | "
                  f"{floor['max']:.1f} |", flush=True)
            for model in models:
                for name in clients:
                    lat = latency(broker.bootstrap, truth, model, args.latency_rate, args.latency_seconds, work, name)
                    print(f"| {model} | {name} | {lat['n']:.0f} | {lat['p50']:.1f} | {lat['p99']:.1f} | "
                          f"{lat['max']:.1f} |", flush=True)
        if args.memory:
            points = tuple(int(k) for k in args.memory_points.split(","))
            heads = " | ".join(f"after {k}N" for k in points)
            print(f"\n| memory (RSS, MiB), N = {args.memory:,} | client | analysts | {heads} | growth, last two |")
            print("|---|---|---|" + "---:|" * (len(points) + 1))
            for name in list(clients)[-1:]:  # the fastest client given: 10N events take a while
                for answer in (kind == "keep-up" for kind in args.memory_analysts.split(",")):
                    rss = memory(broker.bootstrap, args.memory, models[0], work, answer, name, points)
                    cells = " | ".join(f"{r:.0f}" for _, r in rss)
                    print(f"| {models[0]} | {name} | {'keep up' if answer else 'none'} | {cells} | "
                          f"{(rss[-1][1] / rss[-2][1] - 1) * 100:+.0f}% |", flush=True)
        if args.scale_out:
            topic4 = "bench.events4"
            from kafka.admin import KafkaAdminClient, NewTopic

            admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
            admin.create_topics([NewTopic(topic4, 4, 1)])
            admin.close()
            produce(broker.bootstrap, topic4, raw)
            last = list(clients)[-1]
            one = service_rate(broker.bootstrap, topic4, args.events, truth, models[0], work, replicas=1,
                               KAFKA_CLIENT=last)
            two = service_rate(broker.bootstrap, topic4, args.events, truth, models[0], work, replicas=2,
                               KAFKA_CLIENT=last)
            print(f"\nscale-out on 4 partitions ({models[0]}, {last}): 1 replica {one:,.0f}/s, "
                  f"2 replicas {two:,.0f}/s, "
                  f"ratio {two / one:.2f} (load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
