"""Offline evaluation: replay a stream through the learner the service runs, with a simulated analyst.

Each *run* is one strategy at one budget: every event is scored (test), then,
if the learner queried it, its true label is handed back ``delay`` events
later (train), exactly as the Kafka service would receive it. Prequential
accuracy is over *all* events, queried or not. Every evaluation also runs:

* ``passive``: a label for every event (the ceiling);
* ``random``: budgeted random sampling at each budget (the floor to beat);
* ``no-change`` (predict the previous event's label) and ``majority`` (the most
  frequent label so far): the references that expose temporal dependence, as
  kappa-temporal does (Zliobaite et al., Machine Learning 2015).

Randomised runs repeat over ``seeds`` seeds of the learner (model and
sampler; the stream stays the same) and report the mean and the standard
deviation.

>>> from streamal.evaluation.streams import open_stream
>>> ev = evaluate(open_stream("sea-abrupt", n=600), model="linear", strategies=["uncertainty"],
...               budgets=[0.1], progress=False)
>>> sorted({r.strategy for r in ev.runs})
['majority', 'no-change', 'passive', 'random', 'uncertainty']
>>> next(r for r in ev.runs if r.strategy == "passive").labels
600
"""

from __future__ import annotations

import heapq
import math
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from tqdm import tqdm

from streamal.core.config import LearnerConfig
from streamal.core.learner import Learner
from streamal.core.models import MODELS
from streamal.core.strategies import STRATEGIES
from streamal.errors import ConfigError
from streamal.evaluation.streams import Pair, Stream
from streamal.wire.messages import Event, Label

__all__ = [
    "BASELINES", "REFERENCES", "Evaluation", "RunSummary", "Trace", "cohen_kappa", "evaluate", "gap_closed",
    "kappa_temporal", "parse_delay", "recovery_time",
]

PASSIVE, RANDOM = "passive", "random"
BASELINES = (PASSIVE, RANDOM)
REFERENCES = ("no-change", "majority")
RECOVERY_WINDOW = 300
RECOVERY_TOLERANCE = 0.02
AFTER_DRIFT = 1000


def default_strategy() -> str:
    """The strategy the service runs when ``STREAMAL_STRATEGY`` is not set."""
    from streamal.config import Settings

    return str(Settings.model_fields["strategy"].default)


def parse_delay(text: str | float, rate: float = 1.0) -> int:
    """A label delay in events: a count (``"500"``) or a duration (``"30s"``, ``"5m"``, ``"2h"``) at ``rate`` events/s.

    >>> parse_delay("250"), parse_delay("2m", rate=10), parse_delay(0)
    (250, 1200, 0)
    """
    s = str(text).strip().lower()
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(s|m|h)?", s)
    if not m:
        raise ConfigError(f"--delay: expected events (500) or a duration (30s, 5m, 2h), got {text!r}")
    value, unit = float(m.group(1)), m.group(2)
    if unit is None:
        return int(value)
    seconds = value * {"s": 1, "m": 60, "h": 3600}[unit]
    return int(round(seconds * rate))


# -- measures -------------------------------------------------------------------------------------


def cohen_kappa(confusion: Counter[tuple[str, str]]) -> float:
    """Cohen's kappa of ``(truth, prediction)`` counts; 0 where chance agreement is total.

    >>> cohen_kappa(Counter({("a", "a"): 40, ("b", "b"): 40, ("a", "b"): 10, ("b", "a"): 10}))
    0.6
    """
    n = sum(confusion.values())
    if n == 0:
        return 0.0
    p0 = sum(v for (t, p), v in confusion.items() if t == p) / n
    truth: Counter[str] = Counter()
    pred: Counter[str] = Counter()
    for (t, p), v in confusion.items():
        truth[t] += v
        pred[p] += v
    pe = sum(truth[c] * pred[c] for c in truth) / (n * n)
    return 0.0 if pe >= 1.0 else round((p0 - pe) / (1.0 - pe), 12)


def kappa_temporal(accuracy: float, no_change_accuracy: float) -> float:
    """Kappa against the no-change classifier: ``(p - p_nc) / (1 - p_nc)``.

    0 for a model no better than repeating the last label, positive when
    better, negative when worse. Where the no-change classifier is always
    right the ratio is undefined; it is then ``p - 1`` (0 for a model that is
    always right too, negative otherwise).

    >>> kappa_temporal(0.9, 0.8), kappa_temporal(0.8, 0.8), kappa_temporal(1.0, 1.0)
    (0.5, 0.0, 0.0)
    """
    if no_change_accuracy >= 1.0:
        return accuracy - 1.0
    return round((accuracy - no_change_accuracy) / (1.0 - no_change_accuracy), 12)


