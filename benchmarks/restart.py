"""Restarts against the embedded broker: start to ready, kill -9 to ready, and static membership, per client.

    .venv/bin/python benchmarks/restart.py [--rounds 3]

For each Kafka client it prints, medians over ``--rounds``:

* a restart after a clean stop (the group knows the replica left), broken
  down from the service's own log: imports to the first line, the checkpoint,
  reading the side topics, and waiting for the group to assign partitions;
* kill -9 of one of two replicas and its restart, as a dynamic member and
  with ``STREAMAL_GROUP_INSTANCE_ID`` (static membership): seconds to ready,
  and whether the other replica's partitions were moved (its rebalances).

Figures are from this machine and Tansu at this moment; compare them side
by side, not with another run's.
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

from streamal.tools.child import ServiceProcess
from streamal.tools.embedded import EmbeddedBroker

_STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) ")


def settings(broker: EmbeddedBroker, prefix: str, client: str, state: Path, partitions: int = 1) -> dict[str, str]:
    return {"kafka_bootstrap": broker.bootstrap, "group_id": f"{prefix}-g", "events_topic": f"{prefix}.events",
            "review_topic": f"{prefix}.review", "labels_topic": f"{prefix}.labels",
            "predictions_topic": f"{prefix}.pred", "deadletter_topic": f"{prefix}.dl",
            "topic_partitions": str(partitions), "session_timeout_ms": "10000", "kafka_client": client,
            "state_dir": str(state)}


def phases(log: str, launched: float, ready: float) -> dict[str, float]:
    """Seconds in each phase of the last start in ``log`` (wall clock of its lines)."""
    lines = log.splitlines()
    start = max(i for i, line in enumerate(lines) if "stopped cleanly" in line) + 1  # the start after the last stop
    stamps: dict[str, float] = {}
    for line in lines[start:]:
        m = _STAMP.match(line)
        if not m:
            continue
        at = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()
        stamps.setdefault("first line", at)
        for key, text in (("connecting", "connecting to"), ("side read", "read the review and labels topics"),
                          ("assigned", "assigned group=")):
            if text in line:
                stamps.setdefault(key, at)
    return {"imports": stamps["first line"] - launched, "checkpoint": stamps["connecting"] - stamps["first line"],
            "side topics": stamps["side read"] - stamps["connecting"],
            "group join": stamps["assigned"] - stamps["side read"], "to ready": ready - launched}


def clean_restarts(broker: EmbeddedBroker, client: str, work: Path, rounds: int) -> list[dict[str, float]]:
    svc = ServiceProcess(work / f"clean-{client}.log", settings(broker, f"c{client[0]}", client, work / f"c-{client}"))
    svc.start(90)
    out = []
    for _ in range(rounds):
        svc.stop()
        launched = time.time()
        svc.launch().wait_ready(90)
        out.append(phases(svc.log.read_text(), launched, time.time()))
    svc.stop()
    return out


def kill_restart(broker: EmbeddedBroker, client: str, work: Path, static: bool, tag: str) -> tuple[float, float]:
    """Seconds from kill -9 of one of two replicas to its restart being ready; the other's rebalances meanwhile."""
    prefix = f"k{tag}"

    def replica(name: str) -> ServiceProcess:
        s = settings(broker, prefix, client, work / f"{prefix}-{name}", partitions=2)
        if static:
            s["group_instance_id"] = f"{prefix}-{name}"
        return ServiceProcess(work / f"{prefix}-{name}.log", s)

    a, b = replica("a").start(90), replica("b").start(90)
    deadline = time.monotonic() + 60
    while a.metric("streamal_assigned_partitions") != 1 and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(2)
    before = a.metric("streamal_rebalances_total")
    b.kill()
    killed = time.monotonic()
    again = replica("b").launch()
    again.wait_ready(120)
    to_ready = time.monotonic() - killed
    time.sleep(12)  # past the session timeout: a rebalance the kill caused has happened by now
    moved = a.metric("streamal_rebalances_total") - before
    a.stop()
    again.stop()
    return to_ready, moved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", default="kafka-python,confluent")
    args = parser.parse_args()
    with EmbeddedBroker() as broker, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for client in args.clients.split(","):
            clean = clean_restarts(broker, client, work, args.rounds)
            median = {k: statistics.median(r[k] for r in clean) for k in clean[0]}
            print(f"{client}: restart after a clean stop, median of {args.rounds}: "
                  + ", ".join(f"{k} {v:.1f}s" for k, v in median.items()), flush=True)
            for static in (False, True):
                runs = [kill_restart(broker, client, work, static, f"{client[0]}{int(static)}{i}")
                        for i in range(args.rounds)]
                print(f"{client}: kill -9 of one of two replicas, {'static' if static else 'dynamic'} member: "
                      f"to ready {statistics.median(r[0] for r in runs):.1f}s (median of {args.rounds}), "
                      f"the other replica's rebalances {[int(r[1]) for r in runs]}", flush=True)


if __name__ == "__main__":
    main()
