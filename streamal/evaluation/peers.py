"""Peer strategies for side-by-side comparison in ``streamal evaluate --peers``.

* ``river:entropy``: river's ``active.EntropySampler`` (always available),
  held to the budget by refusing a query once ``queries / events`` reaches it;
* ``skactiveml:*``: scikit-activeml's stream strategies (``pip install
  streamal[compare]``): ``variable-uncertainty``, ``randomized-variable-uncertainty``,
  ``split``, ``fixed-uncertainty`` and ``pal`` (``StreamProbabilisticAL`` with
  an RBF Parzen window over the last 200 labelled events).

Each runs the *same* river model (:func:`streamal.core.models.make_model`) with the
same cold start (the first labels asked), label delay and prequential
accounting as :func:`streamal.evaluation.runs.run_learner`: only the decision differs.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from streamal.core.models import make_model, prepare
from streamal.evaluation.runs import DelayedOracle, Tick, Trace, ticked

__all__ = ["available_peers"]

SEED_SIZE = 20
Decide = Callable[[dict[str, Any], dict[str, float], int], bool]


def _run(
    stream: Iterable[tuple[dict[str, Any], str]], name: str, *, model: str, budget: float, delay: int, seed: int,
    make_decide: Callable[[Any, list[str]], tuple[Decide, Callable[[dict[str, Any], str], None]]],
    tick: Tick | None = None,
) -> Trace:
    clf = make_model(model, seed)
    classes = sorted({y for _, y in stream})
    decide, on_label = make_decide(clf, classes)
    trace = Trace(name, budget, seed)
    oracle = DelayedOracle(delay)
    known: list[str] = []
    started = time.perf_counter()

    def deliver(t: int) -> None:
        for _, label, lx in oracle.due(t):
            clf.learn_one(prepare(lx), label)
            on_label(lx, label)
            if label not in known:
                known.append(label)

    for t, (x, y) in ticked(stream, tick):
        deliver(t)
        proba: dict[str, float] = {}
        if known:
            raw = clf.predict_proba_one(prepare(x))
            total = sum(raw.values()) or 1.0
            proba = {c: raw.get(c, 0.0) / total for c in known}
        trace.record(y, max(proba, key=proba.__getitem__) if proba else None, proba)
        t0 = time.perf_counter()
        ask = trace.labels < SEED_SIZE  # the same cold start as the learner: the first labels are asked
        if not ask and proba:
            ask = decide(x, proba, t)
        trace.decision_seconds += time.perf_counter() - t0
        if ask:
            trace.queried.append(t)
            trace.classes.queried(y)
            trace.labels += 1
            oracle.ask(t, str(t), y, x)
            if delay == 0:
                deliver(t)
    trace.seconds = time.perf_counter() - started
    return trace


def _river_entropy(stream: Any, *, model: str, budget: float, delay: int, seed: int,
                   tick: Tick | None = None) -> Trace:
    from river import active

    def make(clf: Any, classes: list[str]) -> tuple[Decide, Callable[[dict[str, Any], str], None]]:
        sampler = active.EntropySampler(clf, seed=seed)
        spent = [0, 0]

        def decide(x: dict[str, Any], proba: dict[str, float], t: int) -> bool:
            spent[1] += 1
            ask = sampler._ask_for_label(x, proba) and spent[0] < budget * spent[1]
            spent[0] += ask
            return bool(ask)

        return decide, lambda x, y: None

    return _run(stream, "river:entropy", model=model, budget=budget, delay=delay, seed=seed,
                make_decide=make, tick=tick)


class _Vectoriser:
    """Dict features to a fixed-order float vector: numbers as they are, strings as category codes."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.codes: dict[str, dict[str, float]] = {}

    def __call__(self, x: dict[str, Any]) -> list[float]:
        for name in x:
            if name not in self.codes:
                self.names.append(name)
                self.codes[name] = {}
        out = []
        for name in self.names:
            v = x.get(name)
            if isinstance(v, str):
                v = self.codes[name].setdefault(v, float(len(self.codes[name])))
            elif v is None or (isinstance(v, float) and math.isnan(v)):
                v = 0.0
            out.append(float(v))
        return out


def _skactiveml(kind: str) -> Callable[..., Trace]:
    def runner(stream: Any, *, model: str, budget: float, delay: int, seed: int,
               tick: Tick | None = None) -> Trace:
        import numpy as np
        from skactiveml import stream as sk
        from skactiveml.base import SkactivemlClassifier

        class Current(SkactivemlClassifier):  # type: ignore[misc]  # the river model's probabilities for the one candidate
            def __init__(self, classes: list[int], proba: list[float] | None = None) -> None:
                super().__init__(classes=classes, missing_label=-1)
                self.proba = proba

            def fit(self, X: Any, y: Any, sample_weight: Any = None) -> Current:
                return self

            def predict_proba(self, X: Any) -> Any:
                return np.asarray([self.proba] * len(X))

        def make(clf: Any, classes: list[str]) -> tuple[Decide, Callable[[dict[str, Any], str], None]]:
            cls: Any = {
                "variable-uncertainty": sk.VariableUncertainty,
                "randomized-variable-uncertainty": sk.RandomVariableUncertainty,
                "split": sk.Split,
                "fixed-uncertainty": sk.FixedUncertainty,
                "pal": sk.StreamProbabilisticAL,
            }[kind]
            if kind == "pal":
                qs = cls(metric="rbf", budget=budget, random_state=seed)
            elif kind == "fixed-uncertainty":
                qs = cls(classes=list(range(len(classes))), budget=budget, random_state=seed)
            else:
                qs = cls(budget=budget, random_state=seed)
            index = {c: i for i, c in enumerate(classes)}
            wrapped = Current(list(range(len(classes))))
            vec = _Vectoriser()
            window_x: deque[list[float]] = deque(maxlen=200)
            window_y: deque[int] = deque(maxlen=200)

            def decide(x: dict[str, Any], proba: dict[str, float], t: int) -> bool:
                wrapped.proba = [proba.get(c, 0.0) for c in classes]
                cand = np.asarray([vec(x)])
                kwargs: dict[str, Any] = {}
                if kind == "pal":
                    if not window_x:
                        return False
                    width = cand.shape[1]
                    kwargs = {"X": np.asarray([row + [0.0] * (width - len(row)) for row in window_x]),
                              "y": np.asarray(window_y)}
                idx, utilities = qs.query(cand, clf=wrapped, return_utilities=True, **kwargs)
                qs.update(cand, idx, budget_manager_param_dict={"utilities": utilities})
                return len(idx) > 0

            def on_label(x: dict[str, Any], y: str) -> None:
                window_x.append(vec(x))
                window_y.append(index[y])

            return decide, on_label

        return _run(stream, f"skactiveml:{kind}", model=model, budget=budget, delay=delay, seed=seed,
                    make_decide=make, tick=tick)

    return runner


def available_peers() -> dict[str, Callable[..., Trace]]:
    """Peers that can run here: river's always, scikit-activeml's when it is installed."""
    peers: dict[str, Callable[..., Trace]] = {"river:entropy": _river_entropy}
    try:
        import skactiveml.stream  # noqa: F401
    except ImportError:
        return peers
    for kind in ("variable-uncertainty", "randomized-variable-uncertainty", "split", "fixed-uncertainty", "pal"):
        peers[f"skactiveml:{kind}"] = _skactiveml(kind)
    return peers