def _window_accuracy(prefix: Sequence[int], start: int, end: int) -> float:
    return (prefix[end] - prefix[start]) / (end - start) if end > start else float("nan")


def recovery_time(
    correct: Sequence[int] | bytes, drift: int, *, window: int = RECOVERY_WINDOW,
    tolerance: float = RECOVERY_TOLERANCE, until: int | None = None,
) -> int | None:
    """Events after ``drift`` until accuracy over the last ``window`` events is back within ``tolerance``.

    The bar is the accuracy over the ``window`` events before the drift. Only
    windows wholly after the drift count, so the least possible answer is
    ``window``; ``None`` if it never gets back before ``until``.

    >>> stream = [1] * 1000 + [0] * 200 + [1] * 1000
    >>> recovery_time(stream, 1000, window=100)   # back once at most 2 of the last 100 are wrong
    298
    """
    prefix = [0]
    for c in correct:
        prefix.append(prefix[-1] + c)
    until = len(correct) if until is None else min(until, len(correct))
    start = max(0, drift - window)
    if drift - start < 1:
        return None
    bar = _window_accuracy(prefix, start, drift) - tolerance
    for end in range(drift + window, until + 1):
        if _window_accuracy(prefix, end - window, end) >= bar:
            return end - drift
    return None


# -- runs -----------------------------------------------------------------------------------------


@dataclass
class Trace:
    """What one run did: per event, right or wrong, and which events were queried."""

    strategy: str
    budget: float | None
    seed: int
    correct: bytearray = field(default_factory=bytearray)
    queried: list[int] = field(default_factory=list)
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)
    labels: int = 0
    seconds: float = 0.0
    decision_seconds: float = 0.0

    @property
    def n(self) -> int:
        return len(self.correct)

    @property
    def accuracy(self) -> float:
        return sum(self.correct) / self.n if self.n else 0.0

    def record(self, truth: str, prediction: str | None) -> None:
        ok = prediction == truth
        self.correct.append(1 if ok else 0)
        self.confusion[(truth, "" if prediction is None else prediction)] += 1


class _Oracle:
    """Hands labels back ``delay`` events after they were asked for."""

    def __init__(self, delay: int) -> None:
        self.delay = delay
        self._heap: list[tuple[int, int, str, str, dict[str, Any]]] = []
        self._seq = 0

    def ask(self, t: int, event_id: str, label: str, x: dict[str, Any]) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (t + self.delay, self._seq, event_id, label, x))

    def due(self, t: int) -> Iterable[tuple[str, str, dict[str, Any]]]:
        while self._heap and self._heap[0][0] <= t:
            _, _, event_id, label, x = heapq.heappop(self._heap)
            yield event_id, label, x


def ticked(stream: Iterable[Pair], tick: Callable[[int], None] | None) -> Iterator[tuple[int, Pair]]:
    """``enumerate(stream)``, reporting progress to ``tick`` every 1000 events and the rest at the end."""
    n = 0
    for n, pair in enumerate(stream, 1):
        yield n - 1, pair
        if tick is not None and n % 1000 == 0:
            tick(1000)
    if tick is not None:
        tick(n % 1000)


