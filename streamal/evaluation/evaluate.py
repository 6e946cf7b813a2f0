"""``streamal evaluate``: strategies and budgets on one stream, always with the baselines and references.

Every evaluation runs, besides the chosen strategies:

* ``passive``: a label for every event (the ceiling);
* ``random``: budgeted random sampling at each budget (the floor to beat);
* ``no-change`` (predict the previous event's label) and ``majority`` (the most
  frequent label so far): the references that expose temporal dependence, as
  kappa-temporal does (Zliobaite et al., Machine Learning 2015).

Randomised runs repeat over ``seeds`` seeds of the learner (model and
sampler; the stream stays the same) and report the mean and the standard
deviation. Each strategy is set against random at its budget, seed by seed
(:mod:`streamal.evaluation.paired`): better, worse or no different (a paired
test, which needs 6 seeds or more to say anything), the headroom it closes
towards passive, and its data efficiency, read off random's learning curve
(random also runs at twice and four times each budget for it; not with
simulated analysts, whose capacity caps every budget).

>>> from streamal.evaluation.streams import open_stream
>>> ev = evaluate(open_stream("sea-abrupt", n=600), model="linear", strategies=["uncertainty"],
...               budgets=[0.1], progress=False)
>>> sorted({r.strategy for r in ev.runs})
['majority', 'no-change', 'passive', 'random', 'uncertainty']
>>> next(r for r in ev.runs if r.strategy == "passive").labels
600
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

from tqdm import tqdm

from streamal.core.models import MODELS
from streamal.core.strategies import STRATEGIES
from streamal.errors import ConfigError
from streamal.evaluation.analysts import AnswerTimes
from streamal.evaluation.paired import compare, data_efficiency, headroom_closed
from streamal.evaluation.runs import (
    BASELINES,
    PASSIVE,
    RANDOM,
    REFERENCES,
    STOP,
    WARM,
    Trace,
    default_strategy,
    run_learner,
    run_reference,
)
from streamal.evaluation.streams import Pair, Stream
from streamal.evaluation.summary import Evaluation, RunSummary, summarise

__all__ = ["PeerRunner", "evaluate"]

PeerRunner = Callable[..., Trace]


Job = tuple[str, float | None, str]  # (strategy, budget, kind)
KINDS = ("reference", "baseline", "strategy", "peer")


def _checked_strategies(model: str, strategies: Sequence[str] | None, budgets: Sequence[float],
                        seeds: int) -> list[str]:
    """The strategies to run (``random`` always among them), or :class:`ConfigError` naming the flag."""
    if model not in MODELS:
        raise ConfigError(f"--model: unknown model {model!r}; choose one of {', '.join(sorted(MODELS))}")
    chosen = list(dict.fromkeys(strategies or [default_strategy()]))
    for name in chosen:
        if name.removesuffix(WARM).removesuffix(STOP) not in STRATEGIES and name != PASSIVE:
            raise ConfigError(f"--strategy: unknown strategy {name!r}; choose one of {', '.join(sorted(STRATEGIES))}")
    for b in budgets:
        if not 0.0 < b <= 1.0:
            raise ConfigError(f"--budget: each budget must be in (0, 1], got {b}")
    if seeds < 1:
        raise ConfigError(f"--seeds: must be at least 1, got {seeds}")
    if RANDOM not in chosen:
        chosen.append(RANDOM)
    return [s for s in chosen if s != PASSIVE]


def _jobs(chosen: list[str], budgets: Sequence[float], peers: dict[str, PeerRunner]) -> list[Job]:
    jobs: list[Job] = [(PASSIVE, None, "baseline")]
    for b in budgets:
        jobs += [(s, b, "baseline" if s == RANDOM else "strategy") for s in chosen]
        jobs += [(p, b, "peer") for p in peers]
    return jobs


def _run_jobs(stream: Stream, jobs: list[Job], *, model: str, delay: int, seeds: int, seed: int,
              options: dict[str, Any] | None, peers: dict[str, PeerRunner], progress: bool,
              n: int, history: list[Pair], analysts: AnswerTimes | None = None,
              rate: float = 1.0) -> dict[tuple[str, float | None], list[Trace]]:
    bar = tqdm(total=n * seeds * len(jobs), unit="ev", unit_scale=True, disable=not progress,
               desc=f"evaluate {stream.name}", leave=False)
    traces: dict[tuple[str, float | None], list[Trace]] = {}
    try:
        for name, b, kind in jobs:
            bar.set_postfix_str(f"{name} @ {b if b is not None else 1.0:g}")
            if kind == "peer":
                peer_delay = delay if analysts is None else round(rate * analysts.median_seconds)
                traces[(name, b)] = [peers[name](stream, model=model, budget=b, delay=peer_delay, seed=seed + i,
                                                 tick=bar.update) for i in range(seeds)]
            else:
                traces[(name, b)] = [run_learner(stream, model=model, strategy=name, budget=b or 1.0, delay=delay,
                                                 seed=seed + i, options=options, tick=bar.update, history=history,
                                                 analysts=analysts, rate=rate)
                                     for i in range(seeds)]
    finally:
        bar.close()
    return traces


#: Random also runs at these multiples of each budget: its learning curve, for the data efficiency.
CURVE = (2.0, 4.0)


def _random_curve(stream: Stream, budgets: Sequence[float], *, model: str, delay: int, seeds: int, seed: int,
                  options: dict[str, Any] | None, history: list[Pair]) -> dict[float, list[tuple[float, float]]]:
    """Random's (labels, accuracy) at each budget's multiples, per seed-averaged run (budget -> points)."""
    out: dict[float, list[tuple[float, float]]] = {}
    for b in budgets:
        points = []
        for m in CURVE:
            if b * m > 1.0:
                break
            runs = [run_learner(stream, model=model, strategy=RANDOM, budget=b * m, delay=delay, seed=seed + i,
                                options=options, history=history) for i in range(seeds)]
            points.append((sum(r.labels for r in runs) / seeds, sum(r.accuracy for r in runs) / seeds))
        out[b] = points
    return out


def _against_random(rows: list[RunSummary], passive: float, curve: dict[float, list[tuple[float, float]]]) -> None:
    """Each budgeted row set against random at its budget: paired test, headroom closed, data efficiency."""
    randoms = {r.budget: r for r in rows if r.strategy == RANDOM and r.kind == "baseline"}
    for r in rows:
        rnd = randoms.get(r.budget)
        if r.budget is None or rnd is None or r is rnd or r.kind == "reference":
            continue
        if len(r.per_seed) == len(rnd.per_seed):
            paired = compare(r.per_seed, rnd.per_seed)
            r.vs_random, r.p_vs_random = paired.verdict, paired.p
        r.headroom_closed = headroom_closed(r.accuracy, random=rnd.accuracy, passive=passive)
        points = [(float(rnd.labels), rnd.accuracy), *curve.get(r.budget, [])]
        if curve.get(r.budget):
            r.data_efficiency = data_efficiency(r.accuracy, r.labels, points)


def evaluate(
    stream: Stream, *, model: str = "hat", strategies: Sequence[str] | None = None,
    budgets: Sequence[float] = (0.05,), delay: int = 0, seeds: int = 1, seed: int = 42,
    options: dict[str, Any] | None = None, peers: dict[str, PeerRunner] | None = None, progress: bool = True,
    warm: int = 0, analysts: AnswerTimes | None = None, rate: float = 1.0,
) -> Evaluation:
    """Run ``strategies`` at ``budgets`` on ``stream``, with the baselines and references; see the module doc.

    ``warm``: the first ``warm`` events are a labelled history, scored by no run; ``STRATEGY+warm``
    runs learn it first, the others start cold on the same events, so the pair shows what it buys.
    ``analysts`` (at ``rate`` events per second) answer instead of the fixed ``delay``
    (:mod:`streamal.evaluation.analysts`); peers, which have no pool, get the median answer time as their delay.
    """
    chosen = _checked_strategies(model, strategies, budgets, seeds)
    peers = peers or {}
    history: list[Pair] = []
    if warm > 0:
        history = list(itertools.islice(stream, warm))
        whole = stream
        rest = None if whole.n is None else max(0, whole.n - warm)
        stream = Stream(whole.name, lambda: itertools.islice(iter(whole), warm, None), rest,
                        [d - warm for d in whole.drifts if d > warm], whole.skipped)
    references = {kind: run_reference(stream, kind) for kind in REFERENCES}
    n = references["no-change"].n
    if n == 0:
        raise ConfigError(f"stream {stream.name!r} is empty")
    traces = _run_jobs(stream, _jobs(chosen, budgets, peers), model=model, delay=delay, seeds=seeds, seed=seed,
                       options=options, peers=peers, progress=progress, n=n, history=history,
                       analysts=analysts, rate=rate)
    curve = {} if analysts is not None else _random_curve(
        stream, budgets, model=model, delay=delay, seeds=seeds, seed=seed, options=options, history=history)
    for kind, tr in references.items():
        traces[(kind, None)] = [tr]
    passive = traces[(PASSIVE, None)]
    passive_acc = sum(tr.accuracy for tr in passive) / len(passive)
    default = default_strategy()
    rows = []
    for (name, _), trs in traces.items():
        kind = ("reference" if name in REFERENCES else "baseline" if name in BASELINES
                else "peer" if name in peers else "strategy")
        rows.append(summarise(trs, model=model, kind=kind, default=name == default and kind == "strategy",
                              drifts=stream.drifts, passive_accuracy=passive_acc,
                              no_change_accuracy=references["no-change"].accuracy))
    _against_random(rows, passive_acc, curve)
    rows.sort(key=lambda r: (r.budget is not None, r.budget or 0.0, KINDS.index(r.kind), r.strategy))
    return Evaluation(stream.name, model, n, list(stream.drifts), delay, rows, traces)
