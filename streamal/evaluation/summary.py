"""Summaries: the rows of an evaluation's table, over the seeds of each run."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from streamal.core.agreement import cohen_kappa
from streamal.evaluation.classes import median_or_never, per_class
from streamal.evaluation.measures import kappa_temporal, labels_to_reach, prefix_sums, recovery_time
from streamal.evaluation.runs import PASSIVE, RANDOM, Trace

__all__ = ["AFTER_DRIFT", "Evaluation", "RunSummary", "gap_closed", "summarise"]

#: Events after a drift over which the accuracy after it is averaged.
AFTER_DRIFT = 1000


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
    brier: float | None = None
    ece: float | None = None
    vs_random: str | None = None  # "better", "worse" or "no difference": paired over the seeds (Wilcoxon)
    p_vs_random: float | None = None
    headroom_closed: float | None = None  # (this - random) / (passive - random)
    data_efficiency: float | None = None  # labels random needs for this accuracy / this run's labels
    withdrawn: int = 0  # questions the simulated analysts' pool withdrew (mean over the seeds)
    macro_f1: float = 0.0  # mean F1 over the classes that occur (mean over the seeds)
    balanced_accuracy: float = 0.0  # mean recall over the classes
    recall: dict[str, float] = field(default_factory=dict)  # per class, mean over the seeds
    # per rare class: its events, and the median over the seeds of how many passed before the first was queried
    # and before the first was predicted right (None: never, in more than half the seeds)
    discovery: dict[str, dict[str, int | None]] = field(default_factory=dict)
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)  # truth -> prediction -> events, all seeds

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _mean(values: Sequence[float]) -> float:
    return float(statistics.fmean(values)) if values else 0.0


def _mean_or_none(values: Sequence[int | None]) -> int | None:
    """The rounded mean, or ``None`` if any run never got there."""
    if any(v is None for v in values):
        return None
    return round(_mean([float(v) for v in values if v is not None]))


def _after_drifts(traces: list[Trace], drifts: list[int]) -> tuple[list[float], list[int | None]]:
    """Mean accuracy over the ``AFTER_DRIFT`` events after each drift, and the mean recovery time."""
    n = traces[0].n
    bounds = [*drifts, n]
    prefixes = [prefix_sums(tr.correct) for tr in traces]
    after: list[float] = []
    recovery: list[int | None] = []
    for i, d in enumerate(drifts):
        end = min(d + AFTER_DRIFT, bounds[i + 1])
        after.append(_mean([(p[end] - p[d]) / max(1, end - d) for p in prefixes]))
        recovery.append(_mean_or_none([recovery_time(tr.correct, d, until=bounds[i + 1], prefix=p)
                                       for tr, p in zip(traces, prefixes, strict=True)]))
    return after, recovery


def _kappa(trace: Trace) -> float:
    kappa = cohen_kappa(trace.confusion)
    return 0.0 if kappa is None else kappa  # one class only: no skill beyond chance to speak of


def summarise(
    traces: list[Trace], *, model: str, kind: str, default: bool, drifts: list[int],
    passive_accuracy: float | None, no_change_accuracy: float | None,
) -> RunSummary:
    """One row from the traces of one run over its seeds."""
    first = traces[0]
    accs = [tr.accuracy for tr in traces]
    n = first.n
    after, recovery = _after_drifts(traces, drifts)
    to95 = None
    if passive_accuracy is not None and kind != "reference":
        to95 = _mean_or_none([labels_to_reach(tr.correct, tr.queried, 0.95 * passive_accuracy) for tr in traces])
    acc = _mean(accs)
    labels = round(_mean([float(tr.labels) for tr in traces]))
    kt = kappa_temporal(acc, no_change_accuracy) if no_change_accuracy is not None else 0.0
    return RunSummary(
        strategy=first.strategy, budget=first.budget, model=model, n=n, accuracy=round(acc, 6), labels=labels,
        default=default, kind=kind, seeds=len(traces),
        accuracy_std=round(statistics.stdev(accs), 6) if len(accs) > 1 else 0.0,
        kappa=round(_mean([_kappa(tr) for tr in traces]), 6), kappa_temporal=round(kt, 6),
        label_share=round(labels / n, 6) if n else 0.0, labels_to_95=to95,
        accuracy_after_drift=[round(a, 6) for a in after], recovery=recovery,
        seconds=round(_mean([tr.seconds for tr in traces]), 3),
        decision_us=round(_mean([tr.decision_seconds / max(1, tr.n) * 1e6 for tr in traces]), 2),
        per_seed=[round(a, 6) for a in accs],
        brier=_calibration(traces, "brier"), ece=_calibration(traces, "ece"),
        withdrawn=round(_mean([float(tr.withdrawn) for tr in traces])),
        **_class_measures(traces),
    )


def _class_measures(traces: list[Trace]) -> dict[str, Any]:
    """Macro-F1, balanced accuracy, recall per class, discovery of the rare classes, the summed confusion."""
    figures = [per_class(tr.confusion) for tr in traces]
    classes = sorted({c for f in figures for c in f.recall})
    confusion: dict[str, dict[str, int]] = {}
    for tr in traces:
        for (truth, pred), k in tr.confusion.items():
            row = confusion.setdefault(truth, {})
            row[pred or "(none)"] = row.get(pred or "(none)", 0) + k
    first = traces[0].classes
    discovery = {
        c: {"events": first.seen[c],
            "queried_after": median_or_never([tr.classes.discovery(c)[0] for tr in traces]),
            "predicted_after": median_or_never([tr.classes.discovery(c)[1] for tr in traces])}
        for c in first.rare()
    }
    return {
        "macro_f1": round(_mean([f.macro_f1 for f in figures]), 6),
        "balanced_accuracy": round(_mean([f.balanced_accuracy for f in figures]), 6),
        "recall": {c: round(_mean([f.recall.get(c, 0.0) for f in figures]), 6) for c in classes},
        "discovery": discovery, "confusion": confusion,
    }


def _calibration(traces: list[Trace], measure: str) -> float | None:
    """Mean over the seeds of a calibration measure over every event (``None`` for references)."""
    values = [getattr(tr.calibration, measure)() for tr in traces if len(tr.calibration)]
    return round(_mean(values), 4) if values else None


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


def gap_closed(ev: Evaluation, strategy: str, budget: float) -> float:
    """Share of the random-to-passive gap that ``strategy`` closes at ``budget`` (can be negative)."""
    passive = ev.run(PASSIVE).accuracy
    rnd = ev.run(RANDOM, budget).accuracy
    gap = passive - rnd
    if math.isclose(gap, 0.0, abs_tol=1e-9):
        return 0.0
    return (ev.run(strategy, budget).accuracy - rnd) / gap