def run_learner(
    stream: Iterable[tuple[dict[str, Any], str]], *, model: str, strategy: str, budget: float, delay: int = 0,
    seed: int = 42, options: dict[str, Any] | None = None, tick: Callable[[int], None] | None = None,
) -> Trace:
    """One run of the :class:`~streamal.core.learner.Learner` over ``stream``; ``strategy`` may be ``passive``."""
    if strategy == PASSIVE:
        every = {**(options or {}), "audit_share": 0.0}  # a label for every event, no audit needed
        learner = Learner(LearnerConfig(model=model, strategy=RANDOM, budget=1.0, seed=seed, **every))
    else:
        learner = Learner(LearnerConfig(model=model, strategy=strategy, budget=budget, seed=seed, **(options or {})))
    trace = Trace(strategy, None if strategy == PASSIVE else budget, seed)
    decide = learner.sampler.decide

    def timed_decide(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return decide(*args, **kwargs)
        finally:
            trace.decision_seconds += time.perf_counter() - t0

    learner.sampler.decide = timed_decide  # type: ignore[method-assign]
    oracle = _Oracle(delay)
    started = time.perf_counter()
    for t, (x, y) in ticked(stream, tick):
        for event_id, label, _ in oracle.due(t):
            learner.learn(Label(event_id, label), now=float(t))
        event_id = str(t)
        decision = learner.score(Event(event_id, x), now=float(t))
        trace.record(y, decision.prediction)
        if decision.query is not None:
            trace.queried.append(t)
            trace.labels += 1
            if delay == 0:
                learner.learn(Label(event_id, y), now=float(t))
            else:
                oracle.ask(t, event_id, y, x)
    trace.seconds = time.perf_counter() - started
    return trace


def run_reference(stream: Iterable[tuple[dict[str, Any], str]], kind: str) -> Trace:
    """The ``no-change`` or ``majority`` reference: it sees every label, at once."""
    trace = Trace(kind, None, 0)
    started = time.perf_counter()
    last: str | None = None
    counts: Counter[str] = Counter()
    for _, y in stream:
        if kind == "no-change":
            trace.record(y, last)
        else:
            trace.record(y, counts.most_common(1)[0][0] if counts else None)
            counts[y] += 1
        last = y
        trace.labels += 1
    trace.seconds = time.perf_counter() - started
    return trace


# -- summaries ------------------------------------------------------------------------------------


@dataclass
class RunSummary:
    """One row of the results: a strategy at a budget, over its seeds."""

    strategy: str
    budget: float | None
    model: str
    n: int
    accuracy: float
    labels: int
    default: bool = False
    kind: str = "strategy"  # strategy | baseline | reference | peer
    seeds: int = 1
    accuracy_std: float = 0.0
    kappa: float = 0.0
    kappa_temporal: float = 0.0
    label_share: float = 0.0
    labels_to_95: int | None = None
    accuracy_after_drift: list[float] = field(default_factory=list)
    recovery: list[int | None] = field(default_factory=list)
    seconds: float = 0.0
    decision_us: float = 0.0
    per_seed: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _labels_to_reach(trace: Trace, target: float, window: int = 1000) -> int | None:
    """Labels used when accuracy over the last ``window`` events first reaches ``target``."""
    window = min(window, max(1, trace.n // 4))
    hits = 0
    q = 0
    queried = trace.queried
    for t, c in enumerate(trace.correct):
        hits += c
        if t >= window:
            hits -= trace.correct[t - window]
        while q < len(queried) and queried[q] <= t:
            q += 1
        if t + 1 >= window and hits / window >= target:
            return q
    return None


def _mean(values: Sequence[float]) -> float:
    return float(statistics.fmean(values)) if values else 0.0


def _summarise(
    traces: list[Trace], *, model: str, kind: str, default: bool, drifts: list[int],
    passive_accuracy: float | None, no_change_accuracy: float | None,
) -> RunSummary:
    first = traces[0]
    accs = [tr.accuracy for tr in traces]
    n = first.n
    bounds = [*drifts, n]
    after: list[float] = []
    recovery: list[int | None] = []
    for i, d in enumerate(drifts):
        end = min(d + AFTER_DRIFT, bounds[i + 1])
        after.append(_mean([sum(tr.correct[d:end]) / max(1, end - d) for tr in traces]))
        times = [recovery_time(tr.correct, d, until=bounds[i + 1]) for tr in traces]
        recovery.append(None if any(v is None for v in times) else round(_mean([float(v) for v in times if v])))
    to95 = None
    if passive_accuracy is not None and kind != "reference":
        reached = [_labels_to_reach(tr, 0.95 * passive_accuracy) for tr in traces]
        to95 = None if any(r is None for r in reached) else round(_mean([float(r) for r in reached if r is not None]))
    acc = _mean(accs)
    labels = round(_mean([float(tr.labels) for tr in traces]))
    return RunSummary(
        strategy=first.strategy, budget=first.budget, model=model, n=n, accuracy=round(acc, 6), labels=labels,
        default=default, kind=kind, seeds=len(traces),
        accuracy_std=round(statistics.stdev(accs), 6) if len(accs) > 1 else 0.0,
        kappa=round(_mean([cohen_kappa(tr.confusion) for tr in traces]), 6),
        kappa_temporal=round(kappa_temporal(acc, no_change_accuracy), 6) if no_change_accuracy is not None else 0.0,
        label_share=round(labels / n, 6) if n else 0.0, labels_to_95=to95,
        accuracy_after_drift=[round(a, 6) for a in after], recovery=recovery,
        seconds=round(_mean([tr.seconds for tr in traces]), 3),
        decision_us=round(_mean([tr.decision_seconds / max(1, tr.n) * 1e6 for tr in traces]), 2),
        per_seed=[round(a, 6) for a in accs],
    )


@dataclass
class Evaluation:
    """Everything one ``streamal evaluate`` call measured."""

    stream: str
    model: str
    n: int
    drifts: list[int]
    delay: int
    runs: list[RunSummary]
    traces: dict[tuple[str, float | None], list[Trace]]

    def run(self, strategy: str, budget: float | None = None) -> RunSummary:
        """The row of ``strategy`` at ``budget`` (``None`` for passive and the references)."""
        for r in self.runs:
            if r.strategy == strategy and (budget is None or r.budget == budget):
                return r
        raise KeyError(f"no run of {strategy!r} at budget {budget}")


PeerRunner = Callable[..., Trace]


def evaluate(
    stream: Stream, *, model: str = "hat", strategies: Sequence[str] | None = None,
    budgets: Sequence[float] = (0.05,), delay: int = 0, seeds: int = 1, seed: int = 42,
    options: dict[str, Any] | None = None, peers: dict[str, PeerRunner] | None = None, progress: bool = True,
) -> Evaluation:
    """Run ``strategies`` at ``budgets`` on ``stream``, with the baselines and references; see the module doc."""
    if model not in MODELS:
        raise ConfigError(f"--model: unknown model {model!r}; choose one of {', '.join(sorted(MODELS))}")
    chosen = list(dict.fromkeys(strategies or [default_strategy()]))
    for name in chosen:
        if name not in STRATEGIES and name != PASSIVE:
            raise ConfigError(f"--strategy: unknown strategy {name!r}; choose one of {', '.join(sorted(STRATEGIES))}")
    for b in budgets:
        if not 0.0 < b <= 1.0:
            raise ConfigError(f"--budget: each budget must be in (0, 1], got {b}")
    if seeds < 1:
        raise ConfigError(f"--seeds: must be at least 1, got {seeds}")
    default = default_strategy()
    if RANDOM not in chosen:
        chosen.append(RANDOM)
    chosen = [s for s in chosen if s != PASSIVE]

    references = {kind: run_reference(stream, kind) for kind in REFERENCES}
    n = references["no-change"].n
    if n == 0:
        raise ConfigError(f"stream {stream.name!r} is empty")
    jobs: list[tuple[str, float | None, str]] = [(PASSIVE, None, "baseline")]
    for b in budgets:
        jobs += [(s, b, "baseline" if s == RANDOM else "strategy") for s in chosen]
        jobs += [(p, b, "peer") for p in (peers or {})]
    bar = tqdm(total=n * seeds * len(jobs), unit="ev", unit_scale=True, disable=not progress,
               desc=f"evaluate {stream.name}", leave=False)
    traces: dict[tuple[str, float | None], list[Trace]] = {}
    try:
        for name, b, kind in jobs:
            bar.set_postfix_str(f"{name} @ {b if b is not None else 1.0:g}")
            runs = []
            for i in range(seeds):
                if kind == "peer":
                    runs.append((peers or {})[name](stream, model=model, budget=b, delay=delay, seed=seed + i,
                                                    tick=bar.update))
                else:
                    runs.append(run_learner(stream, model=model, strategy=name, budget=b or 1.0, delay=delay,
                                            seed=seed + i, options=options, tick=bar.update))
            traces[(name, b)] = runs
    finally:
        bar.close()
    for kind, tr in references.items():
        traces[(kind, None)] = [tr]

    nc = references["no-change"].accuracy
    passive_acc = _mean([tr.accuracy for tr in traces[(PASSIVE, None)]])
    rows = []
    for (name, _), trs in traces.items():
        kind = ("reference" if name in REFERENCES else "baseline" if name in BASELINES
                else "peer" if name in (peers or {}) else "strategy")
        rows.append(_summarise(trs, model=model, kind=kind, default=name == default and kind == "strategy",
                               drifts=stream.drifts, passive_accuracy=passive_acc, no_change_accuracy=nc))
    rows.sort(key=lambda r: (r.budget is not None, r.budget or 0.0,
                             ("reference", "baseline", "strategy", "peer").index(r.kind), r.strategy))
    return Evaluation(stream.name, model, n, list(stream.drifts), delay, rows, traces)


def gap_closed(ev: Evaluation, strategy: str, budget: float) -> float:
    """Share of the random-to-passive gap that ``strategy`` closes at ``budget`` (can be negative)."""
    passive = ev.run(PASSIVE).accuracy
    rnd = ev.run(RANDOM, budget).accuracy
    gap = passive - rnd
    if math.isclose(gap, 0.0, abs_tol=1e-9):
        return 0.0
    return (ev.run(strategy, budget).accuracy - rnd) / gap
