"""How far mini-batch scoring would take the ``linear`` model: one event at a time against a poll batch in numpy.

    .venv/bin/python benchmarks/batch_scoring.py [--events 50000] [--batch 500]

The service scores each event of a poll batch with ``predict_proba_one``; no
label is learned between the events of one batch, so the whole batch could
be scored at once with the same model and the same result. river's
``predict_proba_many`` needs a dataframe library (pandas or polars), which
streamal does not depend on, so this scores a batch in numpy from the
model's own state: the scaler's means and variances, the one-hot columns
and the one-vs-rest weights. It prints events per second for both ways,
the ratio, how the batch time splits between turning the events' dicts into
arrays and the arithmetic, and the largest difference in the probabilities.
"""

from __future__ import annotations

import argparse
import time
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import orjson
from end_to_end import security_events
from river import compose, multiclass, preprocessing

from streamal.core.config import LearnerConfig
from streamal.core.domain import Event, Label
from streamal.core.learner import Learner
from streamal.core.models import make_model, prepare


class LinearBatch:
    """``linear``'s probabilities for many events at once, from a snapshot of its state."""

    def __init__(self, model: compose.Pipeline) -> None:
        union, ovr = model.steps.values()
        assert isinstance(ovr, multiclass.OneVsRestClassifier)
        scaler = next(t for p in union.transformers.values() for t in p.steps.values()
                      if isinstance(t, preprocessing.StandardScaler))
        self.classes = list(ovr.classifiers)
        self.numeric = list(scaler.means)
        self.num_index = {name: i for i, name in enumerate(self.numeric)}
        means = np.array([scaler.means[n] for n in self.numeric])
        stds = np.sqrt(np.array([scaler.vars[n] for n in self.numeric]))
        self.means = means
        self.inv_std = np.divide(1.0, stds, out=np.zeros_like(stds), where=stds > 0)
        weights = [clf._weights for clf in ovr.classifiers.values()]
        self.w_num = np.array([[w.get(n, 0.0) for w in weights] for n in self.numeric]).reshape(len(self.numeric), -1)
        hot = sorted({k for w in weights for k in w if k not in self.num_index})
        self.hot_index = {name: i for i, name in enumerate(hot)}
        self.w_hot = np.array([[w.get(n, 0.0) for w in weights] for n in hot]).reshape(len(hot), -1)
        self.bias = np.array([clf.intercept for clf in ovr.classifiers.values()])

    def arrays(self, events: Sequence[Mapping[str, Any]]) -> tuple[Any, Any, Any]:
        """The events as a dense numeric matrix (absent: the mean, so scaled to 0) and one-hot (row, column) pairs."""
        x = np.tile(self.means, (len(events), 1))
        rows: list[int] = []
        cols: list[int] = []
        num, hot = self.num_index, self.hot_index
        for r, event in enumerate(events):
            for name, value in event.items():
                if isinstance(value, str):
                    c = hot.get(f"{name}_{value}")
                    if c is not None:
                        rows.append(r)
                        cols.append(c)
                else:
                    j = num.get(name)
                    if j is not None:
                        x[r, j] = value
        return x, np.array(rows, dtype=np.intp), np.array(cols, dtype=np.intp)

    def proba(self, x: Any, rows: Any, cols: Any) -> Any:
        """One row of class probabilities per event (one-vs-rest sigmoids, normalised as river does)."""
        z = ((x - self.means) * self.inv_std) @ self.w_num + self.bias
        if len(rows):
            np.add.at(z, rows, self.w_hot[cols])
        p = 1.0 / (1.0 + np.exp(-z))
        return p / p.sum(axis=1, keepdims=True)


def learner_run(events: list[dict[str, Any]], truth: dict[str, str], batch: int, *, batched: bool,
                learn: int) -> tuple[float, list[dict[str, float]], list[str]]:
    """The learner's events per second over ``events`` after ``learn`` labelled ones, its probabilities, queries."""
    learner = Learner(LearnerConfig(model="linear", seed=1))
    for e in events[:learn]:
        learner.learn(Label(e["id"], truth[e["id"]], features=e["features"]), now=0.0)
    stream = events[learn:]
    probas: list[dict[str, float]] = []
    queried: list[str] = []
    ready: deque[dict[str, float]] = deque()
    model = learner.model
    started = time.perf_counter()
    for i in range(0, len(stream), batch):
        chunk = stream[i: i + batch]
        # the batch's probabilities at once, handed to the learner in order; each event's features are then
        # prepared twice (here and in score), so the ratio printed is a lower bound of what batching gives
        if batched:
            scorer = LinearBatch(model)
            rows = scorer.proba(*scorer.arrays([learner.schema.prepare(e["features"]) for e in chunk]))
            ready.extend(dict(zip(scorer.classes, row, strict=True)) for row in rows.tolist())
            model.predict_proba_one = lambda x: ready.popleft()
        decisions = [learner.score(Event(e["id"], e["features"]), now=float(i + k)) for k, e in enumerate(chunk)]
        if batched:
            del model.predict_proba_one
            assert not ready, "each event's probabilities taken exactly once"
        for d in decisions:
            probas.append(d.proba)
            if d.item is not None:
                queried.append(d.event_id)
                learner.learn(Label(d.event_id, truth[d.event_id]), now=float(i + batch))
    return len(stream) / (time.perf_counter() - started), probas, queried


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=500, help="events per poll batch (the service's max_poll_records)")
    parser.add_argument("--learn", type=int, default=2_000, help="labelled events the model learns first")
    args = parser.parse_args()
    raw, truth = security_events(args.learn + args.events)
    events = [orjson.loads(m) for m in raw]
    model = make_model("linear", seed=1)
    for e in events[: args.learn]:
        model.learn_one(prepare(e["features"]), truth[e["id"]])
    scored = [prepare(e["features"]) for e in events[args.learn:]]

    started = time.perf_counter()
    one = [model.predict_proba_one(x) for x in scored]
    one_rate = len(scored) / (time.perf_counter() - started)

    started = time.perf_counter()
    batch = LinearBatch(model)
    build = arith = 0.0
    out = []
    for i in range(0, len(scored), args.batch):
        t0 = time.perf_counter()
        arrays = batch.arrays(scored[i: i + args.batch])
        t1 = time.perf_counter()
        out.append(batch.proba(*arrays))
        build, arith = build + t1 - t0, arith + time.perf_counter() - t1
    many = np.vstack(out)
    many_rate = len(scored) / (time.perf_counter() - started)

    diff = max(abs(p[c] - many[r, k]) for r, p in enumerate(one) for k, c in enumerate(batch.classes))
    print(f"one at a time: {one_rate:,.0f} events/s; batches of {args.batch}: {many_rate:,.0f} events/s; "
          f"ratio {many_rate / one_rate:.1f}; of the batch time {build / (build + arith):.0%} is building the "
          f"arrays from the events' dicts; largest probability difference {diff:.1e}")

    rate_one, p_one, q_one = learner_run(events, truth, args.batch, batched=False, learn=args.learn)
    rate_many, p_many, q_many = learner_run(events, truth, args.batch, batched=True, learn=args.learn)
    diff = max(abs(a[c] - b[c]) for a, b in zip(p_one, p_many, strict=True) for c in a)
    print(f"the learner, one at a time: {rate_one:,.0f} events/s; with batch-scored probabilities: "
          f"{rate_many:,.0f} events/s; ratio {rate_many / rate_one:.2f}; same queries: {q_one == q_many} "
          f"({len(q_one)}); largest probability difference {diff:.1e}")


if __name__ == "__main__":
    main()
