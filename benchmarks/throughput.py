"""Scoring throughput of the learner, per model, measured side by side in one run.

    .venv/bin/python benchmarks/throughput.py [--events 20000]

Prints events per second for parse + score (the service's hot path, without
Kafka) for each model, and the ratio to the fastest. Figures are from this
machine at this moment; compare ratios, not absolute numbers.
"""

from __future__ import annotations

import argparse
import time

import orjson

from streamal.core.config import LearnerConfig
from streamal.core.domain import Label
from streamal.core.learner import Learner
from streamal.evaluation.streams import open_stream
from streamal.wire.messages import parse_event


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--stream", default="agrawal-abrupt")
    args = parser.parse_args()
    raw = [orjson.dumps({"id": f"e{i}", "features": x}) for i, (x, _) in
           enumerate(open_stream(args.stream, n=args.events))]
    truth = [y for _, y in open_stream(args.stream, n=args.events)]
    rows = []
    for model in ("linear", "hat", "arf"):
        learner = Learner(LearnerConfig(model=model, budget=0.05))
        started = time.perf_counter()
        for i, msg in enumerate(raw):
            event = parse_event(msg)
            d = learner.score(event, now=float(i))
            if d.query is not None:
                learner.learn(Label(event.id, truth[i]), now=float(i))
        took = time.perf_counter() - started
        rows.append((model, args.events / took, took / args.events * 1e6, learner.model_version))
    best = max(r[1] for r in rows)
    print(f"{'model':8} {'events/s':>10} {'µs/event':>10} {'labels':>7} {'vs fastest':>10}")
    for model, eps, us, labels in rows:
        print(f"{model:8} {eps:>10.0f} {us:>10.1f} {labels:>7} {eps / best:>10.2f}")


if __name__ == "__main__":
    main()
